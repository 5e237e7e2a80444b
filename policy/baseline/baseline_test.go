package baseline

import (
	"errors"
	"math/rand/v2"
	"testing"

	"podmedic/envsim"
	"podmedic/policy"
)

func newCluster(t testing.TB, scenario string, mode envsim.ActionMode) *envsim.Cluster {
	t.Helper()
	cfg := envsim.DefaultConfig()
	sc, err := envsim.ScenarioByName(scenario)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scenario, cfg.ActionMode = sc, mode
	c, err := envsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type result struct {
	ret        float64
	sloSteps   int
	steps      int
	terminated int
}

// play runs episodes seeds 0..n-1 of scenario with the named policy.
func play(t testing.TB, scenario, name string, n int) result {
	t.Helper()
	c := newCluster(t, scenario, envsim.ActionModeAggregate)
	p, err := New(name, c.Spec(), rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float32, c.ObservationSize())
	var res result
	for seed := range uint64(n) {
		c.Reset(seed, obs)
		p.Reset()
		for {
			r, term, trunc := c.Step(p.Act(obs), obs)
			res.ret += r
			res.steps++
			if c.Info().SLOMet {
				res.sloSteps++
			}
			if term {
				res.terminated++
			}
			if term || trunc {
				break
			}
		}
	}
	res.ret /= float64(n)
	return res
}

func TestBaselinesKeepNoFaultHealthy(t *testing.T) {
	for _, name := range []string{"hpa", "heuristic", "noop"} {
		t.Run(name, func(t *testing.T) {
			r := play(t, "no-fault", name, 5)
			if r.terminated > 0 || float64(r.sloSteps) < 0.97*float64(r.steps) {
				t.Fatalf("SLO met %d/%d steps, %d terminated", r.sloSteps, r.steps, r.terminated)
			}
		})
	}
	random := play(t, "no-fault", "random", 5)
	noop := play(t, "no-fault", "noop", 5)
	if random.ret >= noop.ret-10 {
		t.Fatalf("random return %.1f not clearly below no-op %.1f on no-fault", random.ret, noop.ret)
	}
}

func TestNoopLosesToActiveBaselinesOnFaults(t *testing.T) {
	for _, scenario := range []string{"pod-kill", "memory-leak-oom"} {
		t.Run(scenario, func(t *testing.T) {
			noop := play(t, scenario, "noop", 5)
			for _, name := range []string{"hpa", "heuristic"} {
				r := play(t, scenario, name, 5)
				if r.ret <= noop.ret+3 || r.sloSteps <= noop.sloSteps {
					t.Errorf("%s: return %.1f (SLO %d steps) vs noop %.1f (SLO %d)", name, r.ret, r.sloSteps, noop.ret, noop.sloSteps)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	c := newCluster(t, "no-fault", envsim.ActionModePerPod)
	for _, name := range Names() {
		p, err := New(name, c.Spec(), rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatalf("%s in per-pod mode: %v", name, err)
		}
		if p.Name() != name {
			t.Fatalf("Name() = %q, want %q", p.Name(), name)
		}
		var _ policy.Policy = p
	}
	if _, err := New("oracle", c.Spec(), nil); !errors.Is(err, ErrUnknownPolicy) {
		t.Fatalf("unknown name error %v, want ErrUnknownPolicy", err)
	}
	if _, err := New("random", c.Spec(), nil); err == nil {
		t.Fatal("random without rng accepted")
	}
	if _, err := NewHPA(envsim.Spec{}, DefaultHPAConfig()); err == nil {
		t.Fatal("HPA accepted an empty spec")
	}
}

// hpaObs builds an observation with the given counts and mean CPU.
func hpaObs(spec envsim.Spec, replicas, ready, crashed, starting int, cpu float64) []float32 {
	obs := make([]float32, spec.Observation.Size)
	m := float32(spec.Pods.MaxReplicas)
	obs[envsim.ObsReplicas] = float32(replicas) / m
	obs[envsim.ObsReady] = float32(ready) / m
	obs[envsim.ObsCrashed] = float32(crashed) / m
	obs[envsim.ObsStarting] = float32(starting) / m
	obs[envsim.ObsCPUAvg] = float32(cpu)
	return obs
}

func TestHPAAlgorithm(t *testing.T) {
	c := newCluster(t, "no-fault", envsim.ActionModeAggregate)
	spec := c.Spec()
	type step struct {
		replicas, ready, crashed, starting int
		cpu                                float64
		want                               int // replicas after the action
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"within tolerance", []step{{5, 5, 0, 0, 0.64, 5}}},
		{"scale up", []step{{4, 4, 0, 0, 0.9, 6}}},      // ceil(4*0.9/0.6)
		{"scale-up limit", []step{{2, 2, 0, 0, 1, 4}}},  // ceil(3.33)=4 = max(2+4, 4) allows 4
		{"limit x2 or +4", []step{{1, 1, 0, 0, 1, 2}}},  // ceil(1.67)=2
		{"clamped to max", []step{{8, 8, 0, 0, 1, 10}}}, // ceil(13.3) -> 10
		{"starting pods count 0%", []step{{5, 3, 0, 2, 0.8, 5}}},
		{"crashed pods count 0% on scale-up", []step{{5, 2, 3, 0, 1, 5}}},
		{"crashed pods count 100% on scale-down", []step{{5, 3, 2, 0, 0.2, 3}}}, // (3*20+2*60)/5=36% -> ceil(0.6*5)=3
		{"scale-down stabilisation", []step{
			{6, 6, 0, 0, 0.6, 6},
			{6, 6, 0, 0, 0.3, 6}, // wants 3, window holds 6
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHPA(spec, DefaultHPAConfig())
			if err != nil {
				t.Fatal(err)
			}
			h.Reset()
			for i, s := range tt.steps {
				a := h.Act(hpaObs(spec, s.replicas, s.ready, s.crashed, s.starting, s.cpu))
				got := s.replicas
				if kind, arg, _ := spec.Actions.Decode(a); kind == envsim.KindScaleTo {
					got = arg
				} else if a != envsim.ActionNoop {
					t.Fatalf("step %d: HPA chose action %s", i, spec.Actions.Names[a])
				}
				if got != s.want {
					t.Fatalf("step %d: replicas -> %d, want %d", i, got, s.want)
				}
			}
		})
	}
}

func TestHPAScalesDownAfterWindow(t *testing.T) {
	c := newCluster(t, "no-fault", envsim.ActionModeAggregate)
	spec := c.Spec()
	h, _ := NewHPA(spec, DefaultHPAConfig())
	h.Act(hpaObs(spec, 6, 6, 0, 0, 0.6))
	for i := range 20 { // 300 s = 20 steps of recommendations of 3
		if a := h.Act(hpaObs(spec, 6, 6, 0, 0, 0.3)); a != envsim.ActionNoop {
			t.Fatalf("scaled down after %d steps, inside the 300 s window", i+1)
		}
	}
	if a := h.Act(hpaObs(spec, 6, 6, 0, 0, 0.3)); a != spec.Actions.ScaleTo(3) {
		t.Fatalf("after the window: action %s, want scale_to_3", spec.Actions.Names[a])
	}
}

func TestHeuristicRules(t *testing.T) {
	c := newCluster(t, "no-fault", envsim.ActionModeAggregate)
	spec := c.Spec()
	h, _ := NewHeuristic(spec, DefaultHeuristicConfig())
	tests := []struct {
		name string
		set  func(o []float32)
		want int
	}{
		{"steady", func(o []float32) { o[envsim.ObsCPUAvg] = 0.6 }, envsim.ActionNoop},
		{"hot", func(o []float32) { o[envsim.ObsCPUAvg] = 0.8 }, envsim.ActionScaleUp},
		{"cold", func(o []float32) { o[envsim.ObsCPUAvg] = 0.2 }, envsim.ActionScaleDown},
		{"long back-off", func(o []float32) {
			o[envsim.ObsCPUAvg], o[envsim.ObsCrashed], o[envsim.ObsRestarts] = 0.6, 0.1, 3.0/envsim.RestartScale
		}, envsim.ActionRestart},
		{"short back-off waits", func(o []float32) {
			o[envsim.ObsCPUAvg], o[envsim.ObsCrashed], o[envsim.ObsRestarts] = 0.6, 0.1, 1.0/envsim.RestartScale
		}, envsim.ActionNoop},
		{"near OOM", func(o []float32) { o[envsim.ObsCPUAvg], o[envsim.ObsMemoryMax] = 0.6, 0.95 }, envsim.ActionRestart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := hpaObs(spec, 5, 5, 0, 0, 0)
			tt.set(o)
			if got := h.Act(o); got != tt.want {
				t.Fatalf("action %s, want %s", spec.Actions.Names[got], spec.Actions.Names[tt.want])
			}
		})
	}
}

func TestRunbookRules(t *testing.T) {
	c := newCluster(t, "no-fault", envsim.ActionModeAggregate)
	spec := c.Spec()
	// A steady fleet of 6 at 50% CPU: 5 needed at 60% plus one spare.
	steady := func(o []float32) {
		o[envsim.ObsCPUAvg], o[envsim.ObsSinceRollout], o[envsim.ObsUpdated] = 0.5, 1, 1
	}
	tests := []struct {
		name string
		set  func(o []float32)
		want int
	}{
		{"healthy and right-sized", steady, envsim.ActionNoop},
		{"bad recent rollout", func(o []float32) {
			steady(o)
			o[envsim.ObsSinceRollout], o[envsim.ObsErrorUpdated] = 0.1, 0.2
		}, envsim.ActionRollback},
		{"old rollout is not blamed", func(o []float32) {
			steady(o)
			o[envsim.ObsErrorUpdated], o[envsim.ObsErrorMax] = 0.2, 0.01
		}, envsim.ActionNoop},
		{"one killed container after a release is no evidence", func(o []float32) {
			steady(o)
			o[envsim.ObsSinceRollout], o[envsim.ObsCrashedUpdated], o[envsim.ObsCrashed] = 0.1, 0.1, 0.1
			o[envsim.ObsRestarts] = 1.0 / envsim.RestartScale
		}, envsim.ActionNoop},
		{"a crash-looping release", func(o []float32) {
			steady(o)
			o[envsim.ObsSinceRollout], o[envsim.ObsCrashedUpdated], o[envsim.ObsCrashed] = 0.1, 0.1, 0.1
			o[envsim.ObsRestarts] = 2.0 / envsim.RestartScale
		}, envsim.ActionRollback},
		{"memory near the limit after a release", func(o []float32) {
			steady(o)
			o[envsim.ObsSinceRollout], o[envsim.ObsMemoryMax] = 0.3, 0.93
		}, envsim.ActionRollback},
		{"leaking release", func(o []float32) {
			steady(o)
			o[envsim.ObsSinceRollout], o[envsim.ObsOOMKilled] = 0.3, 0.1
		}, envsim.ActionRollback},
		{"crash loop with a long back-off", func(o []float32) {
			steady(o)
			o[envsim.ObsCrashed], o[envsim.ObsRestarts] = 0.1, 4.0/envsim.RestartScale
		}, envsim.ActionRestart},
		{"node NotReady", func(o []float32) {
			steady(o)
			o[envsim.ObsNodesNotReady], o[envsim.ObsDegraded] = 0.34, 0.2
		}, envsim.ActionRestart},
		{"one lossy pod", func(o []float32) {
			steady(o)
			o[envsim.ObsErrorMax] = 0.3
		}, envsim.ActionRestart},
		{"hot fleet scales, never restarts", func(o []float32) {
			steady(o)
			o[envsim.ObsCPUAvg], o[envsim.ObsLatencyMax] = 0.9, 0.9
		}, spec.Actions.ScaleTo(10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRunbook(spec, DefaultRunbookConfig())
			if err != nil {
				t.Fatal(err)
			}
			r.Reset()
			o := hpaObs(spec, 6, 6, 0, 0, 0)
			tt.set(o)
			if got := r.Act(o); got != tt.want {
				t.Fatalf("action %s, want %s", spec.Actions.Names[got], spec.Actions.Names[tt.want])
			}
		})
	}
}

func TestRunbookNeverRollsBackItsOwnRollback(t *testing.T) {
	c := newCluster(t, "no-fault", envsim.ActionModeAggregate)
	spec := c.Spec()
	r, _ := NewRunbook(spec, DefaultRunbookConfig())
	r.Reset()
	o := hpaObs(spec, 6, 6, 0, 0, 0.5)
	o[envsim.ObsUpdated], o[envsim.ObsSinceRollout], o[envsim.ObsErrorUpdated] = 1, 0.1, 0.2
	if a := r.Act(o); a != envsim.ActionRollback {
		t.Fatalf("first: %s, want rollback", spec.Actions.Names[a])
	}
	// The rollback restarts the rollout clock; the bad pods still serve.
	for step := range 10 {
		o[envsim.ObsSinceRollout] = float32(step) / envsim.RolloutHorizonSteps
		if a := r.Act(o); a == envsim.ActionRollback {
			t.Fatalf("rolled back its own rollback at step %d", step)
		}
	}
	// A new release (the clock restarts without the runbook) is fair game.
	o[envsim.ObsSinceRollout] = 0
	if a := r.Act(o); a != envsim.ActionRollback {
		t.Fatalf("after a new release: %s, want rollback", spec.Actions.Names[a])
	}
}

func TestRunbookBeatsNoopAndHPAOnTemplateFaults(t *testing.T) {
	for _, scenario := range []string{"bad-config", "bad-rollout", "memory-leak-oom"} {
		t.Run(scenario, func(t *testing.T) {
			rb := play(t, scenario, "runbook", 5)
			for _, name := range []string{"noop", "hpa"} {
				if other := play(t, scenario, name, 5); rb.ret <= other.ret+20 {
					t.Errorf("runbook %.1f vs %s %.1f", rb.ret, name, other.ret)
				}
			}
		})
	}
}
