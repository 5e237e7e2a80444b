package preview

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// lastValue is the last finite value of s (Grafana's lastNotNull).
func lastValue(s series) (float64, bool) {
	for i := len(s.v) - 1; i >= 0; i-- {
		if v := s.v[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, true
		}
	}
	return 0, false
}

// stat draws the last value large over a sparkline of the range.
func (c *canvas) stat(p panelSpec, d panelData, body vg.Rectangle, src *source) {
	var s series
	for _, x := range d.series {
		if x.finite() > 0 {
			s = x
			break
		}
	}
	v, _ := lastValue(s)
	spark := body
	spark.Max.Y = body.Min.Y + (body.Max.Y-body.Min.Y)*0.45
	pl := plot.New()
	pl.BackgroundColor = color.Transparent
	pl.HideAxes()
	pl.X.Min, pl.X.Max = unix(src.start), unix(src.end)
	c.addLine(pl, s.v, src, withAlpha(statColor, 0.5), 0.12)
	if pl.Y.Min >= pl.Y.Max {
		pl.Y.Min, pl.Y.Max = pl.Y.Min-1, pl.Y.Max+1
	}
	pl.Draw(draw.Canvas{Canvas: c.img, Rectangle: spark})
	sty := c.style(40, statColor, true)
	sty.XAlign, sty.YAlign = text.XCenter, text.YCenter
	c.text(sty, vg.Point{X: (body.Min.X + body.Max.X) / 2, Y: body.Min.Y + (body.Max.Y-body.Min.Y)*0.6},
		formatValue(v, p.unit, p.decimals), body.Max.X-body.Min.X)
}

// barGauge draws one horizontal bar per series (last value), coloured
// blue-yellow-red by its share of the largest, with the unfilled rest.
func (c *canvas) barGauge(p panelSpec, d panelData, body vg.Rectangle) {
	type bar struct {
		name string
		v    float64
	}
	var bars []bar
	top := 0.0
	for _, s := range d.series {
		if v, ok := lastValue(s); ok {
			bars = append(bars, bar{s.name, v})
			top = max(top, v)
		}
	}
	if p.max != nil {
		top = *p.max
	}
	lo := 0.0
	if p.min != nil {
		lo = *p.min
	}
	sty := c.style(12, textColor, false)
	sty.YAlign = text.YCenter
	labelW := vg.Length(0)
	for _, b := range bars {
		labelW = max(labelW, sty.Width(b.name))
	}
	valW := c.px(70)
	h := (body.Max.Y - body.Min.Y) / vg.Length(len(bars))
	for i, b := range bars {
		y1 := body.Max.Y - vg.Length(i)*h
		y0 := y1 - h + min(c.px(3), h/4)
		mid := (y0 + y1) / 2
		c.text(sty, vg.Point{X: body.Min.X, Y: mid}, b.name, 0)
		x0, x1 := body.Min.X+labelW+c.px(8), body.Max.X-valW
		c.fillRect(vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x1, Y: y1}}, gridColor)
		frac := 0.0
		if top > lo {
			frac = math.Min(1, math.Max(0, (b.v-lo)/(top-lo)))
		}
		if frac > 0 {
			c.fillRect(vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x0 + vg.Length(frac)*(x1-x0), Y: y1}}, blueYellowRed(frac))
		}
		vs := sty
		vs.XAlign = text.XRight
		c.text(vs, vg.Point{X: body.Max.X, Y: mid}, formatValue(b.v, p.unit, p.decimals), 0)
	}
}

// blueYellowRed is Grafana's continuous-BlYlRd scheme at f in [0, 1].
func blueYellowRed(f float64) color.Color {
	stops := []color.RGBA{rgb(0x1f, 0x60, 0xc4), rgb(0xfa, 0xde, 0x2a), rgb(0xe0, 0x2f, 0x44)}
	return lerpColors(stops, f)
}

// orange is Grafana's "Oranges" scheme at f in [0, 1].
func orange(f float64) color.Color {
	return lerpColors([]color.RGBA{rgb(0xfe, 0xe6, 0xce), rgb(0xfd, 0x8d, 0x3c), rgb(0xa6, 0x36, 0x03)}, f)
}

func lerpColors(stops []color.RGBA, f float64) color.RGBA {
	f = math.Min(1, math.Max(0, f)) * float64(len(stops)-1)
	i := min(int(f), len(stops)-2)
	t := f - float64(i)
	a, b := stops[i], stops[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-t) + float64(y)*t)) }
	return color.RGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 255}
}

// heatmap draws per-bucket counts over time, one row per bucket, hiding
// empty cells like the dashboard's filterValues (le 1e-9).
func (c *canvas) heatmap(p panelSpec, d panelData, body vg.Rectangle, src *source) {
	pl := c.newPlot("", src, false)
	cells := &cellGrid{rows: d.series, start: unix(src.start), step: src.step.Seconds()}
	for _, s := range d.series {
		for _, v := range s.v {
			if !math.IsNaN(v) {
				cells.top = max(cells.top, v)
			}
		}
	}
	pl.Add(cells)
	labels := make([]plot.Tick, len(d.series))
	for i, s := range d.series {
		labels[i] = plot.Tick{Value: float64(i) + 0.5, Label: formatValue(s.le, p.unit, -1)}
	}
	pl.Y.Tick.Marker = plot.ConstantTicks(labels)
	pl.Y.Min, pl.Y.Max = 0, float64(max(len(d.series), 1))
	pl.Draw(draw.Canvas{Canvas: c.img, Rectangle: body})
}

// cellGrid is a heatmap plotter: row r is series r, column k the k-th
// step, coloured by value relative to the largest.
type cellGrid struct {
	rows        []series
	start, step float64
	top         float64
}

func (g *cellGrid) Plot(c draw.Canvas, pl *plot.Plot) {
	if !(g.top > 1e-9) {
		return
	}
	trX, trY := pl.Transforms(&c)
	for r, s := range g.rows {
		for k, v := range s.v {
			if math.IsNaN(v) || v <= 1e-9 {
				continue
			}
			x0, x1 := trX(g.start+float64(k)*g.step-g.step/2), trX(g.start+float64(k)*g.step+g.step/2)
			y0, y1 := trY(float64(r)), trY(float64(r+1))
			pts := c.ClipPolygonXY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			c.FillPolygon(orange(math.Pow(v/g.top, 0.5)), pts)
		}
	}
}

func (g *cellGrid) DataRange() (xmin, xmax, ymin, ymax float64) {
	n := 0
	if len(g.rows) > 0 {
		n = len(g.rows[0].v)
	}
	return g.start, g.start + float64(max(n-1, 0))*g.step, 0, float64(len(g.rows))
}

var (
	_ plot.Plotter    = (*cellGrid)(nil)
	_ plot.DataRanger = (*cellGrid)(nil)
)
