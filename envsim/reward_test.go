package envsim

import (
	"math"
	"testing"
)

func nan() float64 { return math.NaN() }

func sumComponents(in *StepInfo) float64 {
	s := 0.0
	for _, v := range in.Components {
		s += v
	}
	return s
}

func TestRewardComponents(t *testing.T) {
	w := DefaultRewardConfig()
	tests := []struct {
		name  string
		setup func(c *Cluster)
		act   int
		check func(t *testing.T, in *StepInfo)
	}{
		{name: "healthy idle step earns slo_met only", act: ActionNoop, check: func(t *testing.T, in *StepInfo) {
			if in.Components[RewardSLOMet] != w.SLOMet || math.Abs(in.Reward-w.SLOMet) > 1e-3 {
				t.Fatalf("components %v reward %v", in.Components, in.Reward)
			}
		}},
		{name: "needless scale-up costs an action", act: ActionScaleUp, check: func(t *testing.T, in *StepInfo) {
			if in.Components[RewardAction] != -w.Action || !in.Needless {
				t.Fatalf("action component %v needless %v", in.Components[RewardAction], in.Needless)
			}
		}},
		{name: "over-scaled", setup: func(c *Cluster) { c.scaleTo(10) }, act: ActionNoop, check: func(t *testing.T, in *StepInfo) {
			// 150 req/s needs ceil(150/60)=3, +1 spare: 6 surplus.
			if got := in.Components[RewardOverScaled]; math.Abs(got+6*w.OverScaled) > 1e-12 {
				t.Fatalf("over_scaled %v, want %v", got, -6*w.OverScaled)
			}
		}},
		{name: "crash costs degraded and errors", setup: func(c *Cluster) {
			c.pods[0].backoff = 300
			c.crash(0, crashKilled)
			c.crash(1, crashKilled)
		}, act: ActionNoop, check: func(t *testing.T, in *StepInfo) {
			if in.Components[RewardDegraded] >= 0 {
				t.Fatalf("degraded %v, want < 0", in.Components[RewardDegraded])
			}
			if in.Components[RewardSLOMet] != 0 || in.SLOMet {
				t.Fatal("SLO met with one pod of three at 1.5x load")
			}
			if in.Components[RewardLatency] >= 0 || in.Components[RewardErrors] >= 0 {
				t.Fatalf("latency %v errors %v, want penalties", in.Components[RewardLatency], in.Components[RewardErrors])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, obs := newTestCluster(t, 3, 150)
			if tt.setup != nil {
				tt.setup(c)
			}
			r, _, _ := c.Step(tt.act, obs)
			in := c.Info()
			if math.Abs(r-sumComponents(in)) > 1e-12 || r != in.Reward {
				t.Fatalf("reward %v != sum of components %v", r, sumComponents(in))
			}
			tt.check(t, in)
		})
	}
}

func TestRecoveryBonusOncePerIncident(t *testing.T) {
	c, obs := newTestCluster(t, 4, 200)
	c.crash(0, crashKilled)
	bonuses, steps := 0, 0
	for range 30 {
		c.Step(ActionNoop, obs)
		steps++
		if c.Info().Components[RewardRecovered] > 0 {
			bonuses++
			if !c.Info().AllHealthy || !c.Info().SLOMet {
				t.Fatal("recovery bonus while not healthy")
			}
		}
	}
	if bonuses != 1 {
		t.Fatalf("recovery bonuses %d, want exactly 1", bonuses)
	}
	// Scaling up and down opens no incident: no bonus to farm.
	for k := range 20 {
		a := ActionScaleUp
		if k%2 == 1 {
			a = ActionScaleDown
		}
		c.Step(a, obs)
		if c.Info().Components[RewardRecovered] > 0 {
			t.Fatal("recovery bonus earned by scaling")
		}
	}
}

func TestRewardWeightsScale(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Scenario = quietScenario(150)
	cfg.Pods.InitialReplicas = 3
	cfg.Reward.SLOMet = 0.7
	c, _ := New(cfg)
	obs := make([]float32, c.ObservationSize())
	c.Reset(1, obs)
	if r, _, _ := c.Step(ActionNoop, obs); math.Abs(r-0.7) > 1e-3 {
		t.Fatalf("reward %v, want the configured 0.7", r)
	}
}
