package eval

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// errorBars pairs bar tops with their interval half-widths, the shape
// plotter.NewYErrorBars reads.
type errorBars struct {
	plotter.XYs
	plotter.YErrors
}

// writeReturnsChart draws grouped bars: mean return per scenario per
// policy, with the confidence interval as error bars, for the training
// suite (the held-out one when only it was evaluated). Positions are in
// data units (one scenario per unit); the bar width in points is derived
// from the chart width so bars and whiskers line up.
func writeReturnsChart(w io.Writer, r *Results, s *Summaries) error {
	p := plot.New()
	scenarios := s.Scenarios
	p.Title.Text = "Mean episode return per scenario (bars: mean, whiskers: bootstrap CI)"
	if len(scenarios) == 0 {
		scenarios = s.HeldOut
		p.Title.Text = "Mean episode return per held-out condition (bars: mean, whiskers: bootstrap CI)"
	}
	p.Y.Label.Text = "return"
	p.Legend.Top = true
	const chartWidth = 16 * vg.Inch
	np, ns := len(r.Policies), len(scenarios)
	dw := 0.8 / float64(np)
	width := vg.Length(0.9 * dw * float64(chartWidth-1.2*vg.Inch) / float64(ns))
	for i, pol := range r.Policies {
		vals := make(plotter.Values, ns)
		eb := errorBars{XYs: make(plotter.XYs, ns), YErrors: make(plotter.YErrors, ns)}
		off := (float64(i) - float64(np-1)/2) * dw
		for j, sc := range scenarios {
			iv := s.ByKey[sc][pol].Metrics["return"]
			vals[j] = iv.Mean
			eb.XYs[j] = plotter.XY{X: float64(j) + off, Y: iv.Mean}
			eb.YErrors[j].Low, eb.YErrors[j].High = iv.Mean-iv.Lo, iv.Hi-iv.Mean
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return fmt.Errorf("draw returns: %w", err)
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.XMin = off
		yerr, err := plotter.NewYErrorBars(eb)
		if err != nil {
			return fmt.Errorf("draw returns: %w", err)
		}
		yerr.LineStyle.Color = color.Black
		p.Add(bars, yerr)
		p.Legend.Add(pol, bars)
	}
	p.NominalX(scenarios...)
	p.X.Max += 1.3 // room for the legend right of the last group
	p.X.Tick.Label.Rotation = math.Pi / 5
	p.X.Tick.Label.XAlign = draw.XRight
	p.Add(plotter.NewGrid())
	return writePNG(w, p, chartWidth, 6*vg.Inch)
}

// writeRecoveryChart draws box plots of the recovery times (steps) of
// every incident, per policy, over all scenarios.
func writeRecoveryChart(w io.Writer, r *Results) error {
	p := plot.New()
	p.Title.Text = "Time to recover per incident, all scenarios (steps of 15 s; box: quartiles, whiskers: 1.5 IQR)"
	p.Y.Label.Text = "steps to full recovery"
	var names []string
	for i, pol := range r.Policies {
		var vals plotter.Values
		for k := range r.Episodes {
			e := &r.Episodes[k]
			if e.Policy == pol {
				for _, v := range e.RecoverySteps {
					vals = append(vals, float64(v))
				}
			}
		}
		if len(vals) == 0 {
			vals = plotter.Values{0}
		}
		box, err := plotter.NewBoxPlot(vg.Points(40), float64(i), vals)
		if err != nil {
			return fmt.Errorf("draw recovery: %w", err)
		}
		box.FillColor = plotutil.Color(i)
		p.Add(box)
		names = append(names, fmt.Sprintf("%s (n=%d)", pol, len(vals)))
	}
	p.NominalX(names...)
	p.Add(plotter.NewGrid())
	return writePNG(w, p, 10*vg.Inch, 5*vg.Inch)
}

func writePNG(w io.Writer, p *plot.Plot, width, height vg.Length) error {
	img := vgimg.New(width, height)
	p.Draw(draw.New(img))
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("write png: %w", err)
	}
	return nil
}
