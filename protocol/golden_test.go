package protocol

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden wire files in testdata/")

// goldenMessages are fixed messages of every type. Their encodings in
// testdata/ were written by the hand-written codec this package had before
// it moved onto github.com/vmihailenco/msgpack/v5 (tag session-start), so
// TestGoldenWire proves that the wire format did not change: messages of
// schema version 1 from older actors and learners, and snapshot bodies
// written before, still decode, and new ones are byte for byte the same.
func goldenMessages() []struct {
	file   string
	encode func() ([]byte, error)
	decode func([]byte) (any, error)
	want   any
} {
	lim := DefaultLimits()
	lim.MaxActions = 1024
	makeRun := testRollout(newRNG(11), 8, 64, 40, 16) // make run's rollout size
	wide := testRollout(newRNG(12), 2, 4, 3, 300)     // two-byte actions
	wide.Episodes = nil
	w := testWeights(newRNG(13), 40, 16)
	hello, hb := testHello(), testHeartbeat()
	q := &WeightsRequest{V: SchemaVersion, ActorID: "evaluate-1", HaveVersion: 300}
	return []struct {
		file   string
		encode func() ([]byte, error)
		decode func([]byte) (any, error)
		want   any
	}{
		{"rollout-8x64x40.msgpack", func() ([]byte, error) { return EncodeRollout(makeRun, 0) },
			func(b []byte) (any, error) { return DecodeRollout(b, lim) }, makeRun},
		{"rollout-wide-actions.msgpack", func() ([]byte, error) { return EncodeRollout(wide, 0) },
			func(b []byte) (any, error) { return DecodeRollout(b, lim) }, wide},
		{"weights.msgpack", func() ([]byte, error) { return EncodeWeights(w, 0) },
			func(b []byte) (any, error) { return DecodeWeights(b, lim) }, w},
		{"hello.msgpack", func() ([]byte, error) { return EncodeHello(hello, 0) },
			func(b []byte) (any, error) { return DecodeHello(b, lim) }, hello},
		{"heartbeat.msgpack", func() ([]byte, error) { return EncodeHeartbeat(hb, 0) },
			func(b []byte) (any, error) { return DecodeHeartbeat(b, lim) }, hb},
		{"weights-request.msgpack", func() ([]byte, error) { return EncodeWeightsRequest(q) },
			func(b []byte) (any, error) { return DecodeWeightsRequest(b, lim) }, q},
	}
}

func TestGoldenWire(t *testing.T) {
	for _, g := range goldenMessages() {
		t.Run(g.file, func(t *testing.T) {
			path := filepath.Join("testdata", g.file)
			got, err := g.encode()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenWire -update ./protocol/ to create it)", err)
			}
			if !bytes.Equal(got, old) {
				t.Fatalf("encoding differs from the golden %s (%d bytes, golden %d): the wire format changed, "+
					"so SchemaVersion must rise (docs/protocol.md, Versioning rule)", path, len(got), len(old))
			}
			dec, err := g.decode(old)
			if err != nil {
				t.Fatalf("decode the golden message: %v", err)
			}
			if w, ok := dec.(*Weights); ok {
				if w.Checksum == 0 {
					t.Fatal("checksum not set by the decoder")
				}
				g.want.(*Weights).Checksum = w.Checksum
			}
			if !reflect.DeepEqual(dec, g.want) {
				t.Fatalf("golden message decodes to\n%+v\nwant\n%+v", dec, g.want)
			}
		})
	}
}
