package protocol

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden wire files in testdata/")

// goldenMessages are fixed messages of every type, at SchemaVersion; their
// encodings are in testdata/. TestGoldenWire checks that the encoder writes
// them byte for byte and decodes them. The version-1 encodings in
// testdata/v1/ were written by the hand-written codec this package had
// before it moved onto github.com/vmihailenco/msgpack/v5 (tag
// session-start); TestGoldenWireVersion1 checks what becomes of them.
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
	reply := &MemberReply{V: SchemaVersion, Accepted: true, MemberToken: 0x1234_5678_9abc, Epoch: 77}
	bye := &Goodbye{V: SchemaVersion, ActorID: "actor-9", Incarnation: 5, MemberToken: 6, Seq: 1000}
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
		{"member-reply.msgpack", func() ([]byte, error) { return EncodeMemberReply(reply) },
			func(b []byte) (any, error) { return DecodeMemberReply(b, lim) }, reply},
		{"goodbye.msgpack", func() ([]byte, error) { return EncodeGoodbye(bye) },
			func(b []byte) (any, error) { return DecodeGoodbye(b, lim) }, bye},
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
					"so SchemaVersion must rise (docs/protocol.md, Versioning rule); "+
					"after a deliberate change rewrite them with go test -run TestGoldenWire -update ./protocol/", path, len(got), len(old))
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

// TestGoldenWireVersion1: of the messages schema version 1 had, Weights
// (snapshot files, /v1/policy bodies) and WeightsRequest did not change and
// still decode to the same content; Rollout, Hello and Heartbeat changed
// meaning (membership) and are refused with a typed reason, so an actor of
// an older build fails loudly instead of being half understood.
func TestGoldenWireVersion1(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxActions = 1024
	read := func(t *testing.T, name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", "v1", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("weights decode", func(t *testing.T) {
		w, err := DecodeWeights(read(t, "weights.msgpack"), lim)
		if err != nil {
			t.Fatalf("version-1 weights: %v", err)
		}
		want := testWeights(newRNG(13), 40, 16)
		want.Checksum = w.Checksum
		if !reflect.DeepEqual(w, want) {
			t.Fatal("version-1 weights decode to other content")
		}
	})
	t.Run("weights request decodes", func(t *testing.T) {
		q, err := DecodeWeightsRequest(read(t, "weights-request.msgpack"), lim)
		if err != nil || q.ActorID != "evaluate-1" || q.HaveVersion != 300 {
			t.Fatalf("version-1 weights request: %+v, %v", q, err)
		}
	})
	refused := []struct {
		file   string
		decode func([]byte) error
	}{
		{"rollout-8x64x40.msgpack", func(b []byte) error { _, err := DecodeRollout(b, lim); return err }},
		{"rollout-wide-actions.msgpack", func(b []byte) error { _, err := DecodeRollout(b, lim); return err }},
		{"hello.msgpack", func(b []byte) error { _, err := DecodeHello(b, lim); return err }},
		{"heartbeat.msgpack", func(b []byte) error { _, err := DecodeHeartbeat(b, lim); return err }},
	}
	for _, r := range refused {
		t.Run(r.file+" refused", func(t *testing.T) {
			err := r.decode(read(t, r.file))
			wantReason(t, err, ReasonSchemaVersion)
			if !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("%v does not match ErrUnsupportedVersion", err)
			}
		})
	}
}
