package protocol

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The codec runs on github.com/vmihailenco/msgpack/v5: a msgpack.Decoder
// reads every header and scalar, a msgpack.Encoder writes them. What this
// file adds is what the wire contract needs on top: the decoder reads from
// the message in place (so packed arrays are taken without a copy once the
// library has read their bin header), every length is checked against the
// remaining input before anyone allocates, unknown values are skipped to a
// bounded depth, and Encoders and Decoders are reused across messages.

// maxSkipDepth bounds the nesting of unknown values a decoder skips. The
// library's own Skip recurses without a bound, so a deeply nested value
// could exhaust the stack; unknown values go through decoder.skip instead.
const maxSkipDepth = 32

var errTrailing = errors.New("trailing bytes after message")

// sliceReader is the input of a msgpack.Decoder: one whole message. As an
// io.ByteScanner it stops the Decoder from buffering, so off is always the
// Decoder's position and take can hand out the bytes that follow a header
// the Decoder has just read.
type sliceReader struct {
	b   []byte
	off int
}

// Read implements io.Reader.
func (r *sliceReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// ReadByte implements io.ByteReader.
func (r *sliceReader) ReadByte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// UnreadByte implements io.ByteScanner.
func (r *sliceReader) UnreadByte() error {
	if r.off == 0 {
		return errors.New("unread at the start of the message")
	}
	r.off--
	return nil
}

func (r *sliceReader) remaining() int { return len(r.b) - r.off }

// take returns the next n bytes, aliasing the message.
func (r *sliceReader) take(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, fmt.Errorf("%d bytes declared, %d left: %w", n, r.remaining(), io.ErrUnexpectedEOF)
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

// appendWriter is the output of a msgpack.Encoder: it appends to a caller's
// buffer, so AppendRollout into a buffer with room allocates nothing.
type appendWriter struct{ b []byte }

// Write implements io.Writer.
func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// WriteByte implements io.ByteWriter (the Encoder's fast path).
func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

// extend grows the buffer by n bytes and returns them to be filled.
func (w *appendWriter) extend(n int) []byte {
	off := len(w.b)
	w.b = slices.Grow(w.b, n)[:off+n]
	return w.b[off:]
}

// cache keeps a few codec states for reuse: a leaky free list (as in
// Effective Go) rather than a sync.Pool, which the race detector empties at
// random, so that decoding into a reused Rollout allocates nothing in every
// build. It holds at most cap(free) idle states.
type cache[T any] struct {
	free  chan *T
	alloc func() *T
}

func (c *cache[T]) get() *T {
	select {
	case x := <-c.free:
		return x
	default:
		return c.alloc()
	}
}

func (c *cache[T]) put(x *T) {
	select {
	case c.free <- x:
	default:
	}
}

const cachedCodecs = 16

var (
	decoders = cache[decoder]{free: make(chan *decoder, cachedCodecs), alloc: func() *decoder {
		return &decoder{dec: msgpack.NewDecoder(nil)}
	}}
	encoders = cache[encoder]{free: make(chan *encoder, cachedCodecs), alloc: func() *encoder {
		return &encoder{enc: msgpack.NewEncoder(nil)}
	}}
)

// decoder is a reused msgpack.Decoder reading one message in place. Its
// methods wrap the library's readers with the checks the contract needs.
// Its Decoder only ever reads headers and scalars (at most 8 bytes into the
// library's internal buffer), never strings or bins, so a cached decoder
// does not keep a large buffer alive.
type decoder struct {
	dec *msgpack.Decoder
	src sliceReader
}

// getDecoder returns a cached decoder reset to read data; release it with
// decoders.put after use (it must not be used after that).
func getDecoder(data []byte) *decoder {
	d := decoders.get()
	d.reset(data)
	return d
}

func (d *decoder) reset(data []byte) {
	d.src = sliceReader{b: data}
	d.dec.Reset(&d.src)
}

func (d *decoder) release() {
	d.src = sliceReader{}
	decoders.put(d)
}

// done reports bytes left after a message.
func (d *decoder) done() error {
	if d.src.remaining() != 0 {
		return errTrailing
	}
	return nil
}

// mapLen reads a map header (nil reads as 0 entries) and checks the length
// against the remaining input, two bytes per entry at least, before the
// caller allocates anything for it.
func (d *decoder) mapLen() (int, error) {
	n, err := d.dec.DecodeMapLen()
	return d.checkLen("map", n, 2, err)
}

// arrayLen reads an array header (nil reads as 0 entries) and checks it
// against the remaining input, one byte per entry at least.
func (d *decoder) arrayLen() (int, error) {
	n, err := d.dec.DecodeArrayLen()
	return d.checkLen("array", n, 1, err)
}

func (d *decoder) checkLen(what string, n, minEntry int, err error) (int, error) {
	switch {
	case err != nil:
		return 0, err
	case n < 0:
		return 0, nil
	case n > d.src.remaining()/minEntry:
		return 0, fmt.Errorf("%s of %d entries exceeds the %d remaining bytes", what, n, d.src.remaining())
	}
	return n, nil
}

// bytes reads a str or a bin (the library treats the two alike) with
// DecodeBytesLen and returns its content aliasing the message, after
// checking the declared length against the remaining input. nil reads as
// empty. Callers copy what they keep.
func (d *decoder) bytes() ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil || n < 0 {
		return nil, err
	}
	return d.src.take(n)
}

// isSigned reports a msgpack code of a signed integer format, the only
// ones that can hold a negative value.
func isSigned(c byte) bool {
	return c >= msgpcode.NegFixedNumLow || c == msgpcode.Int8 || c == msgpcode.Int16 ||
		c == msgpcode.Int32 || c == msgpcode.Int64
}

// uint reads a non-negative integer no larger than max. The library's
// DecodeUint64 turns a negative integer into a huge unsigned one; that is
// refused here.
func (d *decoder) uint(max uint64) (uint64, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return 0, err
	}
	var u uint64
	if isSigned(c) {
		v, err := d.dec.DecodeInt64()
		if err != nil {
			return 0, err
		}
		if v < 0 {
			return 0, fmt.Errorf("negative value %d", v)
		}
		u = uint64(v)
	} else if u, err = d.dec.DecodeUint64(); err != nil {
		return 0, err
	}
	if u > max {
		return 0, fmt.Errorf("value %d exceeds %d", u, max)
	}
	return u, nil
}

