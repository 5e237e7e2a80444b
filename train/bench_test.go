package train_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"podmedic/envsim"
	"podmedic/learner/ppo"
	"podmedic/train"
)

// BenchmarkEndToEnd trains the cluster simulation through train.Run (an
// embedded NATS server, the learner and the actors over loopback) with
// Stable-Baselines3's default PPO settings (2x64 networks, 2048 samples
// per update, 10 epochs, minibatch 64), synchronous like SB3 (collect,
// then update), from 1 actor x 16 envs or 2 actors x 8 envs of 128 steps,
// and reports env steps per second of wall time.
func BenchmarkEndToEnd(b *testing.B) {
	for _, actors := range []int{1, 2} {
		b.Run(fmt.Sprintf("actors=%d", actors), func(b *testing.B) {
			var steps int64
			var seconds float64
			for i := 0; i < b.N; i++ {
				res := runEndToEnd(b, actors, 20)
				steps += res.EnvSteps
				seconds += res.Elapsed.Seconds()
			}
			b.ReportMetric(float64(steps)/seconds, "steps/s")
		})
	}
}

func runEndToEnd(b *testing.B, actors, updates int) *train.Result {
	b.Helper()
	ecfg := testEnvConfig(b)
	cfg := train.DefaultConfig()
	cfg.Learner.Run = testRun
	cfg.Learner.PPO = ppo.DefaultConfig() // SB3's: 10 epochs of minibatch 64
	cfg.Actors, cfg.EnvsPerActor, cfg.Horizon = actors, 16/actors, 128
	cfg.Learner.TotalSteps = int64(updates) * cfg.StepsPerUpdate()
	res, err := train.Run(context.Background(), cfg, func(int) (envsim.Env, error) { return envsim.New(ecfg) }, train.Callbacks{})
	if err != nil {
		b.Fatal(err)
	}
	if res.Updates != int64(updates) {
		b.Fatalf("%d updates, want %d", res.Updates, updates)
	}
	return res
}

// BenchmarkEndToEndTuned trains the cluster simulation with rl-zoo's tuned
// CartPole settings (REFERENCE.md): 1 actor x 8 envs x 32 steps, minibatch
// 256, 20 epochs, gamma 0.98, lambda 0.8, lr 1e-3, no entropy bonus; 60
// updates, where the learner does most of the work. Wall time runs from
// Open (embedded server start) to Done.
func BenchmarkEndToEndTuned(b *testing.B) {
	var steps int64
	var wall time.Duration
	ecfg := testEnvConfig(b)
	for i := 0; i < b.N; i++ {
		cfg := train.DefaultConfig()
		cfg.Learner.Run = testRun
		p := &cfg.Learner.PPO
		p.Epochs, p.MinibatchSize, p.Gamma, p.GAELambda, p.LearningRate, p.EntCoef = 20, 256, 0.98, 0.8, 1e-3, 0
		cfg.Actors, cfg.EnvsPerActor, cfg.Horizon = 1, 8, 32
		cfg.Learner.TotalSteps = 60 * cfg.StepsPerUpdate()
		t, err := train.New(cfg, func(int) (envsim.Env, error) { return envsim.New(ecfg) }, train.Callbacks{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := t.Open(context.Background()); err != nil {
			b.Fatal(err)
		}
		select {
		case <-t.Done():
		case <-time.After(5 * time.Minute):
			b.Fatal("run did not finish in 5 minutes")
		}
		wall += time.Since(start)
		res, err := t.Close(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		steps += res.EnvSteps
	}
	b.ReportMetric(float64(steps)/wall.Seconds(), "steps/s")
}
