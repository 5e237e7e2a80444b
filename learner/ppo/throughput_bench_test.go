package ppo

import (
	"fmt"
	"testing"

	"podmedic/internal/workpool"
	"podmedic/policy"
)

// BenchmarkPPOThroughput measures full updates at make run's shape (obs
// 52, 17 actions, 2x64 tanh nets, a batch of 2 rollouts of 8 envs x 64
// steps, 4 epochs) with minibatches of 64 and 256, on a pool of
// GOMAXPROCS workers as the learner runs them (-cpu 1 for one core).
func BenchmarkPPOThroughput(b *testing.B) {
	for _, mb := range []int{64, 256} {
		b.Run(fmt.Sprintf("mb=%d", mb), func(b *testing.B) {
			pool := workpool.New(0)
			defer pool.Close()
			rng := testRNG(42)
			net, _ := policy.New(policy.DefaultArch(52, 17), rng)
			cfg := DefaultConfig()
			cfg.Epochs, cfg.MinibatchSize = 4, mb
			p, err := New(net, cfg, 1<<30, rng)
			if err != nil {
				b.Fatal(err)
			}
			p.SetExecutor(pool)
			segs := []Segment{randomSegment(b, net, 8, 64, 0.1, rng), randomSegment(b, net, 8, 64, 0.1, rng)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if sinkUpdate, err = p.Update(segs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*1024*cfg.Epochs)/b.Elapsed().Seconds(), "sample-epochs/s")
		})
	}
}
