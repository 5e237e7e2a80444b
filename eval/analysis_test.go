package eval

import (
	"math"
	"slices"
	"testing"

	"podmedic/envsim"
)

// TestScenarioShares checks the step-weighted mean of the per-situation
// action shares, per scenario and over all scenarios.
func TestScenarioShares(t *testing.T) {
	names := []string{"noop", "scale_to_1", "scale_to_2", "restart_pod_0"}
	a, b := *newActionCounts(len(names)), *newActionCounts(len(names))
	a[SituationPodFault] = []int{2, 0, 0, 2} // 4 steps: half noop, half restart
	a[SituationHealthy] = []int{12, 0, 0, 0} // 12 steps: all noop
	b[SituationLoad] = []int{0, 3, 1, 0}     // 4 steps: all scale_to
	r := &Results{ActionNames: names, Scenarios: []string{"a", "b", "c"},
		Actions: map[string]map[string]*ActionCounts{"a": {"p": &a}, "b": {"p": &b}}}
	tests := []struct {
		scenario string
		want     []float64 // noop, restart, scale_to (kindOrder)
	}{
		{"a", []float64{14.0 / 16, 2.0 / 16, 0}},
		{"b", []float64{0, 0, 1}},
		{"c", []float64{0, 0, 0}}, // no steps at all
		{OverallScenario, []float64{14.0 / 20, 2.0 / 20, 4.0 / 20}},
	}
	for _, tc := range tests {
		got := r.scenarioShares(tc.scenario, "p")
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %d kinds, want %d", tc.scenario, len(got), len(tc.want))
		}
		for k := range got {
			if math.Abs(got[k]-tc.want[k]) > 1e-12 {
				t.Errorf("%s: shares %v, want %v", tc.scenario, got, tc.want)
				break
			}
		}
	}
}

func TestClassify(t *testing.T) {
	obs := make([]float32, envsim.NumBaseFeatures)
	healthy := envsim.StepInfo{AllHealthy: true, SLOMet: true, Replicas: 5, Updated: 5}
	bits := func(scopes ...envsim.FaultScope) uint8 {
		var b uint8
		for _, s := range scopes {
			b |= scopeBit(s)
		}
		return b
	}
	tests := []struct {
		name string
		edit func(in *envsim.StepInfo, obs []float32)
		want Situation
	}{
		{"healthy", nil, SituationHealthy},
		{"template and pod faults: template first", func(in *envsim.StepInfo, _ []float32) {
			in.FaultScopes = bits(envsim.ScopePod, envsim.ScopeTemplate)
		}, SituationTemplateFault},
		{"pod and node faults: pod first", func(in *envsim.StepInfo, _ []float32) {
			in.FaultScopes = bits(envsim.ScopeNode, envsim.ScopePod)
		}, SituationPodFault},
		{"node fault with high CPU", func(in *envsim.StepInfo, obs []float32) {
			in.FaultScopes, obs[envsim.ObsCPUAvg] = bits(envsim.ScopeNode), 0.9
		}, SituationNodeFault},
		{"slow registry only: not a fault", func(in *envsim.StepInfo, _ []float32) {
			in.FaultScopes = bits(envsim.ScopeCluster)
		}, SituationHealthy},
		{"load during a rollout", func(in *envsim.StepInfo, obs []float32) {
			in.Updated, obs[envsim.ObsCPUAvg] = 2, 0.75
		}, SituationLoad},
		{"rollout", func(in *envsim.StepInfo, _ []float32) { in.Updated, in.Replicas = 4, 6 }, SituationRollout},
		{"crash aftermath", func(in *envsim.StepInfo, _ []float32) { in.AllHealthy, in.Crashed = false, 1 }, SituationSymptom},
		{"SLO missed", func(in *envsim.StepInfo, _ []float32) { in.SLOMet = false }, SituationSymptom},
	}
	for _, tc := range tests {
		in, o := healthy, slices.Clone(obs)
		if tc.edit != nil {
			tc.edit(&in, o)
		}
		if got := classify(o, &in); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestActionSharesSumToOne: in every situation with steps, the action
// shares of every policy sum to 1, and the situations' steps add up to the
// episodes' steps (all runs).
func TestActionSharesSumToOne(t *testing.T) {
	res := twoRuns(t)
	for _, p := range res.Policies {
		for _, pool := range []string{OverallScenario, OverallHeldOut, "bad-config"} {
			shares, kinds, steps := res.ActionShares(pool, p)
			if !slices.Equal(kinds, kindOrder) {
				t.Fatalf("kinds %v, want %v", kinds, kindOrder)
			}
			total, want := 0, 0
			for s := range NumSituations {
				total += steps[s]
				if steps[s] == 0 {
					continue
				}
				sum := 0.0
				for _, v := range shares[s] {
					sum += v
				}
				if math.Abs(sum-1) > 1e-9 {
					t.Errorf("%s on %s, %s: shares sum to %g", p, pool, s, sum)
				}
			}
			for _, e := range res.Episodes {
				if e.Policy == p && slices.Contains(res.pool(pool), e.Scenario) {
					want += e.Steps
				}
			}
			if total != want || total == 0 {
				t.Errorf("%s on %s: %d steps in situations, episodes had %d", p, pool, total, want)
			}
		}
	}
	// bad-config is a template fault from its start: runbook rolls it back.
	shares, kinds, steps := res.ActionShares("bad-config", "runbook")
	rb := slices.Index(kinds, "rollback")
	if steps[SituationTemplateFault] == 0 || shares[SituationTemplateFault][rb] == 0 {
		t.Errorf("runbook on bad-config: %d template-fault steps, rollback share %g", steps[SituationTemplateFault],
			shares[SituationTemplateFault][rb])
	}
}

// scripted rolls back at the given steps (1-based) and otherwise waits.
type scripted struct {
	step int
	at   []int
}

func (s *scripted) Name() string { return "scripted" }
func (s *scripted) Reset()       { s.step = 0 }
func (s *scripted) Act([]float32) int {
	s.step++
	if slices.Contains(s.at, s.step) {
		return envsim.ActionRollback
	}
	return envsim.ActionNoop
}

// TestRollbackCounting: a rollback is needed when it undoes a faulty
// template; the undo of that undo re-deploys the fault and is needless;
// a later undo of the re-deployed fault is needed again; without a fault
// every rollback is needless.
func TestRollbackCounting(t *testing.T) {
	tests := []struct {
		name                string
		faults              []envsim.Fault
		at                  []int
		rollbacks, needless int
	}{
		{"bad config undone, redone, undone", []envsim.Fault{{Kind: envsim.FaultBadConfig, Start: 3}}, []int{6, 7, 12}, 3, 1},
		{"no fault", nil, []int{5, 60}, 2, 2},
	}
	for _, tc := range tests {
		cfg := envsim.DefaultConfig()
		cfg.Scenario = envsim.Scenario{Name: "t", Workload: envsim.NoFaultScenario().Workload, Faults: tc.faults}
		r, err := newRunner(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ep := r.play(&scripted{at: tc.at}, 11, newActionCounts(r.c.NumActions()), nil)
		if ep.Rollbacks != tc.rollbacks || ep.NeedlessRollbacks() != tc.needless {
			t.Errorf("%s: %d rollbacks, %d needless; want %d, %d", tc.name, ep.Rollbacks, ep.NeedlessRollbacks(),
				tc.rollbacks, tc.needless)
		}
	}
}
