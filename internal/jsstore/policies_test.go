package jsstore

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPoliciesKeepLastKAndBest(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 30*time.Second)
	p, err := CreatePolicies(ctx, js, "run1", PolicyConfig{Keep: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Scores peak at version 3; version 5 has none.
	scores := []float64{-50, -20, 10, -5, math.NaN(), -8, -30, -40}
	for i, s := range scores {
		v := uint64(i + 1)
		err := p.Put(ctx, PolicyInfo{Version: v, Epoch: 7, Score: s, Metrics: map[string]float64{"env_steps": float64(1000 * v)}}, payload(1000+int(v), byte(v)))
		if err != nil {
			t.Fatalf("put version %d: %v", v, err)
		}
	}
	infos, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, in := range infos {
		got = append(got, in.Version)
	}
	if want := []uint64{3, 6, 7, 8}; !equal(got, want) {
		t.Fatalf("kept versions %v, want %v (last 3 and the best)", got, want)
	}
	if !infos[0].Best || infos[0].Score != 10 || infos[0].Epoch != 7 || infos[0].Metrics["env_steps"] != 3000 || infos[0].Size != 1003 {
		t.Fatalf("best entry %+v", infos[0])
	}
	for _, in := range infos[1:] {
		if in.Best {
			t.Fatalf("version %d marked best too", in.Version)
		}
	}
	data, in, err := p.Latest(ctx)
	if err != nil || in.Version != 8 || !bytes.Equal(data, payload(1008, 8)) {
		t.Fatalf("latest: version %d, %d bytes, %v", in.Version, len(data), err)
	}
	data, in, err = p.Best(ctx)
	if err != nil || in.Version != 3 || !bytes.Equal(data, payload(1003, 3)) {
		t.Fatalf("best: version %d, %d bytes, %v", in.Version, len(data), err)
	}
	if _, _, err := p.Get(ctx, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned version 2: got %v, want ErrNotFound", err)
	}

	// A reader that only opens, for evaluate and podmedic policy.
	r, err := OpenPolicies(ctx, js, "run1")
	if err != nil {
		t.Fatal(err)
	}
	if _, in, err := r.Get(ctx, 6); err != nil || in.Version != 6 || in.Score != -8 {
		t.Fatalf("reader get 6: %+v %v", in, err)
	}
	if _, err := OpenPolicies(ctx, js, "no-such-run"); !errors.Is(err, ErrNoStore) {
		t.Fatalf("open a run never written: got %v, want ErrNoStore", err)
	}
	empty, err := CreatePolicies(ctx, js, "empty", PolicyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := empty.Latest(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("latest of an empty store: got %v, want ErrNotFound", err)
	}
	if _, _, err := empty.Best(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("best of an empty store: got %v, want ErrNotFound", err)
	}
}

func TestPoliciesRefuseSnapshotOverLimit(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 30*time.Second)
	p, err := CreatePolicies(ctx, js, "small", PolicyConfig{Keep: 2, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.MaxSnapshotBytes(), int64(1<<20)/4; got != want {
		t.Fatalf("max snapshot %d, want %d", got, want)
	}
	err = p.Put(ctx, PolicyInfo{Version: 1, Score: math.NaN()}, make([]byte, 300_000))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "300000 bytes") || !strings.Contains(err.Error(), "262144") {
		t.Fatalf("got %v, want ErrTooLarge naming both sizes", err)
	}
	if infos, err := p.List(ctx); err != nil || len(infos) != 0 {
		t.Fatalf("refused snapshot left %v (%v)", infos, err)
	}
	if err := p.Put(ctx, PolicyInfo{Version: 1, Score: math.NaN()}, make([]byte, 200_000)); err != nil {
		t.Fatalf("snapshot under the limit: %v", err)
	}
}

func TestStoreConfigErrors(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 10*time.Second)
	if _, err := CreatePolicies(ctx, js, "bad.run", PolicyConfig{}); err == nil {
		t.Fatal("run name with a dot accepted")
	}
	if _, err := CreatePolicies(ctx, js, "r", PolicyConfig{Keep: -1}); err == nil {
		t.Fatal("negative keep accepted")
	}
	if _, err := CreateCheckpoints(ctx, js, "r", CheckpointConfig{MaxBytes: 10}); err == nil {
		t.Fatal("10-byte bucket accepted")
	}
	if _, err := CreatePolicies(ctx, js, "r", PolicyConfig{Replicas: 3}); err == nil {
		t.Fatal("3 replicas on a single server accepted")
	} else {
		t.Log(err)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
