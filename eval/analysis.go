package eval

import (
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"
)

// kindOrder is the column order of the action kinds in the analysis
// tables; kinds not listed follow in first-seen order.
var kindOrder = []string{"noop", "restart", "drain", "undrain", "rollback", "scale_up", "scale_down", "scale_to"}

// actionGroup maps an action name to its kind: "scale_to_3" -> "scale_to",
// "restart_pod_2" -> "restart".
func actionGroup(name string) string {
	if i := strings.LastIndexByte(name, '_'); i > 0 && strings.Trim(name[i+1:], "0123456789") == "" {
		name = name[:i]
	}
	return strings.TrimSuffix(name, "_pod")
}

// groups returns the action kinds (kindOrder first) and each action's
// group index.
func groups(names []string) (kinds []string, of []int) {
	for _, n := range names {
		if g := actionGroup(n); !slices.Contains(kinds, g) {
			kinds = append(kinds, g)
		}
	}
	rank := func(k string) int {
		if i := slices.Index(kindOrder, k); i >= 0 {
			return i
		}
		return len(kindOrder)
	}
	slices.SortStableFunc(kinds, func(a, b string) int { return rank(a) - rank(b) })
	of = make([]int, len(names))
	for i, n := range names {
		of[i] = slices.Index(kinds, actionGroup(n))
	}
	return kinds, of
}

