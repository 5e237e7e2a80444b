package eval

import (
	"math"
	"testing"
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
