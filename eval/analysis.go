package eval

import (
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"
)

// actionGroup maps an action name to its kind: "scale_to_3" -> "scale_to",
// "restart_pod_2" -> "restart".
func actionGroup(name string) string {
	if i := strings.LastIndexByte(name, '_'); i > 0 && strings.Trim(name[i+1:], "0123456789") == "" {
		name = name[:i]
	}
	return strings.TrimSuffix(name, "_pod")
}

// groups returns the action kinds in first-seen order and each action's
// group index.
func groups(names []string) (kinds []string, of []int) {
	of = make([]int, len(names))
	for i, n := range names {
		g := actionGroup(n)
		k := slices.Index(kinds, g)
		if k < 0 {
			kinds = append(kinds, g)
			k = len(kinds) - 1
		}
		of[i] = k
	}
	return kinds, of
}

// ActionShares returns, for policy pol over scenario (or OverallScenario),
// the share of steps per action kind in each situation, the kinds, and the
// number of steps per situation.
func (r *Results) ActionShares(scenario, pol string) (shares [NumSituations][]float64, kinds []string, steps [NumSituations]int) {
	kinds, of := groups(r.ActionNames)
	total := newActionCounts(len(r.ActionNames))
	for _, sc := range r.Scenarios {
		if c := r.Actions[sc][pol]; c != nil && (scenario == OverallScenario || scenario == sc) {
			total.add(c)
		}
	}
	for s := range total {
		shares[s] = make([]float64, len(kinds))
		for a, n := range total[s] {
			shares[s][of[a]] += float64(n)
			steps[s] += n
		}
		if steps[s] > 0 {
			for k := range shares[s] {
				shares[s][k] /= float64(steps[s])
			}
		}
	}
	return shares, kinds, steps
}

// scenarioShares is the share of steps per action kind over all
// situations: the mean of ActionShares's per-situation shares weighted by
// each situation's steps (zeros when there were no steps).
func (r *Results) scenarioShares(scenario, pol string) []float64 {
	shares, kinds, steps := r.ActionShares(scenario, pol)
	out := make([]float64, len(kinds))
	weights, col := make([]float64, NumSituations), make([]float64, NumSituations)
	total := 0
	for s, n := range steps {
		weights[s] = float64(n)
		total += n
	}
	if total == 0 {
		return out
	}
	for k := range out {
		for s := range shares {
			col[s] = shares[s][k]
		}
		out[k] = stat.Mean(col, weights)
	}
	return out
}

func (r *Results) writeAnalysis(ew *errWriter) {
	pols := slices.DeleteFunc(slices.Clone(r.Policies), func(p string) bool {
		return p == "random" || p == "noop" || p == PolicyTrainedStochastic
	})
	if len(pols) == 0 || len(r.ActionNames) == 0 {
		return
	}
	_, kinds, _ := r.ActionShares(OverallScenario, pols[0])
	cols := "| " + strings.Join(kinds, " | ") + " |\n|---|" + strings.Repeat("---|", len(kinds))
	ew.printf("## Policy analysis\n\nShare of steps (%%) on which each kind of action was chosen (scale_to: " +
		"scale to a given count; invalid choices included).\n\n")
	for _, p := range pols {
		ew.printf("### %s: by scenario\n\n| Scenario %s\n", p, cols)
		for _, sc := range append(slices.Clone(r.Scenarios), OverallScenario) {
			ew.printf("| %s |", sc)
			for _, v := range r.scenarioShares(sc, p) {
				ew.printf(" %.1f |", 100*v)
			}
			ew.printf("\n")
		}
		shares, _, steps := r.ActionShares(OverallScenario, p)
		ew.printf("\n### %s: by health situation (all scenarios)\n\nThe situation is the state the policy saw "+
			"before acting, the first that holds of: a pod crashed, memory of some pod >= 75%% of the limit (a leak), "+
			"mean CPU >= 75%%, a pod degraded or the SLO missed, pods starting, all healthy.\n\n| Situation | steps %s---|\n", p, cols)
		for s := range NumSituations {
			ew.printf("| %s | %d |", s, steps[s])
			for _, v := range shares[s] {
				ew.printf(" %.1f |", 100*v)
			}
			ew.printf("\n")
		}
		ew.printf("\n")
	}
}
