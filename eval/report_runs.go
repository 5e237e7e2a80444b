package eval

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// heldOutVerdict words trained minus runbook on a held-out condition: the
// issue's target is that no condition is worse than runbook beyond its
// interval.
func heldOutVerdict(d Interval) string {
	switch {
	case d.N == 0 || math.IsNaN(d.Mean):
		return "–"
	case d.Hi < 0:
		return "worse than runbook beyond its interval"
	case d.Lo > 0:
		return "better than runbook"
	}
	return "within its interval (no significant difference)"
}

// writeHeldOut writes the held-out table: every policy's mean return per
// held-out condition and pooled, and the headline minus runbook.
func (r *Results) writeHeldOut(ew *errWriter, s *Summaries, pct int) {
	if len(s.HeldOut) == 0 {
		return
	}
	ew.printf("## Held-out conditions\n\nConditions training never saw, each built from a built-in scenario " +
		"(so with its routine releases); the pooled row covers these only:\n\n")
	desc := make(map[string]string)
	for _, v := range HeldOutVariants() {
		desc[v.Name] = v.Description
	}
	for _, sc := range s.HeldOut[:len(s.HeldOut)-1] {
		ew.printf("- `%s`: %s\n", sc, desc[sc])
	}
	diff := s.Headline != "" && slices.Contains(r.Policies, "runbook")
	ew.printf("\nMean return with its %d%% bootstrap interval", pct)
	if diff {
		ew.printf("; %s minus runbook on the same seeds with its interval, \"worse than runbook beyond its "+
			"interval\" when the whole interval is below zero", s.Headline)
	}
	ew.printf(".\n\n| Condition | %s |", strings.Join(r.Policies, " | "))
	if diff {
		ew.printf(" %s − runbook | verdict |", s.Headline)
	}
	ew.printf("\n|---|%s", strings.Repeat("---|", len(r.Policies)))
	if diff {
		ew.printf("---|---|")
	}
	ew.printf("\n")
	for _, sc := range s.HeldOut {
		name := sc
		if sc == OverallHeldOut {
			name = "**" + sc + "**"
		}
		ew.printf("| %s |", name)
		for _, p := range r.Policies {
			ew.printf(" %s |", fmtIv(s.ByKey[sc][p].Metrics["return"], 1))
		}
		if diff {
			c, _ := s.Comparison(sc, "runbook")
			ew.printf(" %s | %s |", fmtDiff(c.Diff), heldOutVerdict(c.Diff))
		}
		ew.printf("\n")
	}
	ew.printf("\n")
}

// fmtNum formats v with one decimal, "n/a" for NaN.
func fmtNum(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", v)
}

// writeAcrossRuns writes the across-runs section: per-run means, the
// spread between runs, the IQMs with stratified bootstrap intervals and
// the performance profile.
func (r *Results) writeAcrossRuns(ew *errWriter, s *Summaries, pct int) {
	ar := r.AcrossRuns()
	if len(ar.Suites) == 0 {
		return
	}
	ew.printf("## Across training runs\n\n")
	ew.printf("Reported as Agarwal et al. (2021, \"Deep RL at the Edge of the Statistical Precipice\") and " +
		"Henderson et al. (2018, \"Deep RL that Matters\") ask: every training run, the spread between runs, and " +
		"interquartile means with stratified bootstrap intervals, never one lucky run.\n\n")
	if ar.Policy != "" {
		ew.printf("### Mean return of each run of %s\n\n| Scenario |", ar.Policy)
		for i := range ar.Runs {
			if i < len(r.PolicyVersions) {
				ew.printf(" run %d (v%d) |", i+1, r.PolicyVersions[i])
			} else {
				ew.printf(" run %d |", i+1)
			}
		}
		ew.printf("\n|---|%s\n", strings.Repeat("---|", ar.Runs))
		for _, su := range ar.Suites {
			for i, sc := range su.Scenarios {
				ew.printf("| %s |", sc)
				for _, v := range su.RunMeans[i] {
					ew.printf(" %s |", fmtNum(v))
				}
				ew.printf("\n")
			}
			ew.printf("| **overall (%s)** |", su.Name)
			for _, v := range su.Overall {
				ew.printf(" **%s** |", fmtNum(v))
			}
			ew.printf("\n")
		}
		ew.printf("\nSpread between runs of the overall mean return:")
		for i, su := range ar.Suites {
			if i > 0 {
				ew.printf(";")
			}
			ew.printf(" %s min %s, max %s, standard deviation %s", su.Name, fmtNum(su.Min), fmtNum(su.Max),
				fmtNum(su.StdDev))
		}
		if ar.Runs == 1 {
			ew.printf(" (n/a: one run)")
		}
		ew.printf(".\n\n")
	}
	ew.printf("### Interquartile mean over runs x scenarios\n\n")
	ew.printf("IQM: the mean of the middle 50%% of the (run x scenario) mean returns (the lowest and highest 25%% "+
		"dropped). %d%% stratified bootstrap interval (%d resamples): within each scenario the runs are resampled, "+
		"and within each drawn run-scenario cell its episodes; a baseline has one run, so only its episodes are "+
		"resampled. The paired differences are taken per run and scenario on the same seeds (run r minus the "+
		"baseline), then summarised the same way.\n\n", pct, r.Config.Bootstrap)
	ew.printf("| Policy | runs |")
	for _, su := range ar.Suites {
		ew.printf(" IQM, %s |", su.Name)
	}
	ew.printf("\n|---|---|%s\n", strings.Repeat("---|", len(ar.Suites)))
	for _, p := range r.Policies {
		ew.printf("| %s | %d |", p, r.Runs(p))
		for _, su := range ar.Suites {
			ew.printf(" %s |", fmtIv(su.IQM[p], 1))
		}
		ew.printf("\n")
	}
	ew.printf("\n")
	if ar.Policy != "" && len(r.Policies) > 1 {
		ew.printf("IQM of the paired differences, %s minus each baseline:\n\n| Baseline |", ar.Policy)
		for _, su := range ar.Suites {
			ew.printf(" %s | verdict |", su.Name)
		}
		ew.printf("\n|---|%s\n", strings.Repeat("---|---|", len(ar.Suites)))
		for _, b := range r.Policies {
			if b == ar.Policy {
				continue
			}
			ew.printf("| %s |", b)
			for _, su := range ar.Suites {
				d, ok := su.DiffIQM[b]
				if !ok {
					ew.printf(" – | – |")
					continue
				}
				ew.printf(" %s | %s |", fmtDiff(d), verdict(d))
			}
			ew.printf("\n")
		}
		ew.printf("\n")
	}
	if pr := r.Profile(); pr != nil {
		ew.printf("### Performance profile\n\n")
		ew.printf("Share of the (run x scenario) scores of the training suite above tau, where a score is the " +
			"mean return normalised per scenario between noop (0) and the best baseline other than noop (1). " +
			"A curve above another is better at every threshold.")
		if len(pr.Skipped) > 0 {
			ew.printf(" Left out because no baseline beat noop there: %s.", strings.Join(pr.Skipped, ", "))
		}
		ew.printf("\n\n![performance profile](%s)\n\n", ProfileChart)
	}
}
