package eval

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// ProfileChart is the file name of the performance profile.
const ProfileChart = "profile.png"

// Range of tau the performance profile shows. The share of scores above
// tau is exact at every tau drawn; scores outside the range only decide
// the level at its ends.
const (
	profileTauMin = -1.0
	profileTauMax = 2.0
)

// Profile holds the normalised scores of the performance profile: per
// policy, its (run x scenario) mean returns on the training suite
// normalised per scenario so that noop's mean return is 0 and the best
// baseline's (the highest mean return of the baselines other than noop)
// is 1.
type Profile struct {
	// Policies lists the policies drawn: the trained headline, runbook
	// and hpa, those evaluated.
	Policies []string
	// Scores[p] holds policy p's normalised scores.
	Scores map[string][]float64
	// Skipped lists the scenarios left out because the best baseline did
	// not beat noop there (no scale to normalise by).
	Skipped []string
}

// FractionAbove returns the share of scores strictly above tau (0 for no
// scores): the performance profile at tau.
func FractionAbove(scores []float64, tau float64) float64 {
	if len(scores) == 0 {
		return 0
	}
	n := 0
	for _, s := range scores {
		if s > tau {
			n++
		}
	}
	return float64(n) / float64(len(scores))
}

// Profile computes the performance profile's scores, or nil when it
// cannot be drawn: without noop, without another baseline, or without a
// policy to draw.
func (r *Results) Profile() *Profile {
	train, _ := r.suites()
	var baselines []string
	for _, p := range r.Policies {
		if !isTrained(p) && p != "noop" {
			baselines = append(baselines, p)
		}
	}
	pr := &Profile{Scores: make(map[string][]float64)}
	for _, p := range []string{r.Headline(), "runbook", "hpa"} {
		if p != "" && slices.Contains(r.Policies, p) {
			pr.Policies = append(pr.Policies, p)
		}
	}
	if !slices.Contains(r.Policies, "noop") || len(baselines) == 0 || len(pr.Policies) == 0 || len(train) == 0 {
		return nil
	}
	ret := Metrics()[0]
	for _, sc := range train {
		zero := stat.Mean(r.values(sc, "noop", ret), nil)
		one := math.Inf(-1)
		for _, b := range baselines {
			one = math.Max(one, stat.Mean(r.values(sc, b, ret), nil))
		}
		if !(one > zero) {
			pr.Skipped = append(pr.Skipped, sc)
			continue
		}
		for _, p := range pr.Policies {
			for run := range r.Runs(p) {
				eps := cell(r.Episodes, sc, p, run)
				if len(eps) == 0 {
					continue
				}
				sum := 0.0
				for _, e := range eps {
					sum += e.Return
				}
				pr.Scores[p] = append(pr.Scores[p], (sum/float64(len(eps))-zero)/(one-zero))
			}
		}
	}
	return pr
}

// writeProfileChart draws the performance profile: per policy, the share
// of its (run x scenario) normalised scores above tau.
func writeProfileChart(w io.Writer, pr *Profile) error {
	p := plot.New()
	p.Title.Text = "Performance profile, training suite: share of (run x scenario) scores above tau"
	p.X.Label.Text = "tau (mean return normalised per scenario: noop = 0, best baseline = 1)"
	p.Y.Label.Text = "fraction of runs x scenarios with score > tau"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = profileTauMin, profileTauMax, 0, 1.02
	p.Legend.Top = true
	for i, pol := range pr.Policies {
		scores := pr.Scores[pol]
		taus := []float64{profileTauMin}
		for _, s := range slices.Sorted(slices.Values(scores)) {
			if s > profileTauMin && s < profileTauMax {
				taus = append(taus, s)
			}
		}
		taus = append(taus, profileTauMax)
		xys := make(plotter.XYs, len(taus))
		for k, tau := range taus {
			xys[k] = plotter.XY{X: tau, Y: FractionAbove(scores, tau)}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("draw profile: %w", err)
		}
		line.StepStyle = plotter.PostStep
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(2)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (%d scores)", pol, len(scores)), line)
	}
	for _, x := range []float64{0, 1} {
		ref, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: 1.02}})
		if err != nil {
			return fmt.Errorf("draw profile: %w", err)
		}
		ref.Color = color.Gray{Y: 150}
		ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(ref)
	}
	p.Add(plotter.NewGrid())
	return writePNG(w, p, 9*vg.Inch, 5.5*vg.Inch)
}
