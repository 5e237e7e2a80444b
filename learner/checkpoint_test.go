package learner

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"podmedic/envsim"
	"podmedic/policy"
)

// collectFor returns update u's segment: fresh probe envs seeded by u,
// acting with the current net, so two runs with equal parameters see equal
// data.
func collectFor(t *testing.T, net *policy.Net, norm *policy.Normalizer, u int) Segment {
	t.Helper()
	mk := probes()["obs and action reward"]
	envs := []envsim.Env{mk(), mk(), mk(), mk()}
	c, err := NewCollector(envs, net, norm, rand.New(rand.NewPCG(uint64(u), 5)))
	if err != nil {
		t.Fatal(err)
	}
	var seg Segment
	c.Collect(&seg, 32)
	norm.Update(c.RawObs(), 4*32)
	return seg
}

func newTestPPO(t testing.TB) (*PPO, *policy.Normalizer) {
	t.Helper()
	rng := testRNG(11)
	net, err := policy.New(policy.Arch{ObsSize: 1, NumActions: 2, Hidden: []int{8, 8}, Activation: policy.ActivationTanh}, rng)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPPO(net, DefaultPPOConfig(), 10, rng)
	if err != nil {
		t.Fatal(err)
	}
	return p, policy.NewNormalizer(1)
}

// TestResumeIsExact: N updates, save, load, M more equals N+M straight.
func TestResumeIsExact(t *testing.T) {
	const N, M = 3, 2
	a, normA := newTestPPO(t)
	for u := 0; u < N+M; u++ {
		if _, err := a.Update([]Segment{collectFor(t, a.Net(), normA, u)}); err != nil {
			t.Fatal(err)
		}
	}
	b, normB := newTestPPO(t)
	for u := 0; u < N; u++ {
		if _, err := b.Update([]Segment{collectFor(t, b.Net(), normB, u)}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), CheckpointName(b.Version()))
	if err := SaveCheckpoint(path, b.Checkpoint(normB, 1234, map[string]string{"run": "test"})); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.EnvSteps != 1234 || ck.Version != N || ck.Meta["run"] != "test" {
		t.Fatalf("loaded counters: env steps %d, version %d, meta %v", ck.EnvSteps, ck.Version, ck.Meta)
	}
	c, normC, err := RestorePPO(ck)
	if err != nil {
		t.Fatal(err)
	}
	for u := N; u < N+M; u++ {
		if _, err := c.Update([]Segment{collectFor(t, c.Net(), normC, u)}); err != nil {
			t.Fatal(err)
		}
	}
	if c.Version() != a.Version() {
		t.Fatalf("version %d, want %d", c.Version(), a.Version())
	}
	for i, v := range a.Net().Params() {
		if c.Net().Params()[i] != v {
			t.Fatalf("param %d: resumed %v, uninterrupted %v", i, c.Net().Params()[i], v)
		}
	}
	for i, v := range a.adam.V {
		if c.adam.V[i] != v {
			t.Fatalf("adam v %d differs", i)
		}
	}
	if normA.Count() != normC.Count() {
		t.Fatalf("normalizer count %v, want %v", normC.Count(), normA.Count())
	}
}

func TestLoadCheckpointErrors(t *testing.T) {
	p, norm := newTestPPO(t)
	good, err := EncodeCheckpoint(p.Checkpoint(norm, 0, nil))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x40
		return b
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")
	future := append([]byte(nil), good...)
	future[8] = 2
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated body", good[:len(good)-10], ErrCorrupt},
		{"truncated header", good[:11], ErrCorrupt},
		{"flipped body byte", flip(len(good) / 2), ErrCorrupt},
		{"flipped checksum byte", flip(len(good) - 1), ErrCorrupt},
		{"png file", png, ErrForeign},
		{"empty-ish foreign", []byte("{}"), ErrForeign},
		{"future format version", future, ErrVersion},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+CheckpointExt)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadCheckpoint(path)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for _, other := range []error{ErrCorrupt, ErrForeign, ErrVersion} {
				if other != tc.want && errors.Is(err, other) {
					t.Fatalf("error %v also matches %v", err, other)
				}
			}
		})
	}
}

func TestLatestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LatestCheckpoint(dir); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("empty dir: got %v, want ErrNoCheckpoint", err)
	}
	p, norm := newTestPPO(t)
	for v := uint64(1); v <= 2; v++ {
		ck := p.Checkpoint(norm, 0, nil)
		ck.Version = v
		if err := SaveCheckpoint(filepath.Join(dir, CheckpointName(v)), ck); err != nil {
			t.Fatal(err)
		}
	}
	// A newer but corrupt file and a temp leftover are ignored.
	if err := os.WriteFile(filepath.Join(dir, CheckpointName(3)), []byte("PODMDCKP garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".tmp-"+CheckpointName(4)+"-1"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	path, ck, err := LatestCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Version != 2 || filepath.Base(path) != CheckpointName(2) {
		t.Fatalf("latest = %s version %d, want version 2", path, ck.Version)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Fatalf("%d files in dir: SaveCheckpoint left temp files behind", len(entries))
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	p, norm := newTestPPO(f)
	good, err := EncodeCheckpoint(p.Checkpoint(norm, 0, nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:30])
	f.Add([]byte("PODMDCKP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := DecodeCheckpoint(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrForeign) && !errors.Is(err, ErrVersion) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, _, err := RestorePPO(ck); err != nil {
			t.Fatalf("decoded checkpoint does not restore: %v", err)
		}
	})
}
