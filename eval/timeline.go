package eval

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"podmedic/envsim"
)

// ErrEmptyTrace is returned when a timeline is asked for a trace without
// steps.
var ErrEmptyTrace = errors.New("eval: empty trace")

// Timeline panel size and colours.
const (
	timelineWidth  = 12 * vg.Inch
	panelHeight    = 1.9 * vg.Inch
	healthRowUnits = 0.22 * vg.Inch
)

var (
	faultColor  = color.RGBA{R: 220, G: 40, B: 40, A: 255}
	actionColor = color.RGBA{R: 40, G: 90, B: 220, A: 255}
	// podStateColors colours the health strip by envsim.PodState.
	podStateColors = map[envsim.PodState]color.Color{
		envsim.PodEmpty:       color.RGBA{R: 245, G: 245, B: 245, A: 255},
		envsim.PodStarting:    color.RGBA{R: 120, G: 170, B: 240, A: 255},
		envsim.PodHealthy:     color.RGBA{R: 60, G: 170, B: 80, A: 255},
		envsim.PodDegraded:    color.RGBA{R: 245, G: 185, B: 40, A: 255},
		envsim.PodCrashed:     color.RGBA{R: 210, G: 40, B: 40, A: 255},
		envsim.PodLost:        color.RGBA{R: 150, G: 90, B: 200, A: 255},
		envsim.PodTerminating: color.RGBA{R: 130, G: 130, B: 130, A: 255},
		envsim.PodDrained:     color.RGBA{R: 90, G: 200, B: 200, A: 255},
	}
)

// WriteTimelinePNG draws tr as stacked panels sharing the time axis
// (minutes): request rate; replicas (live, ready, healthy); CPU and
// memory; p95 latency; error rate; and a per-pod health strip coloured by
// state. Red vertical lines mark fault starts, blue ones applied actions.
func WriteTimelinePNG(w io.Writer, tr *envsim.Trace, title string) error {
	return WriteTimelinesPNG(w, []*envsim.Trace{tr}, []string{title})
}

// WriteTimelinesPNG draws several traces side by side (for example the
// trained policy and hpa on the same seed), one column each with its
// title.
func WriteTimelinesPNG(w io.Writer, trs []*envsim.Trace, titles []string) error {
	if len(trs) == 0 || len(trs) != len(titles) {
		return fmt.Errorf("draw timeline: %d traces for %d titles", len(trs), len(titles))
	}
	var cols [][]*plot.Plot
	rows := 0
	slots := 0
	for i, tr := range trs {
		if tr == nil || len(tr.Steps) == 0 {
			return fmt.Errorf("draw timeline %q: %w", titles[i], ErrEmptyTrace)
		}
		ps, err := timelinePanels(tr, titles[i])
		if err != nil {
			return fmt.Errorf("draw timeline %q: %w", titles[i], err)
		}
		cols = append(cols, ps)
		rows = len(ps)
		slots = max(slots, usedSlots(tr))
	}
	stripH := vg.Length(slots)*healthRowUnits + 0.8*vg.Inch
	height := vg.Length(rows-1)*panelHeight + stripH
	img := vgimg.New(timelineWidth*vg.Length(len(trs)), height)
	dc := draw.New(img)
	// Panels are drawn top to bottom; the last (health strip) gets its
	// own height, so draw it separately below the aligned metric panels.
	top := draw.Crop(dc, 0, 0, stripH, 0)
	bottom := draw.Crop(dc, 0, 0, 0, -(height - stripH))
	grid := make([][]*plot.Plot, rows-1)
	for r := range grid {
		grid[r] = make([]*plot.Plot, len(cols))
		for c := range cols {
			grid[r][c] = cols[c][r]
		}
	}
	tiles := draw.Tiles{Rows: rows - 1, Cols: len(cols), PadX: vg.Inch / 4, PadY: vg.Inch / 12,
		PadTop: vg.Inch / 12, PadLeft: vg.Inch / 12, PadRight: vg.Inch / 6}
	canvases := plot.Align(grid, tiles, top)
	for r := range grid {
		for c := range grid[r] {
			grid[r][c].Draw(canvases[r][c])
		}
	}
	strips := draw.Tiles{Rows: 1, Cols: len(cols), PadX: vg.Inch / 4, PadLeft: vg.Inch / 12,
		PadRight: vg.Inch / 6, PadBottom: vg.Inch / 12}
	stripCanvases := plot.Align([][]*plot.Plot{lastRow(cols)}, strips, bottom)
	for c := range cols {
		cols[c][rows-1].Draw(stripCanvases[0][c])
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("write timeline png: %w", err)
	}
	return nil
}

