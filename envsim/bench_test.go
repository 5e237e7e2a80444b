package envsim

import "testing"

// sinkReward keeps benchmark results alive.
var sinkReward float64

func benchCluster(b *testing.B, scenario string) *Cluster {
	b.Helper()
	cfg := DefaultConfig()
	sc, err := ScenarioByName(scenario)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Scenario = sc
	cfg.Pods.InitialReplicas = 10
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkStep steps one env with 10 pods; episodes auto-reset.
func BenchmarkStep(b *testing.B) {
	for _, sc := range []string{"no-fault", MixedScenarioName} {
		b.Run(sc, func(b *testing.B) {
			c := benchCluster(b, sc)
			obs := make([]float32, c.ObservationSize())
			c.Reset(1, obs)
			seed := uint64(1)
			b.ReportAllocs()
			for b.Loop() {
				r, term, trunc := c.Step(ActionNoop, obs)
				sinkReward += r
				if term || trunc {
					seed++
					c.Reset(seed, obs)
				}
			}
		})
	}
}

// BenchmarkVecEnvStep steps 8 envs of the mixed scenario; ns/env-step is
// the figure to compare with the 1 µs target.
func BenchmarkVecEnvStep(b *testing.B) {
	const k = 8
	envs := make([]Env, k)
	for i := range envs {
		envs[i] = benchCluster(b, MixedScenarioName)
	}
	v := NewVecEnv(envs, 7)
	v.Reset()
	actions := make([]int, k)
	b.ReportAllocs()
	for b.Loop() {
		v.Step(actions)
		sinkReward += v.Rewards[0]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/env-step")
}
