package ppo

import (
	"math"
	"runtime"
	"testing"

	"podmedic/internal/workpool"
	"podmedic/policy"
)

// TestUpdateIndependentOfCores runs the same updates sequentially and on
// goroutine pools of 1, 2 and 3 workers under GOMAXPROCS 1 and 2: the
// parameters, optimiser state and diagnostics must be bitwise equal. With
// more shards than workers and the reverse, tasks land on different
// goroutines in every run.
func TestUpdateIndependentOfCores(t *testing.T) {
	type result struct{ params, adam, stats uint64 }
	run := func(procs int, exec func() (Executor, func())) result {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		rng := testRNG(90)
		net, err := policy.New(policy.DefaultArch(52, 17), rng)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Epochs, cfg.MinibatchSize, cfg.Shards = 3, 96, 3
		p, err := New(net, cfg, 10, rng)
		if err != nil {
			t.Fatal(err)
		}
		e, stop := exec()
		defer stop()
		p.SetExecutor(e)
		var stats []float64
		for u := 0; u < 3; u++ {
			st, err := p.Update([]Segment{randomSegment(t, net, 8, 40, 0, rng)})
			if err != nil {
				t.Fatal(err)
			}
			if st.FirstRatioDev != 0 {
				t.Fatalf("first ratio deviates by %g", st.FirstRatioDev)
			}
			stats = append(stats, st.PolicyLoss, st.ValueLoss, st.Entropy, st.ApproxKL, st.GradNorm, st.ClipFraction)
		}
		return result{hashFloats(net.Params()), hashFloats(p.adam.M, p.adam.V), hashFloats(stats)}
	}
	sequential := func() (Executor, func()) { return Sequential{}, func() {} }
	pool := func(workers int) func() (Executor, func()) {
		return func() (Executor, func()) { p := workpool.New(workers); return p, p.Close }
	}
	want := run(1, sequential)
	for _, c := range []struct {
		name  string
		procs int
		exec  func() (Executor, func())
	}{
		{"sequential, GOMAXPROCS 2", 2, sequential},
		{"pool of GOMAXPROCS=1", 1, pool(0)},
		{"pool of GOMAXPROCS=2", 2, pool(0)},
		{"pool of 3, GOMAXPROCS 2", 2, pool(3)},
	} {
		if got := run(c.procs, c.exec); got != want {
			t.Errorf("%s: hashes %+v, sequential %+v", c.name, got, want)
		}
	}
}

// TestShardsChangeOnlyRounding: the shard count changes the order of the
// gradient's sums, so parameters differ in the last bits, not more.
func TestShardsChangeOnlyRounding(t *testing.T) {
	params := func(shards int) []float64 {
		rng := testRNG(91)
		net, _ := policy.New(policy.DefaultArch(10, 5), rng)
		cfg := DefaultConfig()
		cfg.Shards = shards
		p, err := New(net, cfg, 10, rng)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Update([]Segment{randomSegment(t, net, 4, 32, 0.05, rng)}); err != nil {
			t.Fatal(err)
		}
		return net.Params()
	}
	a, b := params(1), params(7)
	diff := false
	for i := range a {
		if d := math.Abs(a[i] - b[i]); d > 1e-5*math.Max(1, math.Abs(a[i])) {
			t.Fatalf("param %d: %v with 1 shard, %v with 7", i, a[i], b[i])
		}
		diff = diff || a[i] != b[i]
	}
	if !diff {
		t.Fatal("1 and 7 shards gave identical parameters: are the shards used?")
	}
}

func TestUpdateDoesNotAllocate(t *testing.T) {
	rng := testRNG(92)
	net, _ := policy.New(policy.DefaultArch(52, 17), rng)
	cfg := DefaultConfig()
	cfg.Epochs, cfg.MinibatchSize = 2, 64
	p, _ := New(net, cfg, 1<<20, rng)
	pool := workpool.New(2)
	defer pool.Close()
	p.SetExecutor(pool)
	segs := []Segment{randomSegment(t, net, 8, 32, 0.05, rng)}
	if _, err := p.Update(segs); err != nil { // buffers grow on the first
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(5, func() {
		if _, err := p.Update(segs); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("Update allocates %v times per call", a)
	}
}