func lastRow(cols [][]*plot.Plot) []*plot.Plot {
	out := make([]*plot.Plot, len(cols))
	for i, c := range cols {
		out[i] = c[len(c)-1]
	}
	return out
}

// usedSlots is one past the highest pod slot that ever held a pod.
func usedSlots(tr *envsim.Trace) int {
	n := 1
	for _, s := range tr.Steps {
		for i, p := range s.Pods {
			if p != envsim.PodEmpty {
				n = max(n, i+1)
			}
		}
	}
	return n
}

// timelinePanels builds the panels of one trace, top to bottom.
func timelinePanels(tr *envsim.Trace, title string) ([]*plot.Plot, error) {
	minutes := func(s envsim.TraceStep) float64 { return s.TimeSeconds / 60 }
	series := func(f func(envsim.TraceStep) float64) plotter.XYs {
		xy := make(plotter.XYs, len(tr.Steps))
		for i, s := range tr.Steps {
			xy[i].X, xy[i].Y = minutes(s), f(s)
		}
		return xy
	}
	type line struct {
		name string
		xy   plotter.XYs
		col  color.Color
	}
	panel := func(ylabel string, ymin, ymax float64, lines ...line) (*plot.Plot, error) {
		p := plot.New()
		p.Y.Label.Text = ylabel
		p.Y.Min, p.Y.Max = ymin, ymax
		p.Legend.Top, p.Legend.Left = true, false
		p.Add(plotter.NewGrid())
		p.Add(&markers{tr: tr})
		for _, l := range lines {
			pl, err := plotter.NewLine(l.xy)
			if err != nil {
				return nil, fmt.Errorf("line %s: %w", l.name, err)
			}
			pl.Color = l.col
			pl.Width = vg.Points(1.5)
			pl.StepStyle = plotter.PostStep
			p.Add(pl)
			p.Legend.Add(l.name, pl)
		}
		for _, l := range lines {
			for _, v := range l.xy {
				p.Y.Max = max(p.Y.Max, v.Y*1.05)
			}
		}
		return p, nil
	}
	black := color.RGBA{A: 255}
	green := color.RGBA{G: 140, A: 255}
	orange := color.RGBA{R: 230, G: 120, A: 255}
	blue := color.RGBA{B: 200, A: 255}
	var ps []*plot.Plot
	add := func(p *plot.Plot, err error) error {
		if err != nil {
			return err
		}
		ps = append(ps, p)
		return nil
	}
	errs := []error{
		add(panel("requests/s", 0, 1, line{"request rate", series(func(s envsim.TraceStep) float64 { return s.RequestRate }), black})),
		add(panel("pods", 0, 1,
			line{"replicas", series(func(s envsim.TraceStep) float64 { return float64(s.Replicas) }), black},
			line{"ready", series(func(s envsim.TraceStep) float64 { return float64(s.Ready) }), blue},
			line{"healthy", series(func(s envsim.TraceStep) float64 { return float64(s.Healthy) }), green})),
		add(panel("fraction of limit", 0, 1,
			line{"cpu", series(func(s envsim.TraceStep) float64 { return s.AvgCPU }), orange},
			line{"memory", series(func(s envsim.TraceStep) float64 { return s.AvgMemory }), blue})),
		add(panel("p95 latency (ms)", 0, 100, line{"p95 latency", series(func(s envsim.TraceStep) float64 { return s.LatencyP95Ms }), orange})),
		add(panel("error rate (%)", 0, 1, line{"errors", series(func(s envsim.TraceStep) float64 { return 100 * s.ErrorRate }), faultColor})),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ps[0].Title.Text = fmt.Sprintf("%s — scenario %s, policy %s, seed %d, return %.1f", title, tr.Scenario, tr.Policy, tr.Seed, tr.Return())
	strip := plot.New()
	strip.Add(&healthStrip{tr: tr, slots: usedSlots(tr)})
	strip.Add(&markers{tr: tr})
	strip.Y.Label.Text = "pod slot"
	strip.Y.Min, strip.Y.Max = 0, float64(usedSlots(tr))
	strip.X.Label.Text = "time (min)   [red: fault start, blue: action]"
	for _, st := range []envsim.PodState{envsim.PodHealthy, envsim.PodDegraded, envsim.PodStarting, envsim.PodLost, envsim.PodCrashed, envsim.PodDrained, envsim.PodTerminating} {
		strip.Legend.Add(st.String(), boxThumb{podStateColors[st]})
	}
	strip.Legend.Top, strip.Legend.Left = true, false
	ps = append(ps, strip)
	xmax := tr.Steps[len(tr.Steps)-1].TimeSeconds/60 + envsim.StepSeconds/60
	for _, p := range ps {
		// Room on the right for the legends, clear of the data.
		p.X.Min, p.X.Max = 0, xmax*1.13
		p.X.Tick.Marker = everyTicks(5, xmax)
	}
	ps[1].Y.Tick.Marker = everyTicks(math.Max(1, math.Ceil(ps[1].Y.Max/6)), ps[1].Y.Max)
	strip.Y.Tick.Marker = everyTicks(math.Max(1, math.Ceil(strip.Y.Max/8)), strip.Y.Max-1)
	return ps, nil
}

// everyTicks labels multiples of step from 0 to limit.
func everyTicks(step, limit float64) plot.Ticker {
	return plot.TickerFunc(func(_, _ float64) []plot.Tick {
		var ts []plot.Tick
		for v := 0.0; v <= limit+1e-9; v += step {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
		return ts
	})
}

// boxThumb is a filled square legend thumbnail.
type boxThumb struct{ c color.Color }

// Thumbnail implements plot.Thumbnailer.
func (b boxThumb) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.c, c.ClipPolygonXY([]vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y},
	}))
}

