package ppo

import (
	"math"
	"testing"

	"podmedic/policy"
)

func TestPPOSetProgressDrivesAnnealing(t *testing.T) {
	rng := testRNG(5)
	net, err := policy.New(policy.DefaultArch(3, 2), rng)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Epochs = 1
	p, err := New(net, cfg, 10, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ progress, want float64 }{
		{0.3, 0.7}, {0.3, 0.7}, {0.95, 0.1}, {2, 0.1}, {-1, 0.6},
	} {
		p.SetProgress(c.progress)
		st, err := p.Update([]Segment{randomSegment(t, net, 2, 8, 0, rng)})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(st.LearningRate-3e-4*c.want) > 1e-15 {
			t.Fatalf("progress %v: lr %g, want fraction %v", c.progress, st.LearningRate, c.want)
		}
	}
}
