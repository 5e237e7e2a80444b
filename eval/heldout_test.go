package eval

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"podmedic/envsim"
)

func TestSuites(t *testing.T) {
	train, held := TrainSuite(), HeldOutSuite()
	for _, n := range envsim.HeldOutScenarioNames() {
		if slices.Contains(train, n) || !slices.Contains(held, n) || !IsHeldOut(n) {
			t.Errorf("%s: in training suite %v, held-out suite %v", n, slices.Contains(train, n), slices.Contains(held, n))
		}
	}
	if !slices.Contains(train, envsim.MixedScenarioName) || IsHeldOut(envsim.MixedScenarioName) || IsHeldOut("pod-kill") {
		t.Errorf("training suite %v", train)
	}
	if got, want := len(train)+len(envsim.HeldOutScenarioNames()), len(envsim.ScenarioNames()); got != want {
		t.Errorf("training suite + left-out scenarios = %d names, want every built-in (%d)", got, want)
	}
	all, err := Suite(SuiteAll)
	if err != nil || !slices.Equal(all, slices.Concat(train, held)) {
		t.Errorf("Suite(all) = %v, %v", all, err)
	}
	for i, n := range all {
		if slices.Contains(all[:i], n) {
			t.Errorf("%s twice in the suites", n)
		}
	}
	if _, err := Suite("holdout"); !errors.Is(err, ErrUnknownSuite) || !strings.Contains(err.Error(), "holdout") {
		t.Errorf("Suite(holdout) err = %v", err)
	}
	if len(held) < 9 {
		t.Errorf("held-out suite %v: want the 2 left-out scenarios and 7 variants", held)
	}
}

// TestHeldOutVariantsResolve: every held-out name resolves where a
// scenario name is accepted, builds a valid cluster and keeps the routine
// releases of the built-in scenarios.
func TestHeldOutVariantsResolve(t *testing.T) {
	base := envsim.DefaultConfig()
	for _, name := range HeldOutSuite() {
		cfg, err := ScenarioConfig(base, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if cfg.Scenario.Name != name {
			t.Errorf("%s: scenario named %q", name, cfg.Scenario.Name)
		}
		if _, err := envsim.New(cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if len(cfg.Scenario.Mix) == 0 && !slices.ContainsFunc(cfg.Scenario.Faults, func(f envsim.Fault) bool {
			return f.Kind == envsim.FaultRelease && f.Rate > 0
		}) {
			t.Errorf("%s: no routine releases in %+v", name, cfg.Scenario.Faults)
		}
	}
	if _, err := ScenarioConfig(base, "heldout:meteor"); !errors.Is(err, envsim.ErrUnknownScenario) ||
		!strings.Contains(err.Error(), "heldout:load-2x") {
		t.Errorf("unknown held-out name: err = %v, want ErrUnknownScenario listing the known names", err)
	}
}

// TestChaosDefaults checks the fault of each chaos-default variant.
func TestChaosDefaults(t *testing.T) {
	tests := []struct {
		name      string
		kind      envsim.FaultKind
		magnitude float64
	}{
		{"heldout:network-latency-2000ms", envsim.FaultNetworkLatency, 2000},
		{"heldout:network-loss-100pct", envsim.FaultNetworkLoss, 1},
		{"heldout:cpu-hog-100pct", envsim.FaultCPUSpike, 1},
		{"heldout:memory-hog-500mib", envsim.FaultMemoryHog, 500},
	}
	for _, tc := range tests {
		cfg, err := ScenarioConfig(envsim.DefaultConfig(), tc.name)
		if err != nil {
			t.Fatal(err)
		}
		var got []envsim.Fault
		for _, f := range cfg.Scenario.Faults {
			if f.Kind == tc.kind {
				got = append(got, f)
			}
		}
		want := envsim.Fault{Kind: tc.kind, Start: 10, StartJitter: 30, Duration: 4, Magnitude: tc.magnitude}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: faults of kind %s %+v, want exactly %+v", tc.name, tc.kind, got, want)
		}
		if cfg.Scenario.Workload.BaseRPS != envsim.NoFaultScenario().Workload.BaseRPS {
			t.Errorf("%s: not on the default workload: %+v", tc.name, cfg.Scenario.Workload)
		}
	}
}

// episode plays one episode of cfg with act (an action per step) and
// calls see after every step.
func episode(t *testing.T, cfg envsim.Config, seed uint64, act func(in *envsim.StepInfo) int, see func(in *envsim.StepInfo)) {
	t.Helper()
	c, err := envsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float32, c.ObservationSize())
	c.Reset(seed, obs)
	for {
		_, term, trunc := c.Step(act(c.Info()), obs)
		see(c.Info())
		if term || trunc {
			return
		}
	}
}