// int reads a signed integer in [min, max]. The library's DecodeInt64
// wraps a uint64 over MaxInt64 to a negative value; that is refused here.
func (d *decoder) int(min, max int64) (int64, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return 0, err
	}
	var v int64
	if c == msgpcode.Uint64 {
		u, err := d.dec.DecodeUint64()
		if err != nil {
			return 0, err
		}
		if u > math.MaxInt64 {
			return 0, fmt.Errorf("value %d overflows int64", u)
		}
		v = int64(u)
	} else if v, err = d.dec.DecodeInt64(); err != nil {
		return 0, err
	}
	if v < min || v > max {
		return 0, fmt.Errorf("value %d out of range [%d, %d]", v, min, max)
	}
	return v, nil
}

// float reads any number as a float64 (DecodeFloat64, which reads a uint64
// as a signed one; that one case is read as unsigned here).
func (d *decoder) float() (float64, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return 0, err
	}
	if c == msgpcode.Uint64 {
		u, err := d.dec.DecodeUint64()
		return float64(u), err
	}
	return d.dec.DecodeFloat64()
}

func (d *decoder) bool() (bool, error) { return d.dec.DecodeBool() }

// skip consumes one value of any type, containers to at most maxSkipDepth
// levels; str, bin and ext content is stepped over without being copied.
func (d *decoder) skip(depth int) error {
	if depth > maxSkipDepth {
		return fmt.Errorf("values nested deeper than %d", maxSkipDepth)
	}
	c, err := d.dec.PeekCode()
	if err != nil {
		return err
	}
	switch {
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.mapLen()
		for i := 0; i < 2*n && err == nil; i++ {
			err = d.skip(depth + 1)
		}
		return err
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.arrayLen()
		for i := 0; i < n && err == nil; i++ {
			err = d.skip(depth + 1)
		}
		return err
	case msgpcode.IsString(c) || msgpcode.IsBin(c):
		_, err := d.bytes()
		return err
	case msgpcode.IsExt(c):
		_, n, err := d.dec.DecodeExtHeader()
		if err == nil {
			_, err = d.src.take(n)
		}
		return err
	}
	return d.dec.Skip() // nil, a bool or a number; an unused code fails
}

// keepString returns s as a string, reusing old when equal so that a
// steady-state DecodeInto does not allocate.
func keepString(old string, s []byte) string {
	if old == string(s) {
		return old
	}
	return string(s)
}

// encoder is a reused msgpack.Encoder appending to a caller's buffer, with
// compact integers (the shortest encoding, as the hand codec before it
// wrote and the msgpack specification recommends). Its keyed writers record
// the first error; finish returns it.
type encoder struct {
	enc *msgpack.Encoder
	dst appendWriter
	err error
}

// getEncoder returns a cached encoder appending to dst; finish releases it.
func getEncoder(dst []byte) *encoder {
	e := encoders.get()
	e.dst.b, e.err = dst, nil
	e.enc.Reset(&e.dst)
	e.enc.UseCompactInts(true)
	return e
}

// finish releases e and returns the grown buffer and the first error.
func (e *encoder) finish() ([]byte, error) {
	b, err := e.dst.b, e.err
	e.dst.b, e.err = nil, nil
	encoders.put(e)
	return b, err
}

func (e *encoder) do(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *encoder) mapLen(n int)   { e.do(e.enc.EncodeMapLen(n)) }
func (e *encoder) arrayLen(n int) { e.do(e.enc.EncodeArrayLen(n)) }
func (e *encoder) key(k string)   { e.do(e.enc.EncodeString(k)) }
func (e *encoder) uint(k string, v uint64) {
	e.key(k)
	e.do(e.enc.EncodeUint(v))
}

func (e *encoder) int(k string, v int64) {
	e.key(k)
	e.do(e.enc.EncodeInt(v))
}

func (e *encoder) str(k, v string) {
	e.key(k)
	e.do(e.enc.EncodeString(v))
}

func (e *encoder) float(k string, v float64) {
	e.key(k)
	e.do(e.enc.EncodeFloat64(v))
}

func (e *encoder) bool(k string, v bool) {
	e.key(k)
	e.do(e.enc.EncodeBool(v))
}

// bin writes key k and the header of a bin of n bytes (EncodeBytesLen) and
// returns the n bytes of content to fill in place.
func (e *encoder) bin(k string, n int) []byte {
	e.key(k)
	e.do(e.enc.EncodeBytesLen(n))
	return e.dst.extend(n)
}
