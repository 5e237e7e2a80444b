package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// unknownValues are values of every msgpack kind, as a newer peer might send
// under keys this version does not know.
func unknownValues(t testing.TB) map[string]any {
	ext := func(id int8, n int) msgpack.RawMessage {
		return wire(t, func(e *msgpack.Encoder) error {
			err := e.EncodeExtHeader(id, n)
			_, werr := e.Writer().Write(bytes.Repeat([]byte{7}, n))
			return errors.Join(err, werr)
		})
	}
	return map[string]any{
		"zz_nil": nil, "zz_bool": true, "zz_neg": -100000, "zz_big": uint64(math.MaxUint64),
		"zz_float": 2.5, "zz_float32": float32(1.5), "zz_str": strings.Repeat("s", 300),
		"zz_bin":    make([]byte, 70000),
		"zz_nested": map[string]any{"a": []any{1, "x", map[string]any{"b": nil}}, "c": []byte{1}},
		"zz_fixext": ext(3, 4), "zz_ext": ext(-5, 3), "zz_ext_big": ext(9, 300),
		"zz_time": time.Unix(1_700_000_000, 5).UTC(),
	}
}

// withUnknownKeys returns msg (a message map) with unknownValues added,
// keys written in sorted order so the result is deterministic.
func withUnknownKeys(t testing.TB, msg []byte) []byte {
	t.Helper()
	m := asMap(t, msg)
	for k, v := range unknownValues(t) {
		m[k] = v
	}
	return wire(t, func(e *msgpack.Encoder) error {
		e.SetSortMapKeys(true)
		return e.Encode(m)
	})
}

// TestDecodersSkipUnknownValues: every decoder skips keys it does not know,
// whatever their kind, and decodes the rest as if they were absent (the
// versioning rule's "adding an optional key keeps the schema version").
func TestDecodersSkipUnknownValues(t *testing.T) {
	lim := DefaultLimits()
	r := testRollout(newRNG(20), 3, 4, 5, 6)
	got, err := DecodeRollout(withUnknownKeys(t, mustEncode(t, r)), lim)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("rollout with unknown keys: %v", err)
	}
	w := testWeights(newRNG(21), 5, 6)
	gw, err := DecodeWeights(withUnknownKeys(t, encodeWeights(t, w)), lim)
	if err != nil {
		t.Fatalf("weights with unknown keys: %v", err)
	}
	w.Checksum = gw.Checksum
	if !reflect.DeepEqual(gw, w) {
		t.Fatal("weights with unknown keys decode differently")
	}
	hb, err := EncodeHeartbeat(testHeartbeat(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ghb, err := DecodeHeartbeat(withUnknownKeys(t, hb), lim)
	if err != nil || !reflect.DeepEqual(ghb, testHeartbeat()) {
		t.Fatalf("heartbeat with unknown keys: %+v, %v", ghb, err)
	}
	h, err := EncodeHello(testHello(), 0)
	if err != nil {
		t.Fatal(err)
	}
	gh, err := DecodeHello(withUnknownKeys(t, h), lim)
	if err != nil || !reflect.DeepEqual(gh, testHello()) {
		t.Fatalf("hello with unknown keys: %+v, %v", gh, err)
	}
	q, err := EncodeWeightsRequest(&WeightsRequest{ActorID: "a", HaveVersion: 9})
	if err != nil {
		t.Fatal(err)
	}
	gq, err := DecodeWeightsRequest(withUnknownKeys(t, q), lim)
	if err != nil || *gq != (WeightsRequest{V: SchemaVersion, ActorID: "a", HaveVersion: 9}) {
		t.Fatalf("weights request with unknown keys: %+v, %v", gq, err)
	}
}

// TestSmallMessagesEnvelope covers what the first pass over a small message
// refuses before the library's struct decoder sees it.
func TestSmallMessagesEnvelope(t *testing.T) {
	lim := DefaultLimits()
	hello, err := EncodeHello(testHello(), 0)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(change func(m map[string]any)) []byte {
		m := asMap(t, hello)
		change(m)
		return fromMap(t, m)
	}
	asArray, err := msgpack.Marshal([]any{1, "a", 1, 8, 128, 20, 9, "", "", "", 0})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		data   []byte
		reason Reason
	}{
		// A uint16 struct field would keep only the low 16 bits: 65537 is
		// not version 1 but no uint16 at all (as in the hand codec).
		{"version 65537", edit(func(m map[string]any) { m["v"] = 1 + 1<<16 }), ReasonMalformed},
		{"version 3", edit(func(m map[string]any) { m["v"] = 3 }), ReasonSchemaVersion},
		{"version 1, before membership", edit(func(m map[string]any) { m["v"] = 1 }), ReasonSchemaVersion},
		{"version negative", edit(func(m map[string]any) { m["v"] = -1 }), ReasonMalformed},
		{"version a string", edit(func(m map[string]any) { m["v"] = "1" }), ReasonMalformed},
		// The library decodes an array of the right length into a struct.
		{"struct as array", asArray, ReasonMalformed},
		{"nested past the bound", nested(t, "hostname", maxSkipDepth+1), ReasonMalformed},
		{"deeply nested", nested(t, "hostname", 100_000), ReasonMalformed},
		{"trailing bytes", append(append([]byte(nil), hello...), 0), ReasonMalformed},
		{"wrong field type", edit(func(m map[string]any) { m["hostname"] = 5 }), ReasonMalformed},
		{"truncated", hello[:len(hello)-2], ReasonMalformed},
		{"too large", edit(func(m map[string]any) { m["pad"] = make([]byte, lim.MaxPayload) }), ReasonTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := DecodeHello(c.data, lim)
			if h != nil {
				t.Fatal("hello returned with an error")
			}
			wantReason(t, err, c.reason)
		})
	}
	// Nested at exactly the bound is skipped like any unknown value.
	if _, err := DecodeHeartbeat(nested(t, "x", maxSkipDepth-1), lim); ReasonOf(err) != ReasonBadID {
		t.Fatalf("heartbeat with a value nested %d deep: %v, want bad_id (no actor id)", maxSkipDepth-1, err)
	}
}

