package eval

import (
	"testing"

	"podmedic/envsim"
)

// TestEvalSeedsDisjointFromTraining checks that no evaluation seed of the
// default suite equals one of the first 100k training episode seeds of
// seeds 1..10 (64 envs each), and that eval seeds do not repeat.
func TestEvalSeedsDisjointFromTraining(t *testing.T) {
	eval := make(map[uint64]string)
	for fam := uint64(1); fam <= 3; fam++ {
		for _, sc := range envsim.ScenarioNames() {
			for i := range 200 {
				s := EvalSeed(fam, sc, i)
				if prev, dup := eval[s]; dup {
					t.Fatalf("eval seed %d repeats (%s and %s/%d)", s, prev, sc, i)
				}
				eval[s] = sc
			}
		}
	}
	// The first 100k training seeds of each seed: 64 envs x 1563 episodes.
	n := 0
	for seed := uint64(1); seed <= 10; seed++ {
		for k := range 64 {
			for e := range uint64(1563) {
				n++
				if sc, hit := eval[envsim.EpisodeSeed(seed, k, e)]; hit {
					t.Fatalf("training seed (%d, env %d, episode %d) collides with an eval seed of %s", seed, k, e, sc)
				}
			}
		}
	}
	if n < 1_000_000 {
		t.Fatalf("checked %d training seeds, want 1M", n)
	}
}

func TestEvalSeedDeterministic(t *testing.T) {
	if EvalSeed(1, "pod-kill", 3) != EvalSeed(1, "pod-kill", 3) {
		t.Fatal("EvalSeed is not deterministic")
	}
	tests := []struct {
		name string
		a, b uint64
	}{
		{"episode", EvalSeed(1, "pod-kill", 0), EvalSeed(1, "pod-kill", 1)},
		{"scenario", EvalSeed(1, "pod-kill", 0), EvalSeed(1, "crashloop", 0)},
		{"family", EvalSeed(1, "pod-kill", 0), EvalSeed(2, "pod-kill", 0)},
	}
	for _, tc := range tests {
		if tc.a == tc.b {
			t.Errorf("%s: seeds equal (%d)", tc.name, tc.a)
		}
	}
}