// ActionShares returns, for policy pol over scenario (or a pool:
// OverallScenario, OverallHeldOut), the share of steps per action kind in
// each situation, the kinds, and the number of steps per situation. The
// shares of a situation with steps sum to 1; a trained policy's runs are
// pooled.
func (r *Results) ActionShares(scenario, pol string) (shares [NumSituations][]float64, kinds []string, steps [NumSituations]int) {
	kinds, of := groups(r.ActionNames)
	total := newActionCounts(len(r.ActionNames))
	for _, sc := range r.pool(scenario) {
		if c := r.Actions[sc][pol]; c != nil {
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

// expectedShare sums the shares of the kinds situation s expects; ok is
// false when s has no expected answer.
func expectedShare(s Situation, shares []float64, kinds []string) (share float64, ok bool) {
	_, want := s.Expected()
	for k, kind := range kinds {
		if slices.Contains(want, kind) {
			share += shares[k]
		}
	}
	return share, len(want) > 0
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

// analysisPolicies lists the policies the analysis describes: the trained
// headline, runbook and hpa first, then the other baselines but random and
// noop (whose behaviour is known).
func (r *Results) analysisPolicies() []string {
	var out []string
	for _, p := range []string{r.Headline(), "runbook", "hpa"} {
		if p != "" && slices.Contains(r.Policies, p) {
			out = append(out, p)
		}
	}
	for _, p := range r.Policies {
		if !slices.Contains(out, p) && !isTrained(p) && p != "random" && p != "noop" {
			out = append(out, p)
		}
	}
	return out
}

func (r *Results) writeAnalysis(ew *errWriter, s *Summaries) {
	pols := r.analysisPolicies()
	if len(pols) == 0 || len(r.ActionNames) == 0 {
		return
	}
	kinds, _ := groups(r.ActionNames)
	cols := "| " + strings.Join(kinds, " | ") + " |"
	sep := strings.Repeat("---|", len(kinds))
	ew.printf("## Policy analysis\n\nShare of steps (%%) on which each kind of action was chosen (scale_to: scale " +
		"to a given count; invalid choices included).")
	if h := r.Headline(); h != "" && r.Runs(h) > 1 {
		ew.printf(" The %d runs of %s are pooled.", r.Runs(h), h)
	}
	ew.printf("\n\n")
	ew.printf("### What was really wrong, and what each policy did\n\n")
	ew.printf("Each step is classified by what was really wrong when the action was chosen: the scopes of the " +
		"active faults (hidden state the policies never see), then what the cluster showed; the first that holds " +
		"of the rows below. A cluster-scope fault (slow image pulls) is nothing the operator can cure and does not " +
		"count as a fault. The rows of a situation sum to 100%%; \"expected %%\" is the share of steps with an expected " +
		"kind. One rollback or one restart per fault is enough, so a low share can be right there: the rollbacks " +
		"table below says whether each template fault got its rollback, and how many rollbacks were needless.\n\n")
	for s := range NumSituations {
		text, _ := s.Expected()
		ew.printf("- **%s**: %s; expected: %s.\n", s, situationHelp[s], text)
	}
	ew.printf("\n")
	for _, pool := range []string{OverallScenario, OverallHeldOut} {
		if len(r.pool(pool)) == 0 {
			continue
		}
		title := "training suite"
		if pool == OverallHeldOut {
			title = "held-out suite"
		}
		ew.printf("#### %s\n\n| Situation | expected | Policy | steps | expected %% %s\n|---|---|---|---|---|%s\n",
			title, cols, sep)
		for sit := range NumSituations {
			text, _ := sit.Expected()
			for i, p := range pols {
				shares, _, steps := r.ActionShares(pool, p)
				name, exp := "", ""
				if i == 0 {
					name, exp = sit.String(), text
				}
				ew.printf("| %s | %s | %s | %d |", name, exp, p, steps[sit])
				if share, ok := expectedShare(sit, shares[sit], kinds); ok && steps[sit] > 0 {
					ew.printf(" %.1f |", 100*share)
				} else {
					ew.printf(" – |")
				}
				for _, v := range shares[sit] {
					ew.printf(" %.1f |", 100*v)
				}
				ew.printf("\n")
			}
		}
		ew.printf("\n")
	}
	r.writeRollbacks(ew, s, pols)
	ew.printf("### Action shares by scenario\n\n")
	for _, p := range pols {
		ew.printf("#### %s\n\n| Scenario %s\n|---|%s\n", p, cols, sep)
		for _, sc := range slices.Concat(s.Scenarios, s.HeldOut) {
			ew.printf("| %s |", sc)
			for _, v := range r.scenarioShares(sc, p) {
				ew.printf(" %.1f |", 100*v)
			}
			ew.printf("\n")
		}
		ew.printf("\n")
	}
}

// situationHelp says when each situation holds.
var situationHelp = [NumSituations]string{
	"a template fault (bad config, bad release, leaking release) is active; only a rollback cures it",
	"a pod-local fault (crash loop, hog, network fault, readiness failure) is active; deleting or draining the pod cures it",
	"a node is down; deleting its pods gets replacements at once instead of after the 300 s eviction",
	"no fault, but the ready pods' mean CPU is >= 75% of the limit",
	"no fault, a rollout in progress (a routine release, a hotfix or a rollback rolling out: pods of an older revision still live)",
	"no fault, no load, no rollout, but something shows (a killed container restarting, pods warming up, the SLO missed): mostly the controllers' work",
	"no fault, every pod healthy and the SLO met",
}

// writeRollbacks writes the rollbacks per episode and how many were
// needless, per scenario and policy.
func (r *Results) writeRollbacks(ew *errWriter, s *Summaries, pols []string) {
	ew.printf("### Rollbacks: needed and needless\n\n")
	ew.printf("Applied rollbacks per episode, with the needless ones in brackets. A rollback is needed when a " +
		"template fault was active when it was chosen and it undid the faulty revision: the first (third, ...) " +
		"rollback since the fault appeared, because `kubectl rollout undo` right after an undo rolls the revision " +
		"just undone out again. Every other rollback reverts a good release (and costs the `rollback` reward). " +
		"The last row counts every episode (all runs).\n\n")
	ew.printf("| Scenario | %s |\n|---|%s\n", strings.Join(pols, " | "), strings.Repeat("---|", len(pols)))
	for _, sc := range slices.Concat(s.Scenarios, s.HeldOut) {
		ew.printf("| %s |", sc)
		for _, p := range pols {
			m := s.ByKey[sc][p].Metrics
			ew.printf(" %.2f (%.2f) |", m["rollbacks"].Mean, m["needless_rollbacks"].Mean)
		}
		ew.printf("\n")
	}
	ew.printf("| total |")
	for _, p := range pols {
		n, needless, eps := 0, 0, 0
		for i := range r.Episodes {
			if e := &r.Episodes[i]; e.Policy == p {
				n, needless, eps = n+e.Rollbacks, needless+e.NeedlessRollbacks(), eps+1
			}
		}
		ew.printf(" %d (%d needless) in %d episodes |", n, needless, eps)
	}
	ew.printf("\n\n")
}
