package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func encodeWeights(t testing.TB, w *Weights) []byte {
	t.Helper()
	b, err := EncodeWeights(w, 0)
	if err != nil {
		t.Fatalf("EncodeWeights: %v", err)
	}
	return b
}

func TestWeightsRoundTrip(t *testing.T) {
	want := testWeights(newRNG(1), 20, 9)
	b := encodeWeights(t, want)
	got, err := DecodeWeights(b, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got.Checksum == 0 {
		t.Fatal("checksum not set by the decoder")
	}
	want.Checksum = got.Checksum
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
	if again := encodeWeights(t, got); !bytes.Equal(again, b) {
		t.Fatal("re-encoding differs: encoding is not deterministic")
	}
	viaLib, err := msgpack.Marshal(want)
	if err != nil || !bytes.Equal(viaLib, b) {
		t.Fatalf("msgpack.Marshal differs (err %v)", err)
	}
	// Params must survive bit for bit (no float32 rounding).
	for i := range want.Params {
		if math.Float64bits(got.Params[i]) != math.Float64bits(want.Params[i]) {
			t.Fatalf("param %d changed", i)
		}
	}
}

func TestDecodeWeightsIntoReusesParams(t *testing.T) {
	w := testWeights(newRNG(2), 20, 9)
	w.Meta = nil
	b := encodeWeights(t, w)
	var got Weights
	lim := DefaultLimits()
	if err := DecodeWeightsInto(&got, b, lim); err != nil {
		t.Fatal(err)
	}
	p := &got.Params[0]
	if err := DecodeWeightsInto(&got, b, lim); err != nil {
		t.Fatal(err)
	}
	if &got.Params[0] != p {
		t.Fatal("params slice not reused")
	}
}

// withChecksum re-seals a generic weights map after edits.
func withChecksum(t *testing.T, m map[string]any) []byte {
	t.Helper()
	w := &Weights{Version: toU64(m["version"])}
	a := m["arch"].(map[string]any)
	w.Arch.ObsSize, w.Arch.NumActions = int(toU64(a["obs_size"])), int(toU64(a["num_actions"]))
	for _, h := range a["hidden"].([]any) {
		w.Arch.Hidden = append(w.Arch.Hidden, int(toU64(h)))
	}
	w.Arch.Activation, w.Arch.SharedTrunk = a["activation"].(string), a["shared_trunk"].(bool)
	n := m["norm"].(map[string]any)
	w.Norm.Count, w.Norm.Clip, w.Norm.Epsilon = n["count"].(float64), n["clip"].(float64), n["epsilon"].(float64)
	m["checksum"] = checksumWeights(w, m["params"].([]byte), n["mean"].([]byte), n["var"].([]byte))
	return fromMap(t, m)
}

func toU64(v any) uint64 {
	switch x := v.(type) {
	case int8:
		return uint64(x)
	case uint8:
		return uint64(x)
	case int16:
		return uint64(x)
	case uint16:
		return uint64(x)
	case int32:
		return uint64(x)
	case uint32:
		return uint64(x)
	case int64:
		return uint64(x)
	case uint64:
		return x
	case int:
		return uint64(x)
	}
	panic("not an integer")
}

func TestDecodeWeightsRejects(t *testing.T) {
	valid := encodeWeights(t, testWeights(newRNG(3), 4, 3))
	norm := func(m map[string]any) map[string]any { return m["norm"].(map[string]any) }
	cases := []struct {
		name   string
		edit   func(m map[string]any)
		reseal bool
		raw    func() []byte
		reason Reason
	}{
		{"random bytes", nil, false, func() []byte { return []byte("\xc1\xff") }, ReasonMalformed},
		{"truncated", nil, false, func() []byte { return valid[:len(valid)-3] }, ReasonMalformed},
		{"wrong schema version", func(m map[string]any) { m["v"] = 9 }, false, nil, ReasonSchemaVersion},
		{"checksum mismatch", func(m map[string]any) { m["params"] = putF64(m["params"].([]byte), 5, 1.5) }, false, nil, ReasonChecksum},
		{"checksum field changed", func(m map[string]any) { m["checksum"] = toU64(m["checksum"]) ^ 1 }, false, nil, ReasonChecksum},
		{"checksum missing", func(m map[string]any) { delete(m, "checksum") }, false, nil, ReasonChecksum},
		{"version changed", func(m map[string]any) { m["version"] = 99 }, false, nil, ReasonChecksum},
		{"params NaN", func(m map[string]any) { m["params"] = putF64(m["params"].([]byte), 0, math.NaN()) }, true, nil, ReasonNonFinite},
		{"params empty", func(m map[string]any) { m["params"] = []byte{} }, true, nil, ReasonShape},
		{"params ragged", func(m map[string]any) { m["params"] = []byte{1, 2, 3} }, true, nil, ReasonShape},
		{"var negative", func(m map[string]any) { norm(m)["var"] = putF64(norm(m)["var"].([]byte), 1, -2) }, true, nil, ReasonBadValue},
		{"clip zero", func(m map[string]any) { norm(m)["clip"] = 0.0 }, true, nil, ReasonBadValue},
		{"mean wrong length", func(m map[string]any) { norm(m)["mean"] = make([]byte, 8) }, true, nil, ReasonShape},
		{"bad run name", func(m map[string]any) { m["run"] = "a.b" }, true, nil, ReasonBadID},
		{"too many meta entries", func(m map[string]any) {
			meta := map[string]any{}
			for i := range MaxMetaEntries + 1 {
				meta[strings.Repeat("k", i+1)] = "v"
			}
			m["meta"] = meta
		}, true, nil, ReasonTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var data []byte
			switch {
			case c.raw != nil:
				data = c.raw()
			case c.reseal:
				m := asMap(t, valid)
				c.edit(m)
				data = withChecksum(t, m)
			default:
				m := asMap(t, valid)
				c.edit(m)
				data = fromMap(t, m)
			}
			w, err := DecodeWeights(data, DefaultLimits())
			if w != nil {
				t.Fatal("weights returned with an error")
			}
			wantReason(t, err, c.reason)
		})
	}
}

