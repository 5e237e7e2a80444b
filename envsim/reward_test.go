package envsim

import (
	"math"
	"testing"
)

func sumComponents(in *StepInfo) float64 {
	s := 0.0
	for _, v := range in.Components {
		s += v
	}
	return s
}

func shaping(in *StepInfo) float64 {
	return in.Components[RewardRecovered] + in.Components[RewardImproved] + in.Components[RewardDegraded]
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
		{name: "every replica above the need is charged", setup: func(c *Cluster) { c.scaleDeployment(10) }, act: ActionNoop, check: func(t *testing.T, in *StepInfo) {
			// 150 req/s needs ceil(150/60) = 3: 7 surplus, no free spare.
			if got := in.Components[RewardOverScaled]; math.Abs(got+7*w.OverScaled) > 1e-12 {
				t.Fatalf("over_scaled %v, want %v", got, -7*w.OverScaled)
			}
		}},
		{name: "crash costs health, opens an incident", setup: func(c *Cluster) {
			c.pods[0].backoff, c.pods[1].backoff = 300, 300
			c.crash(0, crashKilled)
			c.crash(1, crashKilled)
		}, act: ActionNoop, check: func(t *testing.T, in *StepInfo) {
			if in.Components[RewardDegraded] >= 0 || in.Components[RewardRecovered] != -w.Recovered {
				t.Fatalf("degraded %v recovered %v, want both negative", in.Components[RewardDegraded], in.Components[RewardRecovered])
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

// TestShapingNetsNothingOverACycle: from a healthy state through a crash
// and back to a healthy state, the event terms (recovered, improved,
// degraded) sum to zero, however often the incident opens and closes.
func TestShapingNetsNothingOverACycle(t *testing.T) {
	for _, gamma := range []float64{1, 0.99} {
		cfg := DefaultConfig()
		cfg.Reward.ShapingGamma = gamma
		cfg.Pods.InitialReplicas = 4
		cfg.Scenario = quietScenario(200, Fault{Kind: FaultPodCrash, Start: 5, Rate: 0.2, MaxOccurrences: 6, Pods: 2})
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		obs := make([]float32, c.ObservationSize())
		c.Reset(9, obs)
		sum, cycles := 0.0, 0
		for range cfg.EpisodeSteps {
			_, term, trunc := c.Step(ActionNoop, obs)
			in := c.Info()
			sum += shaping(in)
			if in.HasEvent(EventRecovered) {
				cycles++
			}
			if term || trunc {
				break
			}
		}
		in := c.Info()
		if cycles < 2 || in.IncidentOpen || !in.AllHealthy {
			t.Fatalf("gamma %v: %d recoveries, open %v, all healthy %v: the episode must end healthy after cycles", gamma, cycles, in.IncidentOpen, in.AllHealthy)
		}
		switch {
		case gamma == 1 && math.Abs(sum) > 1e-9:
			t.Fatalf("gamma 1: shaping over %d crash-and-recover cycles sums to %v, want 0", cycles, sum)
		case gamma < 1 && (sum > 0 || sum < -0.02*float64(cfg.EpisodeSteps)*(1+cfg.Reward.HealthyShare)):
			t.Fatalf("gamma %v: shaping sums to %v, want a small non-positive total", gamma, sum)
		}
	}
}

// TestEndingEarlyCostsAtLeastAnOutage: scaling to one replica ends the
// episode with every pod down; the return must be no better than an
// outage to the end of the episode.
func TestEndingEarlyCostsAtLeastAnOutage(t *testing.T) {
	c, obs := newTestCluster(t, 5, 300)
	c.Step(c.ActionSpec().ScaleTo(1), obs)
	ret := c.Info().Reward
	for range c.cfg.EpisodeSteps {
		r, term, trunc := c.Step(ActionNoop, obs)
		ret += r
		if trunc {
			t.Fatal("one pod at 300 req/s survived the whole episode")
		}
		if term {
			break
		}
	}
	w := c.cfg.Reward
	outage := -float64(c.cfg.EpisodeSteps) * (w.Latency + w.Errors + w.AllDown)
	if ret > outage+5 {
		t.Fatalf("return %.1f when ending early, an outage costs %.1f", ret, outage)
	}
}

func TestRewardWeightsScale(t *testing.T) {
	c, obs := newTestCluster(t, 3, 150)
	c.cfg.Reward.SLOMet = 0.7
	c.Step(ActionNoop, obs)
	if got := c.Info().Components[RewardSLOMet]; got != 0.7 {
		t.Fatalf("slo_met %v, want the configured 0.7", got)
	}
}
