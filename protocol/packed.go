package protocol

import (
	"encoding/binary"
	"math"
)

// Packed arrays travel as one msgpack bin each (the library writes and
// reads the bin header, the content is filled or read in place): floats as
// little-endian IEEE 754, booleans as LSB-first bitsets with zero padding
// bits, actions as one byte each (NumActions <= 256) or two little-endian
// bytes. DESIGN.md requires this: never one msgpack value per float.

// float32s writes key k and v packed (see bin).
func (e *encoder) float32s(k string, v []float32) {
	t := e.bin(k, 4*len(v))
	t = t[:4*len(v)]
	for i, x := range v {
		binary.LittleEndian.PutUint32(t[4*i:], math.Float32bits(x))
	}
}

// float64s writes key k and v packed, and returns the packed bytes (they
// alias the output buffer, or its former copy once it grew: either way
// they hold exactly what was written).
func (e *encoder) float64s(k string, v []float64) []byte {
	t := e.bin(k, 8*len(v))
	t = t[:8*len(v)]
	for i, x := range v {
		binary.LittleEndian.PutUint64(t[8*i:], math.Float64bits(x))
	}
	return t
}

// sparseFloat64s writes key k and the entries of v where mask is set.
func (e *encoder) sparseFloat64s(k string, v []float64, mask []bool) {
	n := 0
	for _, m := range mask {
		if m {
			n++
		}
	}
	t := e.bin(k, 8*n)
	j := 0
	for i, m := range mask {
		if m {
			binary.LittleEndian.PutUint64(t[8*j:], math.Float64bits(v[i]))
			j++
		}
	}
}

// bits writes key k and v as a bitset.
func (e *encoder) bits(k string, v []bool) {
	t := e.bin(k, (len(v)+7)/8)
	clear(t)
	for i, x := range v {
		if x {
			t[i>>3] |= 1 << (i & 7)
		}
	}
}

// actionWidth is the wire size of one action in bytes.
func actionWidth(numActions int) int {
	if numActions <= 256 {
		return 1
	}
	return 2
}

// actions writes key k and v, actionWidth(numActions) bytes each.
func (e *encoder) actions(k string, v []int32, numActions int) {
	w := actionWidth(numActions)
	t := e.bin(k, w*len(v))
	if w == 1 {
		t = t[:len(v)]
		for i, a := range v {
			t[i] = byte(a)
		}
		return
	}
	for i, a := range v {
		binary.LittleEndian.PutUint16(t[2*i:], uint16(a))
	}
}

// decodeFloat32s fills dst from src (len 4*len(dst)) and returns the index
// of the first non-finite value, or -1.
func decodeFloat32s(dst []float32, src []byte) int {
	src = src[:4*len(dst)]
	bad := false
	for i := range dst {
		u := binary.LittleEndian.Uint32(src[4*i:])
		dst[i] = math.Float32frombits(u)
		// An exponent of all ones means NaN or Inf.
		if u&0x7f800000 == 0x7f800000 {
			bad = true
		}
	}
	if !bad {
		return -1
	}
	return firstNonFinite32(dst)
}

// decodeFloat64s fills dst from src (len 8*len(dst)) and returns the index
// of the first non-finite value, or -1.
func decodeFloat64s(dst []float64, src []byte) int {
	src = src[:8*len(dst)]
	bad := false
	for i := range dst {
		u := binary.LittleEndian.Uint64(src[8*i:])
		dst[i] = math.Float64frombits(u)
		if u&0x7ff0000000000000 == 0x7ff0000000000000 {
			bad = true
		}
	}
	if !bad {
		return -1
	}
	return firstNonFinite(dst)
}

// firstNonFinite returns the index of the first NaN or Inf in v, or -1.
func firstNonFinite(v []float64) int {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return i
		}
	}
	return -1
}

// firstNonFinite32 returns the index of the first NaN or Inf in v, or -1.
func firstNonFinite32(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}

// decodeBits fills dst from an LSB-first bitset; it reports false when a
// padding bit is set (so every value has exactly one encoding).
func decodeBits(dst []bool, src []byte) bool {
	for i := range dst {
		dst[i] = src[i>>3]>>(i&7)&1 == 1
	}
	if r := len(dst) & 7; r != 0 && src[len(src)-1]>>r != 0 {
		return false
	}
	return true
}

// decodeActions fills dst and returns the index of the first action not
// in [0, numActions), or -1.
func decodeActions(dst []int32, src []byte, numActions int) int {
	bad := -1
	if actionWidth(numActions) == 1 {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] = int32(src[i])
		}
	} else {
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = int32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	}
	for i, a := range dst {
		if a >= int32(numActions) {
			bad = i
			break
		}
	}
	return bad
}

// resize returns s with length n, reusing its backing array when it can.
func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
