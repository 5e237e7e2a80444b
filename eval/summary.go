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
		{"rollbacks", "Rollbacks", false, func(e *Episode) float64 { return float64(e.Rollbacks) }},
		{"needless_rollbacks", "Needless rollbacks", false, func(e *Episode) float64 { return float64(e.NeedlessRollbacks()) }},
	}
}

// Pooled summaries: OverallScenario pools the training-suite scenarios
// evaluated, OverallHeldOut the held-out ones (IsHeldOut); episodes are
// paired by scenario and index.
const (
	OverallScenario = "overall"
	OverallHeldOut  = "overall (held-out)"
)

// Summary is one policy on one scenario (or a pool), over all its runs.
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
	// Diff is the mean paired difference of returns with its interval;
	// each side's value for a seed is its mean over the policy's runs.
	Diff Interval
}

// Summaries holds every summary and comparison of a Results.
type Summaries struct {
	// Scenarios lists the evaluated training-suite scenarios followed by
	// OverallScenario (empty when none was evaluated).
	Scenarios []string
	// HeldOut lists the evaluated held-out scenarios followed by
	// OverallHeldOut (empty when none was evaluated).
	HeldOut []string
	// ByKey maps scenario (or pool) then policy to its summary.
	ByKey map[string]map[string]*Summary
	// Comparisons of the headline trained policy against every other
	// policy, per scenario and pool.
	Comparisons []Comparison
	// Headline is the trained policy compared ("" without one).
	Headline string
}

// Comparison returns the comparison of the headline policy with baseline
// on scenario, and whether there is one.
func (s *Summaries) Comparison(scenario, baseline string) (Comparison, bool) {
	for _, c := range s.Comparisons {
		if c.Scenario == scenario && c.Baseline == baseline {
			return c, true
		}
	}
	return Comparison{}, false
}

// suites splits the evaluated scenarios into the training suite and the
// held-out suite, in evaluation order.
func (r *Results) suites() (train, heldOut []string) {
	for _, sc := range r.Scenarios {
		if IsHeldOut(sc) {
			heldOut = append(heldOut, sc)
		} else {
			train = append(train, sc)
		}
	}
	return train, heldOut
}

// pool returns the scenarios scenario stands for: the suite of a pool
// name, else itself.
func (r *Results) pool(scenario string) []string {
	train, heldOut := r.suites()
	switch scenario {
	case OverallScenario:
		return train
	case OverallHeldOut:
		return heldOut
	}
	return []string{scenario}
}

// values collects metric m of the episodes of scenario (or a pool) and
// policy, every run, in episode order, NaNs kept.
func (r *Results) values(scenario, pol string, m Metric) []float64 {
	pool := r.pool(scenario)
	var out []float64
	for i := range r.Episodes {
		e := &r.Episodes[i]
		if e.Policy == pol && slices.Contains(pool, e.Scenario) {
			out = append(out, m.Value(e))
		}
	}
	return out
}

// seedMeans collects metric m of policy pol per evaluated seed of
// scenario (or a pool), in (scenario, index) order, as the mean over the
// policy's runs: what paired comparisons pair.
func (r *Results) seedMeans(scenario, pol string, m Metric) []float64 {
	pool := r.pool(scenario)
	type key struct {
		scenario string
		index    int
	}
	pos := make(map[key]int)
	var sums, counts []float64
	for i := range r.Episodes {
		e := &r.Episodes[i]
		if e.Policy != pol || !slices.Contains(pool, e.Scenario) {
			continue
		}
		k := key{e.Scenario, e.Index}
		j, ok := pos[k]
		if !ok {
			j = len(sums)
			pos[k] = j
			sums, counts = append(sums, 0), append(counts, 0)
		}
		sums[j] += m.Value(e)
		counts[j]++
	}
	for j := range sums {
		sums[j] /= counts[j]
	}
	return sums
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
// return differences, per scenario and per pool, deterministically from
// the config's seed. A trained policy's intervals pool the episodes of
// all its runs; its paired differences pair each seed's mean over runs.
func (r *Results) Summarize() *Summaries {
	rng := rand.New(rand.NewPCG(r.Config.Seed, 0xb0075)) // bootstrap stream
	train, heldOut := r.suites()
	s := &Summaries{ByKey: make(map[string]map[string]*Summary), Headline: r.Headline()}
	if len(train) > 0 {
		s.Scenarios = append(train, OverallScenario)
	}
	if len(heldOut) > 0 {
		s.HeldOut = append(heldOut, OverallHeldOut)
	}
	ms := Metrics()
	for _, sc := range slices.Concat(s.Scenarios, s.HeldOut) {
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
		a := r.seedMeans(sc, s.Headline, ms[0])
		for _, p := range r.Policies {
			if p == s.Headline {
				continue
			}
			d, err := PairedDiff(a, r.seedMeans(sc, p, ms[0]), r.Config.Bootstrap, r.Config.Confidence, rng)
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
