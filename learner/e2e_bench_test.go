package learner_test

import (
	"fmt"
	"testing"
	"time"

	"podmedic/learner"
)

// BenchmarkEndToEnd trains over a real embedded NATS server with
// Stable-Baselines3's default PPO settings (2x64 networks, 2048 samples
// per update, 10 epochs, minibatch 64), synchronous like SB3 (collect,
// then update), from 1 actor x 16 envs or 2 actors x 8 envs of 128 steps,
// and reports env steps per second of wall time.
func BenchmarkEndToEnd(b *testing.B) {
	for _, actors := range []int{1, 2} {
		b.Run(fmt.Sprintf("actors=%d", actors), func(b *testing.B) {
			var steps int64
			var wall time.Duration
			for i := 0; i < b.N; i++ {
				s, w := runEndToEnd(b, actors, 20)
				steps += s
				wall += w
			}
			b.ReportMetric(float64(steps)/wall.Seconds(), "steps/s")
		})
	}
}

func runEndToEnd(b *testing.B, actors, updates int) (int64, time.Duration) {
	b.Helper()
	port := freePort(b)
	ns := startNATS(b, port)
	defer stopNATS(ns)
	ecfg := testEnvConfig(b)
	cfg := learner.DefaultServiceConfig()
	cfg.Run, cfg.Mode, cfg.MinActors = testRun, learner.ModeSync, actors
	cfg.PPO = learner.DefaultPPOConfig() // SB3's: 10 epochs of minibatch 64
	cfg.StepsPerUpdate = 2048
	cfg.TotalSteps = int64(updates) * cfg.StepsPerUpdate
	l := startLearner(b, natsURL(port), cfg, testSpec(b, ecfg))
	start := time.Now()
	for i := 0; i < actors; i++ {
		startActorSized(b, natsURL(port), fmt.Sprintf("actor-%d", i), learner.ModeSync, uint64(i+1), ecfg, 16/actors, 128)
	}
	select {
	case <-l.svc.Done():
	case <-time.After(5 * time.Minute):
		b.Fatal("end-to-end run did not finish in 5 minutes")
	}
	return l.svc.Status().EnvSteps, time.Since(start)
}