func TestDecodeWeightsParamLimit(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxParams = 999
	_, err := DecodeWeights(encodeWeights(t, testWeights(newRNG(3), 4, 3)), lim)
	wantReason(t, err, ReasonTooLarge)
}

func TestWeightsCheckShape(t *testing.T) {
	w := testWeights(newRNG(4), 20, 9)
	if err := w.CheckShape(Shape{ObsSize: 20, NumActions: 9}); err != nil {
		t.Fatal(err)
	}
	wantReason(t, w.CheckShape(Shape{ObsSize: 21, NumActions: 9}), ReasonShape)
	wantReason(t, w.CheckShape(Shape{ObsSize: 20, NumActions: 8}), ReasonShape)
}

func TestEncodeWeightsTooLarge(t *testing.T) {
	_, err := EncodeWeights(testWeights(newRNG(5), 20, 9), 1024)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestSnapshotFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.snapshot")
	want := testWeights(newRNG(6), 20, 9)
	if err := WriteSnapshotFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSnapshotFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want.Checksum = got.Checksum
	if !reflect.DeepEqual(got, want) {
		t.Fatal("snapshot round trip differs")
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %d entries (err %v), want only the snapshot", len(entries), err)
	}
	// Overwriting replaces the file.
	want.Version = 8
	if err := WriteSnapshotFile(path, want); err != nil {
		t.Fatal(err)
	}
	if got, err = ReadSnapshotFile(path); err != nil || got.Version != 8 {
		t.Fatalf("after overwrite: version %v, err %v", got, err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := func(name string, b []byte, want error) {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ReadSnapshotFile(p)
			if !errors.Is(err, want) {
				t.Fatalf("err = %v, want %v", err, want)
			}
		})
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)-200] ^= 0x10
	bad("foreign file", []byte(`{"json": true}`), ErrNotSnapshot)
	bad("empty file", nil, ErrNotSnapshot)
	bad("truncated", data[:len(data)-10], ErrCorruptSnapshot)
	bad("flipped bit", flipped, ErrCorruptSnapshot)
	if _, err := ReadSnapshotFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if err := WriteSnapshotFile(filepath.Join(dir, "x"), &Weights{}); err == nil {
		t.Fatal("invalid weights written")
	}
}

// TestWeightsCarryLongFeatureNames: a per-pod cluster's observation names
// (thousands of bytes in one meta value) must pass the receiver's default
// limits, or actors never get weights (found when a per-pod run stalled at
// version 0).
func TestWeightsCarryLongFeatureNames(t *testing.T) {
	w := testWeights(newRNG(2), 20, 9)
	names := make([]string, 0, 1300)
	for i := range 1300 {
		names = append(names, fmt.Sprintf("t-1.pod%d.node_not_ready", i%64))
	}
	w.Meta["obs_names"] = strings.Join(names, ",")
	got, err := DecodeWeights(encodeWeights(t, w), DefaultLimits())
	if err != nil {
		t.Fatalf("%d-byte meta value refused: %v", len(w.Meta["obs_names"]), err)
	}
	if got.Meta["obs_names"] != w.Meta["obs_names"] {
		t.Fatal("meta value changed")
	}
	w.Meta["obs_names"] = strings.Repeat("x", DefaultLimits().MaxMetaValueLen+1)
	if _, err := DecodeWeights(encodeWeights(t, w), DefaultLimits()); err == nil {
		t.Fatal("meta value over the limit accepted")
	}
}

// TestSnapshotBytesAreOneFormat: EncodeSnapshot is the file's bytes, its
// tail after the magic is the weights message, and both parse back.
func TestSnapshotBytesAreOneFormat(t *testing.T) {
	w := testWeights(newRNG(7), 20, 9)
	snap, err := EncodeSnapshot(w)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "policy.snapshot")
	if err := WriteSnapshotFile(path, w); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, snap) {
		t.Fatal("the snapshot file differs from EncodeSnapshot's bytes")
	}
	msg, err := EncodeWeights(w, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap[len(SnapshotMagic):], msg) {
		t.Fatal("the snapshot's tail is not the weights message")
	}
	got, err := ParseSnapshot(snap)
	if err != nil || got.Version != w.Version {
		t.Fatalf("ParseSnapshot: %+v, %v", got, err)
	}
	if _, err := ParseSnapshot(msg); !errors.Is(err, ErrNotSnapshot) {
		t.Fatalf("a bare weights message parsed as a snapshot: %v", err)
	}
}
