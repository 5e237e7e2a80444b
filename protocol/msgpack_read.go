package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// maxSkipDepth bounds the nesting of unknown values a decoder skips.
const maxSkipDepth = 32

var (
	errShort    = errors.New("unexpected end of data")
	errTrailing = errors.New("trailing bytes after message")
)

// reader reads msgpack values from a byte slice. Returned byte slices alias
// the input; callers copy what they keep. It never panics: every length is
// checked against the remaining input first.
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) next(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, errShort
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

func (r *reader) code() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// be reads an n-byte (1, 2, 4 or 8) big-endian unsigned integer.
func (r *reader) be(n int) (uint64, error) {
	s, err := r.next(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(s[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(s)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(s)), nil
	}
	return binary.BigEndian.Uint64(s), nil
}

// nilNext consumes a msgpack nil if one comes next.
func (r *reader) nilNext() bool {
	if r.off < len(r.b) && r.b[r.off] == 0xc0 {
		r.off++
		return true
	}
	return false
}

func typeErr(want string, c byte) error {
	return fmt.Errorf("want %s, found msgpack code 0x%02x", want, c)
}

// containerLen reads a map (entry bytes 2) or array (entry bytes 1) header;
// nil reads as length 0. The length is checked against the remaining input.
func (r *reader) containerLen(isMap bool) (int, error) {
	if r.nilNext() {
		return 0, nil
	}
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	var n uint64
	fix, c16, c32, minEntry, what := byte(0x90), byte(0xdc), byte(0xdd), uint64(1), "array"
	if isMap {
		fix, c16, c32, minEntry, what = 0x80, 0xde, 0xdf, 2, "map"
	}
	switch {
	case c&0xf0 == fix:
		n = uint64(c & 0x0f)
	case c == c16:
		n, err = r.be(2)
	case c == c32:
		n, err = r.be(4)
	default:
		return 0, typeErr(what, c)
	}
	if err != nil {
		return 0, err
	}
	if n*minEntry > uint64(r.remaining()) {
		return 0, fmt.Errorf("%s of %d entries exceeds the %d remaining bytes", what, n, r.remaining())
	}
	return int(n), nil
}

func (r *reader) mapLen() (int, error)   { return r.containerLen(true) }
func (r *reader) arrayLen() (int, error) { return r.containerLen(false) }

// str reads a msgpack str and returns its bytes (aliasing the input).
func (r *reader) str() ([]byte, error) {
	c, err := r.code()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, err = r.be(1)
	case c == 0xda:
		n, err = r.be(2)
	case c == 0xdb:
		n, err = r.be(4)
	default:
		return nil, typeErr("str", c)
	}
	if err != nil {
		return nil, err
	}
	return r.next(int(n))
}

// bin reads a msgpack bin (nil reads as empty) aliasing the input.
func (r *reader) bin() ([]byte, error) {
	if r.nilNext() {
		return nil, nil
	}
	c, err := r.code()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch c {
	case 0xc4:
		n, err = r.be(1)
	case 0xc5:
		n, err = r.be(2)
	case 0xc6:
		n, err = r.be(4)
	default:
		return nil, typeErr("bin", c)
	}
	if err != nil {
		return nil, err
	}
	return r.next(int(n))
}

// number reads any msgpack integer or float. isInt reports an integer, held
// in u (as two's complement when neg) with neg set for negative values.
func (r *reader) number() (u uint64, f float64, isInt, neg bool, err error) {
	c, err := r.code()
	if err != nil {
		return 0, 0, false, false, err
	}
	switch {
	case c <= 0x7f:
		return uint64(c), 0, true, false, nil
	case c >= 0xe0:
		return uint64(int64(int8(c))), 0, true, true, nil
	}
	switch c {
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err = r.be(1 << (c - 0xcc))
		return u, 0, true, false, err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		u, err = r.be(n)
		if err != nil {
			return 0, 0, false, false, err
		}
		shift := 64 - 8*n
		v := int64(u<<shift) >> shift
		return uint64(v), 0, true, v < 0, nil
	case 0xca:
		u, err = r.be(4)
		return 0, float64(math.Float32frombits(uint32(u))), false, false, err
	case 0xcb:
		u, err = r.be(8)
		return 0, math.Float64frombits(u), false, false, err
	}
	return 0, 0, false, false, typeErr("number", c)
}

// uint reads a non-negative integer no larger than max.
func (r *reader) uint(max uint64) (uint64, error) {
	u, _, isInt, neg, err := r.number()
	switch {
	case err != nil:
		return 0, err
	case !isInt:
		return 0, errors.New("want integer, found float")
	case neg:
		return 0, fmt.Errorf("negative value %d", int64(u))
	case u > max:
		return 0, fmt.Errorf("value %d exceeds %d", u, max)
	}
	return u, nil
}

// int reads a signed integer in [min, max].
func (r *reader) int(min, max int64) (int64, error) {
	u, _, isInt, neg, err := r.number()
	switch {
	case err != nil:
		return 0, err
	case !isInt:
		return 0, errors.New("want integer, found float")
	case !neg && u > math.MaxInt64:
		return 0, fmt.Errorf("value %d overflows int64", u)
	}
	v := int64(u)
	if v < min || v > max {
		return 0, fmt.Errorf("value %d out of range [%d, %d]", v, min, max)
	}
	return v, nil
}

// float reads any number as float64.
func (r *reader) float() (float64, error) {
	u, f, isInt, neg, err := r.number()
	switch {
	case err != nil:
		return 0, err
	case isInt && neg:
		return float64(int64(u)), nil
	case isInt:
		return float64(u), nil
	}
	return f, nil
}

func (r *reader) bool() (bool, error) {
	c, err := r.code()
	switch {
	case err != nil:
		return false, err
	case c == 0xc3:
		return true, nil
	case c == 0xc2:
		return false, nil
	}
	return false, typeErr("bool", c)
}

// skip consumes one value of any type.
func (r *reader) skip(depth int) error {
	if depth > maxSkipDepth {
		return fmt.Errorf("values nested deeper than %d", maxSkipDepth)
	}
	c, err := r.code()
	if err != nil {
		return err
	}
	var n uint64
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return nil
	case c&0xe0 == 0xa0:
		_, err = r.next(int(c & 0x1f))
		return err
	case c&0xf0 == 0x80, c&0xf0 == 0x90:
		r.off--
		return r.skipContainer(c&0xf0 == 0x80, depth)
	}
	switch c {
	case 0xcc, 0xd0:
		n = 1
	case 0xcd, 0xd1:
		n = 2
	case 0xce, 0xd2, 0xca:
		n = 4
	case 0xcf, 0xd3, 0xcb:
		n = 8
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext: type byte + 1..16 bytes
		n = 1 + 1<<(c-0xd4)
	case 0xc4, 0xd9:
		n, err = r.be(1)
	case 0xc5, 0xda:
		n, err = r.be(2)
	case 0xc6, 0xdb:
		n, err = r.be(4)
	case 0xc7, 0xc8, 0xc9: // ext: length, type byte, data
		n, err = r.be(1 << (c - 0xc7))
		n++
	case 0xdc, 0xdd, 0xde, 0xdf:
		r.off--
		return r.skipContainer(c == 0xde || c == 0xdf, depth)
	default:
		return fmt.Errorf("invalid msgpack code 0x%02x", c)
	}
	if err != nil {
		return err
	}
	if n > uint64(r.remaining()) {
		return errShort
	}
	r.off += int(n)
	return nil
}

func (r *reader) skipContainer(isMap bool, depth int) error {
	n, err := r.containerLen(isMap)
	if err != nil {
		return err
	}
	if isMap {
		n *= 2
	}
	for i := 0; i < n; i++ {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// keepString returns s as a string, reusing old when equal so that a
// steady-state DecodeInto does not allocate.
func keepString(old string, s []byte) string {
	if old == string(s) {
		return old
	}
	return string(s)
}
