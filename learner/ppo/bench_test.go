package ppo

import (
	"testing"

	"podmedic/policy"
)

var sinkStats mbStats

// BenchmarkPPOMinibatch measures one gradient step (forward, loss,
// backward, clipping, Adam) at minibatch 64 for obs 20, 2x64 networks and
// 7 actions, on the calling goroutine; sample-epochs/s is 64 per step.
func BenchmarkPPOMinibatch(b *testing.B) {
	rng := testRNG(40)
	net, _ := policy.New(policy.DefaultArch(20, 7), rng)
	p, err := New(net, DefaultConfig(), 100, rng)
	if err != nil {
		b.Fatal(err)
	}
	seg := randomSegment(b, net, 8, 128, 0.1, rng)
	p.batch.load([]Segment{seg}, seg.Len(), 20, 0.99, 0.95)
	idx := make([]int, 64)
	for i := range idx {
		idx[i] = i * 13 % seg.Len()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkStats = p.gradient(idx, 0.2)
		p.step(sinkStats.gradNorm, 1e-6)
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "sample-epochs/s")
}

var sinkUpdate UpdateStats

// BenchmarkPPOUpdate measures a full update (GAE, 10 epochs of shuffled
// minibatches of 64) on a batch of 8 envs x 128 steps.
func BenchmarkPPOUpdate(b *testing.B) {
	rng := testRNG(41)
	net, _ := policy.New(policy.DefaultArch(20, 7), rng)
	p, err := New(net, DefaultConfig(), 1<<30, rng)
	if err != nil {
		b.Fatal(err)
	}
	segs := []Segment{randomSegment(b, net, 8, 128, 0.1, rng)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkUpdate, err = p.Update(segs)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*segs[0].Len()*10)/b.Elapsed().Seconds(), "sample-epochs/s")
}
