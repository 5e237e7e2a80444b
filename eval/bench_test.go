package eval

import (
	"math/rand/v2"
	"testing"

	"podmedic/envsim"
)

var (
	sinkEpisode  Episode
	sinkInterval Interval
)

// BenchmarkPlay measures one 200-step evaluation episode of pod-kill per
// policy (reported per env step too).
func BenchmarkPlay(b *testing.B) {
	envCfg := envsim.DefaultConfig()
	cfg, err := ScenarioConfig(envCfg, "pod-kill")
	if err != nil {
		b.Fatal(err)
	}
	snap := testSnapshot(b, cfg)
	for _, name := range []string{PolicyTrained, "hpa"} {
		b.Run(name, func(b *testing.B) {
			r, err := newRunner(cfg)
			if err != nil {
				b.Fatal(err)
			}
			pol, err := newPolicy(name, snap, r.c.Spec(), 1)
			if err != nil {
				b.Fatal(err)
			}
			counts := newActionCounts(r.c.NumActions())
			steps := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				sinkEpisode = r.play(pol, EvalSeed(1, "pod-kill", i), counts, nil)
				steps += sinkEpisode.Steps
			}
			b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
		})
	}
}

// BenchmarkBootstrapMean measures a 2000-resample interval of 20 values,
// the report's default per cell.
func BenchmarkBootstrapMean(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 20)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		sinkInterval, _ = BootstrapMean(xs, 2000, 0.95, rng)
	}
}
