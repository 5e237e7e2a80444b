package eval

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// SuiteRuns is the across-runs view of one suite (training or held-out):
// the headline policy's per-run results and every policy's interquartile
// mean over (run x scenario) scores (Agarwal et al. 2021; Henderson et al.
// 2018: several training seeds, never one).
type SuiteRuns struct {
	// Name is "training suite" or "held-out suite"; Scenarios lists its
	// evaluated scenarios.
	Name      string
	Scenarios []string
	// RunMeans[s][r] is the headline policy's mean return of run r on
	// Scenarios[s]; Overall[r] the mean of run r over the suite (every
	// scenario weighted equally). Empty without a headline policy.
	RunMeans [][]float64
	Overall  []float64
	// Min, Max and StdDev (sample standard deviation) describe the spread
	// of Overall between runs; StdDev is NaN with one run.
	Min, Max, StdDev float64
	// IQM holds, per policy, the interquartile mean of its (run x
	// scenario) mean returns with a stratified bootstrap interval
	// (StratifiedIQM).
	IQM map[string]Interval
	// DiffIQM holds, per other policy b, the interquartile mean of the
	// headline's (run x scenario) mean paired differences against b (run r
	// of the headline minus b on the same seeds: b's run r when b has as
	// many runs, else its only run), with the same bootstrap.
	DiffIQM map[string]Interval
}

// AcrossRuns holds the statistics across training runs: the headline
// trained policy (Policy, "" without one) with Runs runs, per suite.
type AcrossRuns struct {
	Policy string
	Runs   int
	Suites []SuiteRuns
}

// cell returns the episodes of policy pol's run on scenario, by index.
func cell(eps []Episode, scenario, pol string, run int) []*Episode {
	var out []*Episode
	for i := range eps {
		e := &eps[i]
		if e.Scenario == scenario && e.Policy == pol && e.Run == run {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *Episode) int { return a.Index - b.Index })
	return out
}

// AcrossRuns computes the across-runs statistics of both suites,
// deterministically from the config's seed.
func (r *Results) AcrossRuns() *AcrossRuns {
	rng := rand.New(rand.NewPCG(r.Config.Seed, 0x1a4)) // IQM bootstrap stream
	ar := &AcrossRuns{Policy: r.Headline()}
	if ar.Policy != "" {
		ar.Runs = r.Runs(ar.Policy)
	}
	train, heldOut := r.suites()
	for _, su := range []struct {
		name      string
		scenarios []string
	}{{"training suite", train}, {"held-out suite", heldOut}} {
		if len(su.scenarios) == 0 {
			continue
		}
		ar.Suites = append(ar.Suites, r.suiteRuns(su.name, su.scenarios, ar.Policy, rng))
	}
	return ar
}

func (r *Results) suiteRuns(name string, scenarios []string, headline string, rng *rand.Rand) SuiteRuns {
	sr := SuiteRuns{Name: name, Scenarios: scenarios, Min: math.NaN(), Max: math.NaN(), StdDev: math.NaN(),
		IQM: make(map[string]Interval), DiffIQM: make(map[string]Interval)}
	returns := func(eps []*Episode) []float64 {
		out := make([]float64, len(eps))
		for i, e := range eps {
			out[i] = e.Return
		}
		return out
	}
	// cells[p][s][run] holds the returns of policy p.
	cells := make(map[string][][][]float64)
	for _, p := range r.Policies {
		cs := make([][][]float64, len(scenarios))
		for s, sc := range scenarios {
			for run := range r.Runs(p) {
				if c := returns(cell(r.Episodes, sc, p, run)); len(c) > 0 {
					cs[s] = append(cs[s], c)
				}
			}
		}
		cells[p] = cs
		if iv, err := StratifiedIQM(cs, r.Config.Bootstrap, r.Config.Confidence, rng); err == nil {
			sr.IQM[p] = iv
		}
	}
	if headline == "" {
		return sr
	}
	hc := cells[headline]
	runs := r.Runs(headline)
	sr.Overall = make([]float64, runs)
	sr.RunMeans = make([][]float64, len(scenarios))
	for s := range scenarios {
		sr.RunMeans[s] = make([]float64, runs)
		for run := range runs {
			if run < len(hc[s]) {
				sr.RunMeans[s][run] = stat.Mean(hc[s][run], nil)
			} else {
				sr.RunMeans[s][run] = math.NaN()
			}
			sr.Overall[run] += sr.RunMeans[s][run] / float64(len(scenarios))
		}
	}
	sr.Min, sr.Max = slices.Min(sr.Overall), slices.Max(sr.Overall)
	if runs > 1 {
		sr.StdDev = stat.StdDev(sr.Overall, nil)
	}
	for _, b := range r.Policies {
		if b == headline {
			continue
		}
		bc := cells[b]
		ds := make([][][]float64, len(scenarios))
		for s := range scenarios {
			for run := range hc[s] {
				brun := 0
				if len(bc[s]) == len(hc[s]) {
					brun = run
				}
				if brun >= len(bc[s]) || len(bc[s][brun]) != len(hc[s][run]) {
					continue
				}
				d := make([]float64, len(hc[s][run]))
				for i := range d {
					d[i] = hc[s][run][i] - bc[s][brun][i]
				}
				ds[s] = append(ds[s], d)
			}
		}
		if iv, err := StratifiedIQM(ds, r.Config.Bootstrap, r.Config.Confidence, rng); err == nil {
			sr.DiffIQM[b] = iv
		}
	}
	return sr
}
