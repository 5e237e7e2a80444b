package envsim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// runEpisode plays actions (cycled) for up to n steps and returns the
// observations and rewards.
func runEpisode(t testing.TB, cfg Config, seed uint64, actions []int, n int) ([]float32, []float64) {
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float32, c.ObservationSize())
	c.Reset(seed, obs)
	all := append([]float32(nil), obs...)
	var rewards []float64
	for i := range n {
		r, term, trunc := c.Step(actions[i%len(actions)], obs)
		all = append(all, obs...)
		rewards = append(rewards, r)
		if term || trunc {
			break
		}
	}
	return all, rewards
}

func TestDeterminism(t *testing.T) {
	cfg := DefaultConfig()
	sc, _ := ScenarioByName(MixedScenarioName)
	cfg.Scenario = sc
	actions := []int{0, 2, 0, 1, 4, 0, 3, 5, 0, 0, 8}
	for seed := uint64(0); seed < 5; seed++ {
		o1, r1 := runEpisode(t, cfg, seed, actions, 200)
		o2, r2 := runEpisode(t, cfg, seed, actions, 200)
		if !slices.Equal(o1, o2) || !slices.Equal(r1, r2) {
			t.Fatalf("seed %d: two runs differ", seed)
		}
	}
	o1, _ := runEpisode(t, cfg, 1, actions, 200)
	o2, _ := runEpisode(t, cfg, 2, actions, 200)
	if slices.Equal(o1, o2) {
		t.Fatal("seeds 1 and 2 gave the same trajectory")
	}
}

func TestResetRestoresState(t *testing.T) {
	cfg := DefaultConfig()
	sc, _ := ScenarioByName("pod-kill")
	cfg.Scenario = sc
	c, _ := New(cfg)
	a := make([]float32, c.ObservationSize())
	b := make([]float32, c.ObservationSize())
	c.Reset(9, a)
	for range 150 {
		c.Step(ActionScaleUp, b)
	}
	c.Reset(9, b)
	if !slices.Equal(a, b) {
		t.Fatal("Reset with the same seed after an episode gave a different first observation")
	}
}

func TestMixedSamplesScenarios(t *testing.T) {
	cfg := DefaultConfig()
	sc, _ := ScenarioByName(MixedScenarioName)
	cfg.Scenario = sc
	c, _ := New(cfg)
	obs := make([]float32, c.ObservationSize())
	seen := map[string]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		c.Reset(seed, obs)
		seen[c.Info().Scenario] = true
	}
	if len(seen) != len(sc.Mix) {
		t.Fatalf("mixed sampled %d of %d scenarios", len(seen), len(sc.Mix))
	}
}

func checkObs(t testing.TB, obs []float32) {
	for i, v := range obs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 || v > 1 {
			t.Fatalf("observation[%d] = %v, outside [0, 1]", i, v)
		}
	}
}

func TestObservationSpec(t *testing.T) {
	tests := []struct {
		name    string
		mode    ActionMode
		history int
		size    int
		actions int
	}{
		{"aggregate default", ActionModeAggregate, 1, 2 * NumBaseFeatures, 7 + 10},
		{"aggregate no history", ActionModeAggregate, 0, NumBaseFeatures, 7 + 10},
		{"per-pod", ActionModePerPod, 2, 3*NumBaseFeatures + 10*NumPodFeatures, 7 + 10 + 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ActionMode, cfg.HistorySteps = tt.mode, tt.history
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			spec := c.ObservationSpec()
			if spec.Size != tt.size || len(spec.Names) != tt.size || c.ObservationSize() != tt.size {
				t.Fatalf("size %d names %d, want %d", spec.Size, len(spec.Names), tt.size)
			}
			if c.NumActions() != tt.actions || len(c.ActionSpec().Names) != tt.actions {
				t.Fatalf("actions %d, want %d", c.NumActions(), tt.actions)
			}
			if spec.Index("cpu_avg") != ObsCPUAvg || spec.Index("restarts") != ObsRestarts || spec.Index("nope") != -1 {
				t.Fatal("feature index lookup disagrees with the constants")
			}
			for a := range c.NumActions() {
				kind, arg, ok := c.ActionSpec().Decode(a)
				if !ok {
					t.Fatalf("action %d does not decode", a)
				}
				if kind == KindScaleTo && c.ActionSpec().ScaleTo(arg) != a {
					t.Fatalf("scale-to %d round trip", arg)
				}
				if (kind == KindRestart || kind == KindDrain || kind == KindUndrain) && arg >= 0 && c.ActionSpec().PodAction(kind, arg) != a {
					t.Fatalf("per-pod action %d round trip", a)
				}
			}
		})
	}
}

