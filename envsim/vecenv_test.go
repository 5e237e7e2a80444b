package envsim

import (
	"slices"
	"testing"
)

func TestVecEnvAutoResetKeepsFinalObservation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.EpisodeSteps = 5
	cfg.Scenario = quietScenario(200)
	envs := make([]Env, 3)
	refs := make([]*Cluster, 3)
	for i := range envs {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		envs[i], refs[i] = c, c
	}
	v := NewVecEnv(envs, 42)
	v.Reset()
	d := v.ObservationSize()
	if v.NumEnvs() != 3 || d != cfg.HistorySteps*NumBaseFeatures+NumBaseFeatures || v.NumActions() != ActionScaleToBase+cfg.Pods.MaxReplicas {
		t.Fatalf("shape %d %d %d", v.NumEnvs(), d, v.NumActions())
	}
	// Reference: env 1 stepped by hand with the same episode seeds.
	ref, _ := New(cfg)
	refObs := make([]float32, d)
	ref.Reset(EpisodeSeed(42, 1, 0), refObs)
	if !slices.Equal(v.Obs[d:2*d], refObs) {
		t.Fatal("reset observation of env 1 differs from a hand-seeded env")
	}
	afterCalls := 0
	v.AfterStep = func(k int, e Env) {
		afterCalls++
		if e != envs[k] {
			t.Fatalf("AfterStep got env %v for %d", e, k)
		}
	}
	actions := []int{0, 2, 0}
	for step := 1; step <= 5; step++ {
		v.Step(actions)
		ref.Step(actions[1], refObs)
		if step < 5 {
			if v.Truncated[1] || !slices.Equal(v.Obs[d:2*d], refObs) {
				t.Fatalf("step %d: env 1 diverged from reference", step)
			}
			continue
		}
		if !v.Truncated[1] || v.Terminated[1] {
			t.Fatalf("step 5: truncated %v terminated %v", v.Truncated[1], v.Terminated[1])
		}
		if !slices.Equal(v.FinalObs[d:2*d], refObs) {
			t.Fatal("FinalObs does not hold the final observation")
		}
		ref.Reset(EpisodeSeed(42, 1, 1), refObs)
		if !slices.Equal(v.Obs[d:2*d], refObs) {
			t.Fatal("Obs does not hold the next episode's first observation")
		}
	}
	if afterCalls != 15 {
		t.Fatalf("AfterStep called %d times, want 15", afterCalls)
	}
	if EpisodeSeed(42, 0, 0) == EpisodeSeed(42, 1, 0) || EpisodeSeed(42, 0, 0) == EpisodeSeed(42, 0, 1) {
		t.Fatal("episode seeds collide")
	}
}

func TestVecEnvStepAllocatesNothing(t *testing.T) {
	envs := make([]Env, 4)
	for i := range envs {
		c, err := New(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		envs[i] = c
	}
	v := NewVecEnv(envs, 1)
	v.Reset()
	actions := make([]int, 4)
	if n := testing.AllocsPerRun(500, func() { v.Step(actions) }); n != 0 {
		t.Fatalf("VecEnv.Step allocates %v times", n)
	}
}