func noopAction(*envsim.StepInfo) int { return envsim.ActionNoop }

// TestLoadScaleReachesCluster: the load variants change the offered load
// of the training mix by their factor, on the same seed.
func TestLoadScaleReachesCluster(t *testing.T) {
	mixed, err := ScenarioConfig(envsim.DefaultConfig(), envsim.MixedScenarioName)
	if err != nil {
		t.Fatal(err)
	}
	// rates returns the offered load at Reset and after every step of a
	// noop episode.
	rates := func(cfg envsim.Config, seed uint64) []float64 {
		c, err := envsim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Reset(seed, make([]float32, c.ObservationSize()))
		out := []float64{c.Info().RequestRate}
		episode(t, cfg, seed, noopAction, func(in *envsim.StepInfo) { out = append(out, in.RequestRate) })
		return out
	}
	for _, tc := range []struct {
		name   string
		factor float64
	}{{"heldout:load-0.5x", 0.5}, {"heldout:load-2x", 2}} {
		cfg, err := ScenarioConfig(envsim.DefaultConfig(), tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.LoadScale != tc.factor {
			t.Errorf("%s: load_scale %g", tc.name, cfg.LoadScale)
		}
		for seed := uint64(1); seed <= 3; seed++ {
			// Same seed, same sampled scenario; the episodes drift apart
			// (noise and spikes draw from an RNG the dynamics share, an
			// outage ends one early), so compare the common steps' sums.
			r0, r1 := rates(mixed, seed), rates(cfg, seed)
			if math.Abs(r1[0]/r0[0]-tc.factor) > 1e-9 {
				t.Errorf("%s seed %d: request rate at reset %.1f against %.1f in mixed, want x%g", tc.name, seed, r1[0], r0[0], tc.factor)
			}
			n := min(len(r0), len(r1))
			s0, s1 := 0.0, 0.0
			for i := range n {
				s0, s1 = s0+r0[i], s1+r1[i]
			}
			if r := s1 / s0; math.Abs(r-tc.factor) > 0.1*tc.factor {
				t.Errorf("%s seed %d: request rate x%.2f of mixed's over %d steps, want x%g", tc.name, seed, r, n, tc.factor)
			}
		}
	}
}

// TestMemoryHogFires: the 500 MiB hog starts within its window, is a
// pod-scope fault, and OOM-kills its pod (500 MiB over a 200 MiB base
// exceeds the 512 MiB limit).
func TestMemoryHogFires(t *testing.T) {
	cfg, err := ScenarioConfig(envsim.DefaultConfig(), "heldout:memory-hog-500mib")
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 4; seed++ {
		started, oomAfter := -1, -1
		episode(t, cfg, seed, noopAction, func(in *envsim.StepInfo) {
			for _, e := range in.Events {
				if e.Kind == envsim.EventFaultStarted && e.Fault == envsim.FaultMemoryHog {
					started = in.Step
					if in.FaultScopes&scopeBit(envsim.ScopePod) == 0 {
						t.Errorf("seed %d: memory hog started, FaultScopes %b has no pod scope", seed, in.FaultScopes)
					}
				}
				if e.Kind == envsim.EventOOMKilled && started >= 0 && oomAfter < 0 {
					oomAfter = in.Step - started
				}
			}
		})
		if started < 10 || started > 40 {
			t.Errorf("seed %d: memory hog started at step %d, want 10..40", seed, started)
		}
		if oomAfter < 0 || oomAfter > 4 {
			t.Errorf("seed %d: OOM kill %d steps after the hog started, want within its 4 steps", seed, oomAfter)
		}
	}
}

// TestPodQuotaCapsReplicas: under heldout:pod-quota-7 a policy that asks
// for the most replicas gets at most 7 pods; without the quota it gets
// more.
func TestPodQuotaCapsReplicas(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wantMost func(int) bool
	}{
		{"heldout:pod-quota-7", func(n int) bool { return n <= 7 }},
		{envsim.MixedScenarioName, func(n int) bool { return n > 7 }},
	} {
		cfg, err := ScenarioConfig(envsim.DefaultConfig(), tc.name)
		if err != nil {
			t.Fatal(err)
		}
		top := envsim.ActionScaleToBase + cfg.Pods.MaxReplicas - 1
		most := 0
		episode(t, cfg, 5, func(*envsim.StepInfo) int { return top }, func(in *envsim.StepInfo) {
			most = max(most, in.Replicas)
		})
		if !tc.wantMost(most) {
			t.Errorf("%s: at most %d live replicas while scaling to %d", tc.name, most, cfg.Pods.MaxReplicas)
		}
	}
}