// markers draws vertical lines at fault starts and applied actions.
type markers struct{ tr *envsim.Trace }

// Plot implements plot.Plotter.
func (m *markers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	faultStyle := draw.LineStyle{Color: faultColor, Width: vg.Points(1.2)}
	actStyle := draw.LineStyle{Color: actionColor, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
	for _, s := range m.tr.Steps {
		x := trX(s.TimeSeconds / 60)
		for _, e := range s.Events {
			if e.Kind == envsim.EventFaultStarted {
				c.StrokeLine2(faultStyle, x, c.Min.Y, x, c.Max.Y)
				break
			}
		}
		if s.Step > 0 && s.Action != envsim.ActionNoop && s.Invalid == envsim.ValidAction {
			c.StrokeLine2(actStyle, x, c.Min.Y, x, c.Max.Y)
		}
	}
}

// healthStrip draws one row per pod slot, one cell per step, coloured by
// state.
type healthStrip struct {
	tr    *envsim.Trace
	slots int
}

// Plot implements plot.Plotter.
func (h *healthStrip) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	dt := envsim.StepSeconds / 60
	for _, s := range h.tr.Steps {
		x0, x1 := trX(s.TimeSeconds/60), trX(s.TimeSeconds/60+dt)
		for slot := 0; slot < h.slots && slot < len(s.Pods); slot++ {
			y0, y1 := trY(float64(slot)+0.1), trY(float64(slot)+0.9)
			c.FillPolygon(podStateColors[s.Pods[slot]], []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		}
	}
}
