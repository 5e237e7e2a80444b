package eval

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Metric is one per-episode measure summarised in the reports.
type Metric struct {
	// Name is the column name, Label the table heading.
	Name, Label string
	// HigherBetter tells which direction is good.
	HigherBetter bool
	// Value extracts the measure; NaN excludes the episode (recovery time
	// of an episode without incidents).
	Value func(e *Episode) float64
}

// Metrics lists the summarised measures, return first.
func Metrics() []Metric {
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	return []Metric{
		{"return", "Return", true, func(e *Episode) float64 { return e.Return }},
		{"recovery_steps", "Time to recover (steps)", false, func(e *Episode) float64 {
			if e.Incidents == 0 {
				return math.NaN()
			}
			return e.MeanRecoverySteps()
		}},
		{"slo_attainment", "SLO attainment", true, func(e *Episode) float64 { return e.SLOAttainment }},
		{"availability", "Availability", true, func(e *Episode) float64 { return e.Availability }},
		{"replica_steps", "Replica-steps", false, func(e *Episode) float64 { return float64(e.ReplicaSteps) }},
		{"actions", "Actions", false, func(e *Episode) float64 { return float64(e.Actions) }},
		{"needless", "Needless actions", false, func(e *Episode) float64 { return float64(e.Needless) }},
		{"latency_p95_ms", "p95 latency (ms)", false, func(e *Episode) float64 { return e.LatencyP95Ms }},
		{"terminated", "Terminated", false, func(e *Episode) float64 { return b2f(e.Terminated) }},
	}
}

// OverallScenario is the scenario name of the pooled summary over every
// evaluated scenario (episodes paired by scenario and index).
const OverallScenario = "overall"

// Summary is one policy on one scenario (or OverallScenario).
type Summary struct {
	Scenario, Policy string
	// Metrics holds an interval per Metrics() entry, by name; an interval
	// with N == 0 had no data.
	Metrics map[string]Interval
}

// Comparison is a paired difference of returns: Policy minus Baseline on
// the same seeds.
type Comparison struct {
	Scenario, Policy, Baseline string
	// Diff is the mean paired difference of returns with its interval.
	Diff Interval
}

// Summaries holds every summary and comparison of a Results.
type Summaries struct {
	// Scenarios lists the evaluated scenarios followed by OverallScenario.
	Scenarios []string
	// ByKey maps scenario then policy to its summary.
	ByKey map[string]map[string]*Summary
	// Comparisons of the headline trained policy against every other
	// policy, per scenario and overall.
	Comparisons []Comparison
	// Headline is the trained policy compared ("" without one).
	Headline string
}

// values collects metric m of the episodes of scenario (or all) and
// policy in (scenario, index) order, NaNs kept.
func (r *Results) values(scenario, pol string, m Metric) []float64 {
	var out []float64
	for i := range r.Episodes {
		e := &r.Episodes[i]
		if e.Policy == pol && (scenario == OverallScenario || e.Scenario == scenario) {
			out = append(out, m.Value(e))
		}
	}
	return out
}

func dropNaN(xs []float64) []float64 {
	return slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
}

// Headline returns the trained policy to compare with the baselines:
// "trained" if evaluated, else "trained-stochastic", else "".
func (r *Results) Headline() string {
	for _, p := range []string{PolicyTrained, PolicyTrainedStochastic} {
		if slices.Contains(r.Policies, p) {
			return p
		}
	}
	return ""
}

// Summarize computes bootstrap intervals of every metric and the paired
// return differences, deterministically from the config's seed.
func (r *Results) Summarize() *Summaries {
	rng := rand.New(rand.NewPCG(r.Config.Seed, 0xb0075)) // bootstrap stream
	s := &Summaries{Scenarios: append(slices.Clone(r.Scenarios), OverallScenario),
		ByKey: make(map[string]map[string]*Summary), Headline: r.Headline()}
	ms := Metrics()
	for _, sc := range s.Scenarios {
		s.ByKey[sc] = make(map[string]*Summary)
		for _, p := range r.Policies {
			sum := &Summary{Scenario: sc, Policy: p, Metrics: make(map[string]Interval)}
			for _, m := range ms {
				xs := dropNaN(r.values(sc, p, m))
				if len(xs) == 0 {
					sum.Metrics[m.Name] = Interval{Mean: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
					continue
				}
				iv, _ := BootstrapMean(xs, r.Config.Bootstrap, r.Config.Confidence, rng) // xs is non-empty
				sum.Metrics[m.Name] = iv
			}
			s.ByKey[sc][p] = sum
		}
		if s.Headline == "" {
			continue
		}
		a := r.values(sc, s.Headline, ms[0])
		for _, p := range r.Policies {
			if p == s.Headline {
				continue
			}
			d, err := PairedDiff(a, r.values(sc, p, ms[0]), r.Config.Bootstrap, r.Config.Confidence, rng)
			if err != nil {
				continue
			}
			s.Comparisons = append(s.Comparisons, Comparison{Scenario: sc, Policy: s.Headline, Baseline: p, Diff: d})
		}
	}
	return s
}

// verdict words a paired difference for the report.
func verdict(d Interval) string {
	switch {
	case !d.Significant():
		return "no significant difference"
	case d.Mean > 0:
		return "better"
	default:
		return "worse"
	}
}