// TestSmallMessagesThroughLibrary: the small messages are the library's own
// struct encoding, so msgpack.Marshal and Unmarshal agree with the Encode
// and Decode functions, and a peer writing them as generic maps, in another
// key order, is understood.
func TestSmallMessagesThroughLibrary(t *testing.T) {
	h := testHello()
	b, err := EncodeHello(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	viaLib, err := msgpack.Marshal(h)
	if err != nil || !bytes.Equal(viaLib, b) {
		t.Fatalf("msgpack.Marshal(hello) differs from EncodeHello (err %v)", err)
	}
	var got Hello
	if err := msgpack.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(&got, h) {
		t.Fatalf("msgpack.Unmarshal(hello): %+v, %v", got, err)
	}
	m := asMap(t, b)
	sorted := wire(t, func(e *msgpack.Encoder) error { e.SetSortMapKeys(true); return e.Encode(m) })
	if bytes.Equal(sorted, b) {
		t.Fatal("test needs another key order")
	}
	if g, err := DecodeHello(sorted, DefaultLimits()); err != nil || !reflect.DeepEqual(g, h) {
		t.Fatalf("hello in sorted key order: %+v, %v", g, err)
	}
	// V is always written as SchemaVersion, whatever the value holds.
	zero := *h
	zero.V = 0
	if b0, err := EncodeHello(&zero, 0); err != nil || !bytes.Equal(b0, b) {
		t.Fatalf("hello with V 0 encodes differently (err %v)", err)
	}
}

// TestCodecConcurrentUse runs every encoder and decoder from several
// goroutines at once (the cached Encoders and Decoders are shared): under
// the race detector this finds any state shared between two messages.
func TestCodecConcurrentUse(t *testing.T) {
	lim := DefaultLimits()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				r := testRollout(newRNG(uint64(100+g)), 2+g, 8, 4, 5)
				w := testWeights(newRNG(uint64(200+g)), 4, 5)
				var rr Rollout
				var ww Weights
				var buf []byte
				for i := range 50 {
					var err error
					if buf, err = AppendRollout(buf[:0], r); err != nil {
						return err
					}
					if err := DecodeRolloutInto(&rr, buf, lim); err != nil {
						return err
					}
					if !reflect.DeepEqual(&rr, r) {
						return fmt.Errorf("goroutine %d, round %d: rollout differs", g, i)
					}
					if buf, err = AppendWeights(buf[:0], w); err != nil {
						return err
					}
					if err := DecodeWeightsInto(&ww, buf, lim); err != nil {
						return err
					}
					if ww.Version != w.Version || !reflect.DeepEqual(ww.Params, w.Params) {
						return fmt.Errorf("goroutine %d, round %d: weights differ", g, i)
					}
					if buf, err = AppendHello(buf[:0], testHello()); err != nil {
						return err
					}
					if h, err := DecodeHello(buf, lim); err != nil || h.ActorID != testHello().ActorID {
						return fmt.Errorf("goroutine %d: hello %v", g, err)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestEncodeAppendsToDst: the Append functions append after what dst
// holds and leave it intact, for every message type.
func TestEncodeAppendsToDst(t *testing.T) {
	prefix := []byte("PREFIX")
	r := testRollout(newRNG(30), 2, 2, 2, 3)
	want := mustEncode(t, r)
	got, err := AppendRollout(append([]byte(nil), prefix...), r)
	if err != nil || !bytes.Equal(got, append(append([]byte(nil), prefix...), want...)) {
		t.Fatalf("AppendRollout after a prefix (err %v)", err)
	}
	hb, err := AppendHeartbeat(append([]byte(nil), prefix...), testHeartbeat())
	if err != nil || !bytes.HasPrefix(hb, prefix) {
		t.Fatalf("AppendHeartbeat after a prefix (err %v)", err)
	}
	if _, err := DecodeHeartbeat(hb[len(prefix):], DefaultLimits()); err != nil {
		t.Fatal(err)
	}
}
