package learner

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// A checkpoint is almost all []float64 (parameters and the two Adam
// moments), which msgpack/v5 encodes and decodes one reflected element at
// a time: 1.7 ms to encode and 2.7 ms to decode make run's 441 KB. The
// codec below writes exactly the bytes msgpack/v5 writes for a []float64
// (nil, or an array header and a float64, 0xcb and 8 bytes big-endian,
// per element), so the file format is unchanged
// (TestFloat64sCodecWritesMsgpackBytes), in one write; decoding accepts
// whatever numbers msgpack's own decoder accepts. It is registered for
// the whole process: nothing in podmedic sets msgpack's UseCompactFloats,
// the one encoder option that would make msgpack/v5 write other bytes.
func init() {
	msgpack.Register([]float64(nil), encodeFloat64s, decodeFloat64s)
}

func encodeFloat64s(enc *msgpack.Encoder, v reflect.Value) error {
	if v.IsNil() {
		return enc.EncodeNil()
	}
	xs := v.Interface().([]float64)
	if err := enc.EncodeArrayLen(len(xs)); err != nil {
		return err
	}
	buf := make([]byte, 9*len(xs))
	for i, x := range xs {
		buf[9*i] = msgpcode.Double
		binary.BigEndian.PutUint64(buf[9*i+1:], math.Float64bits(x))
	}
	_, err := enc.Writer().Write(buf)
	return err
}

// maxPrealloc is msgpack/v5's sliceAllocLimit.
const maxPrealloc = 1 << 20

func decodeFloat64s(dec *msgpack.Decoder, v reflect.Value) error {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n < 0 {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	if n > ckptMaxBody/9 {
		return fmt.Errorf("msgpack: array of %d float64s is longer than a checkpoint can be", n)
	}
	// Like msgpack's own slices, allocate at most a million elements
	// ahead of the bytes that back them: a short body that claims a long
	// array fails without taking memory for it.
	xs := make([]float64, min(n, maxPrealloc))
	for i := range xs {
		if xs[i], err = dec.DecodeFloat64(); err != nil {
			return err
		}
	}
	for len(xs) < n {
		x, err := dec.DecodeFloat64()
		if err != nil {
			return err
		}
		xs = append(xs, x)
	}
	v.Set(reflect.ValueOf(xs))
	return nil
}
