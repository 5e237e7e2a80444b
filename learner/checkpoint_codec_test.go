package learner

import (
	"bytes"
	"math"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// TestFloat64sCodecWritesMsgpackBytes: the registered []float64 codec
// writes the bytes msgpack/v5's own encoder writes for the same numbers
// (as a []any, which it encodes element by element), nil as nil, and
// reads back every bit, NaN payloads and signed zeros included; a
// truncated array is an error.
func TestFloat64sCodecWritesMsgpackBytes(t *testing.T) {
	xs := []float64{0, math.Copysign(0, -1), 1.5, -2.25e-300, math.MaxFloat64, math.Inf(-1),
		math.Float64frombits(0x7ff8_0000_dead_beef), math.SmallestNonzeroFloat64}
	for _, n := range []int{0, 1, 15, 16, 1 << 16} {
		in := make([]float64, 0, n)
		for i := range n {
			in = append(in, xs[i%len(xs)]*float64(1+i/len(xs)))
		}
		generic := make([]any, len(in))
		for i, x := range in {
			generic[i] = x
		}
		got, err := msgpack.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := msgpack.Marshal(generic)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d floats: codec wrote %d bytes that differ from msgpack's %d", n, len(got), len(want))
		}
		var back []float64
		if err := msgpack.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if len(back) != len(in) {
			t.Fatalf("%d floats read back as %d", len(in), len(back))
		}
		for i := range in {
			if math.Float64bits(back[i]) != math.Float64bits(in[i]) {
				t.Fatalf("float %d: %x read back as %x", i, math.Float64bits(in[i]), math.Float64bits(back[i]))
			}
		}
		if n > 0 {
			if err := msgpack.Unmarshal(got[:len(got)-1], &back); err == nil {
				t.Fatalf("%d floats, truncated by a byte: no error", n)
			}
		}
	}
	var nilSlice []float64
	data, err := msgpack.Marshal(nilSlice)
	if err != nil || !bytes.Equal(data, []byte{0xc0}) {
		t.Fatalf("nil slice encoded as %x, %v; want c0", data, err)
	}
	back := []float64{1}
	if err := msgpack.Unmarshal(data, &back); err != nil || back != nil {
		t.Fatalf("nil read back as %v, %v", back, err)
	}
	// A body that claims a longer array than it holds fails, beyond the
	// preallocated part too.
	short := []byte{0xdd, 0, 0x10, 0, 5} // array32 of 1<<20 + 5 elements
	for range 3 {
		short = append(short, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0)
	}
	if err := msgpack.Unmarshal(short, &back); err == nil {
		t.Fatal("an array of 1<<20+5 floats holding 3: no error")
	}
	// Numbers msgpack's decoder takes as float64 (a float32, an int) are
	// still read.
	mixed, _ := msgpack.Marshal([]any{float32(0.5), int64(-3), uint8(7)})
	if err := msgpack.Unmarshal(mixed, &back); err != nil || len(back) != 3 || back[0] != 0.5 || back[1] != -3 || back[2] != 7 {
		t.Fatalf("mixed numbers read as %v, %v", back, err)
	}
}