func TestHistoryShiftsPreviousObservation(t *testing.T) {
	c, obs := newTestCluster(t, 3, 150)
	prev := append([]float32(nil), obs[:NumBaseFeatures]...)
	c.Step(ActionScaleUp, obs)
	if !slices.Equal(obs[NumBaseFeatures:2*NumBaseFeatures], prev) {
		t.Fatal("history slot t-1 does not hold the previous base features")
	}
}

func TestPerPodActionsTargetTheirSlot(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ActionMode = ActionModePerPod
	cfg.Pods.InitialReplicas = 3
	cfg.Scenario = quietScenario(150)
	c, _ := New(cfg)
	obs := make([]float32, c.ObservationSize())
	c.Reset(1, obs)
	spec := c.ActionSpec()
	victim := c.viewSlot(0)
	c.Step(spec.PodAction(KindRestart, 0), obs)
	if c.pods[victim].phase != phaseTerminating || !c.Info().Needless || c.Info().TargetPod != victim {
		t.Fatal("restart of healthy pod 0 not applied or not flagged needless")
	}
	if got := obs[NumBaseFeatures+0*NumPodFeatures+PodFeatStarting]; got != 1 {
		t.Fatalf("slot 0 after the restart: starting = %v, want its replacement starting", got)
	}
	c.Step(spec.PodAction(KindDrain, 2), obs)
	if c.Info().TargetPod != c.viewSlot(2) || !c.pods[c.viewSlot(2)].drained {
		t.Fatalf("drain pod 2 hit %d", c.Info().TargetPod)
	}
	if got := obs[NumBaseFeatures+2*NumPodFeatures+PodFeatDrained]; got != 1 {
		t.Fatalf("pod2.drained = %v, want 1", got)
	}
	c.Step(spec.PodAction(KindRestart, 7), obs)
	if c.Info().Invalid != InvalidNothingToRestart {
		t.Fatalf("restart of an empty slot: %v", c.Info().Invalid)
	}
}

// FuzzObservationBounds drives every scenario with arbitrary action
// sequences: every observation value stays finite and in [0, 1], and
// rewards stay finite and bounded.
func FuzzObservationBounds(f *testing.F) {
	f.Add(uint64(1), uint8(0), []byte{0, 1, 2, 3, 4, 5})
	f.Add(uint64(7), uint8(12), []byte{3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1})
	f.Add(uint64(3), uint8(200), []byte{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4, 4, 4, 4})
	names := ScenarioNames()
	f.Fuzz(func(t *testing.T, seed uint64, which uint8, actions []byte) {
		cfg := DefaultConfig()
		cfg.Scenario, _ = ScenarioByName(names[int(which)%len(names)])
		if which&1 == 1 {
			cfg.ActionMode = ActionModePerPod
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		obs := make([]float32, c.ObservationSize())
		c.Reset(seed, obs)
		checkObs(t, obs)
		if len(actions) == 0 {
			actions = []byte{0}
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		for i := range 250 {
			a := int(actions[i%len(actions)]) - 10 // includes invalid indices
			if i >= len(actions) {
				a = rng.IntN(c.NumActions())
			}
			r, term, trunc := c.Step(a, obs)
			checkObs(t, obs)
			bound := 10.0
			if term { // the outage charge for the rest of the episode
				bound += 2 * float64(cfg.EpisodeSteps)
			}
			if math.IsNaN(r) || math.Abs(r) > bound {
				t.Fatalf("reward %v", r)
			}
			if term || trunc {
				c.Reset(seed+uint64(i), obs)
			}
		}
	})
}
