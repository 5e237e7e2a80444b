package classic

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPendulumRandomReturn: a uniformly random policy scores about -1200
// per 200-step episode (Gymnasium's Pendulum-v1 with random torques scores
// alike), the scale the train example is compared with.
func TestPendulumRandomReturn(t *testing.T) {
	p := NewPendulum()
	obs := make([]float32, p.ObservationSize())
	rng := rand.New(rand.NewPCG(1, 2))
	const episodes = 100
	total := 0.0
	for ep := 0; ep < episodes; ep++ {
		p.Reset(uint64(ep), obs)
		for step := 1; ; step++ {
			r, term, trunc := p.Step(rng.IntN(p.NumActions()), obs)
			if r > 0 || r < -16.3 {
				t.Fatalf("reward %v outside [-16.3, 0]", r)
			}
			total += r
			if term {
				t.Fatal("the pendulum never terminates")
			}
			if trunc {
				if step != 200 {
					t.Fatalf("truncated after %d steps, want 200", step)
				}
				break
			}
		}
	}
	mean := total / episodes
	t.Logf("random policy: mean return %.1f over %d episodes", mean, episodes)
	if mean > -1000 || mean < -1500 {
		t.Fatalf("random policy's mean return %.0f, want about -1200", mean)
	}
}

func TestPendulumPhysics(t *testing.T) {
	p := NewPendulum()
	obs := make([]float32, 3)
	// Upright and still with no torque it stays put (an unstable
	// equilibrium: no force acts at exactly 0).
	p.theta, p.speed = 0, 0
	if r, _, _ := p.Step(2, obs); r != 0 || obs[0] != 1 || obs[1] != 0 || obs[2] != 0 {
		t.Fatalf("upright at rest: reward %v, observation %v", r, obs)
	}
	// Slightly off upright, gravity pulls it further away.
	p.theta, p.speed = 0.1, 0
	p.Step(2, obs)
	if p.speed <= 0 || p.theta <= 0.1 {
		t.Fatalf("gravity did not pull the pole down: angle %v speed %v", p.theta, p.speed)
	}
	// Full positive torque accelerates it positively by 3u/(ml^2)*dt more
	// than no torque does.
	p.theta, p.speed = math.Pi/2, 0
	p.Step(4, obs)
	withTorque := p.speed
	p.theta, p.speed = math.Pi/2, 0
	p.Step(2, obs)
	if d := withTorque - p.speed; math.Abs(d-3*2*0.05) > 1e-12 {
		t.Fatalf("torque +2 adds %v rad/s in one step, want 0.3", d)
	}
	// The speed is clipped.
	p.theta, p.speed = math.Pi/2, 7.9
	p.Step(4, obs)
	if p.speed != 8 || obs[2] != 8 {
		t.Fatalf("speed %v, want clipped to 8", p.speed)
	}
}

func TestPendulumIsSeeded(t *testing.T) {
	a, b := NewPendulum(), NewPendulum()
	oa, ob := make([]float32, 3), make([]float32, 3)
	a.Reset(42, oa)
	b.Reset(42, ob)
	for step := 0; step < 50; step++ {
		ra, _, _ := a.Step(step%5, oa)
		rb, _, _ := b.Step(step%5, ob)
		if ra != rb || oa[0] != ob[0] || oa[1] != ob[1] || oa[2] != ob[2] {
			t.Fatalf("step %d: two pendulums reset with one seed diverged", step)
		}
	}
	b.Reset(43, ob)
	a.Reset(42, oa)
	if oa[0] == ob[0] && oa[2] == ob[2] {
		t.Fatal("different seeds gave the same start")
	}
}

func TestAngleNormalize(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{0, 0}, {math.Pi / 2, math.Pi / 2}, {3 * math.Pi / 2, -math.Pi / 2}, {-3 * math.Pi / 2, math.Pi / 2}, {4 * math.Pi, 0},
	} {
		if got := angleNormalize(c.in); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("angleNormalize(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
