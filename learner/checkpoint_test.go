package learner

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"podmedic/learner/ppo"
	"podmedic/policy"
)

// newTestCheckpoint returns the checkpoint of an updater that has made
// two updates on random data, with normaliser statistics.
func newTestCheckpoint(t testing.TB) *Checkpoint {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 99))
	net, err := policy.New(policy.Arch{ObsSize: 3, NumActions: 2, Hidden: []int{8}, Activation: policy.ActivationTanh}, rng)
	if err != nil {
		t.Fatal(err)
	}
	upd, err := ppo.New(net, ppo.DefaultConfig(), 10, rng)
	if err != nil {
		t.Fatal(err)
	}
	norm := policy.NewNormalizer(3)
	for u := 0; u < 2; u++ {
		seg := randomSegment(net, 2, 16, rng)
		norm.Update(seg.Obs, seg.Len())
		if _, err := upd.Update([]ppo.Segment{seg}); err != nil {
			t.Fatal(err)
		}
	}
	return NewCheckpoint(upd.State(), norm, 1234, map[string]string{"run": "test"})
}

// randomSegment is on-policy data of net for K envs and T steps.
func randomSegment(net *policy.Net, K, T int, rng *rand.Rand) ppo.Segment {
	arch := net.Arch()
	n := K * T
	seg := ppo.Segment{NumEnvs: K, Horizon: T, Obs: make([]float32, n*arch.ObsSize), Actions: make([]int32, n),
		LogProbs: make([]float64, n), Values: make([]float64, n), Rewards: make([]float64, n),
		Terminated: make([]bool, n), Truncated: make([]bool, n), BootstrapValues: make([]float64, n),
		LastValues: make([]float64, K)}
	for i := range seg.Obs {
		seg.Obs[i] = float32(rng.NormFloat64())
	}
	acts := make([]int, n)
	net.NewInference(n).Act(seg.Obs, n, rng, false, acts, seg.LogProbs, seg.Values)
	for i := range acts {
		seg.Actions[i] = int32(acts[i])
		seg.Rewards[i] = rng.NormFloat64()
		seg.Terminated[i] = rng.IntN(7) == 0
	}
	return seg
}

// TestCheckpointRoundTrip: save, load and restore give back the exact
// state, and the restored updater continues like the original.
func TestCheckpointRoundTrip(t *testing.T) {
	ck := newTestCheckpoint(t)
	path := filepath.Join(t.TempDir(), CheckpointName(ck.Version))
	if err := SaveCheckpoint(path, ck); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.EnvSteps != 1234 || got.Version != 2 || got.Updates != 2 || got.Meta["run"] != "test" || got.ShuffleSeed != ck.ShuffleSeed {
		t.Fatalf("loaded counters: %+v", got)
	}
	a, normA, err := ck.Restore()
	if err != nil {
		t.Fatal(err)
	}
	b, normB, err := got.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if normA.Count() != normB.Count() || normB.Count() <= 32 {
		t.Fatalf("normaliser count %v after the round trip, want %v", normB.Count(), normA.Count())
	}
	rngA, rngB := rand.New(rand.NewPCG(5, 5)), rand.New(rand.NewPCG(5, 5))
	if _, err := a.Update([]ppo.Segment{randomSegment(a.Net(), 2, 16, rngA)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Update([]ppo.Segment{randomSegment(b.Net(), 2, 16, rngB)}); err != nil {
		t.Fatal(err)
	}
	for i, v := range a.Net().Params() {
		if b.Net().Params()[i] != v {
			t.Fatalf("param %d differs after an update of the loaded checkpoint", i)
		}
	}
}

// TestLoadsFormatV1 reads a checkpoint written by the learner before PPO
// moved into learner/ppo (tag session-start): the move kept the file
// format, so old runs still resume.
func TestLoadsFormatV1(t *testing.T) {
	ck, err := LoadCheckpoint(filepath.Join("testdata", "format-v1.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	upd, norm, err := ck.Restore()
	if err != nil {
		t.Fatal(err)
	}
	st := upd.State()
	// FNV-1a of the little-endian bits, as the writer computed it.
	hash := func(xs ...[]float64) uint64 {
		h := fnv.New64a()
		for _, x := range xs {
			for _, v := range x {
				h.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)))
			}
		}
		return h.Sum64()
	}
	if got := hash(st.Params); got != 0x1190c1b5330e4b33 {
		t.Errorf("parameters hash %#x, want the writer's 0x1190c1b5330e4b33", got)
	}
	if got := hash(st.Adam.M, st.Adam.V); got != 0x2c5fe41ba6178714 {
		t.Errorf("adam hash %#x, want the writer's 0x2c5fe41ba6178714", got)
	}
	if ck.Version != 2 || ck.EnvSteps != 64 || ck.Meta["run"] != "golden" || norm.Count() < 64 || st.Config != ppo.DefaultConfig() {
		t.Errorf("version %d, env steps %d, meta %v, normaliser count %v, config %+v", ck.Version, ck.EnvSteps, ck.Meta, norm.Count(), st.Config)
	}
}

func TestLoadCheckpointErrors(t *testing.T) {
	good, err := EncodeCheckpoint(newTestCheckpoint(t))
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

func TestLatestCheckpointAndDirStore(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LatestCheckpoint(dir); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("empty dir: got %v, want ErrNoCheckpoint", err)
	}
	ck := newTestCheckpoint(t)
	for v := uint64(1); v <= 3; v++ {
		ck.Version = v
		if err := SaveCheckpoint(filepath.Join(dir, CheckpointName(v)), ck); err != nil {
			t.Fatal(err)
		}
	}
	// A newer but corrupt file is skipped; a temp leftover, a file set
	// aside and a directory are not listed.
	if err := os.WriteFile(filepath.Join(dir, CheckpointName(4)), []byte("PODMDCKP garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"." + CheckpointName(5) + ".tmp-1", CheckpointName(6) + corruptSuffix} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, CheckpointName(7)), 0o755); err != nil {
		t.Fatal(err)
	}
	path, got, err := LatestCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 3 || filepath.Base(path) != CheckpointName(3) {
		t.Fatalf("latest = %s version %d, want version 3", path, got.Version)
	}
	store := DirStore{Dir: dir}
	names, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{CheckpointName(1), CheckpointName(2), CheckpointName(3), CheckpointName(4)}
	if !slices.Equal(names, want) {
		t.Fatalf("listed %v, want %v", names, want)
	}
	to, err := store.SetAside(CheckpointName(4), corruptSuffix)
	if err != nil || to != filepath.Join(dir, CheckpointName(4)+corruptSuffix) {
		t.Fatalf("set aside to %s, %v", to, err)
	}
	if names, _ = store.List(); len(names) != 3 {
		t.Fatalf("after setting one aside: %v", names)
	}
	if err := store.WriteSnapshot([]byte("x")); err != nil {
		t.Fatalf("a store without a snapshot path: %v", err)
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	good, err := EncodeCheckpoint(newTestCheckpoint(f))
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
		if _, _, err := ck.Restore(); err != nil {
			t.Fatalf("decoded checkpoint does not restore: %v", err)
		}
	})
}
