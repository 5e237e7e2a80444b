package preview

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"time"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Sizes in pixels of a preview 1800 px wide; they scale with the width.
const (
	dpi          = 96
	headerPx     = 104 // title block above the grid
	unitPx       = 30  // one grid row, as in Grafana
	panelPadPx   = 4   // gap around each panel
	titlePx      = 24  // panel title band
	legendLinePx = 17
)

var (
	pageColor   = rgb(0xf4, 0xf5, 0xf5)
	panelColor  = color.White
	borderColor = rgb(0xd8, 0xd9, 0xda)
	textColor   = rgb(0x24, 0x29, 0x2e)
	mutedColor  = rgb(0x6e, 0x72, 0x80)
	gridColor   = rgb(0xe8, 0xe9, 0xea)
	errorColor  = rgb(0xd4, 0x4a, 0x3a)
	statColor   = rgb(0x33, 0x76, 0xd8) // Grafana's "blue" threshold
	badgeColor  = rgb(0xff, 0x78, 0x0a)
	// seriesColors is Grafana's classic palette, in its order.
	seriesColors = []color.Color{
		rgb(0x73, 0xbf, 0x69), rgb(0xf2, 0xcc, 0x0c), rgb(0x8a, 0xb8, 0xff), rgb(0xff, 0x78, 0x0a),
		rgb(0xf2, 0x49, 0x5c), rgb(0x57, 0x94, 0xf2), rgb(0xb8, 0x77, 0xd9), rgb(0x70, 0x5d, 0xa0),
		rgb(0x37, 0x87, 0x2d), rgb(0xfa, 0xde, 0x2a), rgb(0x44, 0x7e, 0xbc), rgb(0xc1, 0x5c, 0x17),
		rgb(0x89, 0x0f, 0x02), rgb(0x0a, 0x43, 0x7c), rgb(0x6d, 0x1f, 0x62), rgb(0x58, 0x41, 0x77),
	}
)

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{R: r, G: g, B: b, A: 255} }

func withAlpha(c color.Color, a float64) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(255 * a)}
}

// panelData is what one panel's queries returned.
type panelData struct {
	series []series
	err    error
}

// canvas is the preview image, laid out on the dashboard's 24-column grid.
type canvas struct {
	img            *vgimg.Canvas
	dc             draw.Canvas
	scale          float64 // image width / 1800 px
	width, height  vg.Length
	colW, unitH    vg.Length
	headerH, padPx vg.Length
}

func newCanvas(l *layout, widthPx int) *canvas {
	c := &canvas{scale: float64(widthPx) / defaultWidth}
	c.width = c.px(defaultWidth)
	c.colW = c.width / 24
	c.unitH = c.px(unitPx)
	c.headerH = c.px(headerPx)
	c.padPx = c.px(panelPadPx)
	c.height = c.headerH + vg.Length(l.height)*c.unitH + c.px(8)
	c.img = vgimg.NewWith(vgimg.UseWH(c.width, c.height), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(pageColor))
	c.dc = draw.New(c.img)
	return c
}

// px converts pixels of an 1800 px wide image to lengths at this width.
func (c *canvas) px(n float64) vg.Length { return vg.Length(n*c.scale) * vg.Inch / dpi }

func (c *canvas) font(sizePx float64, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: c.px(sizePx)}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

func (c *canvas) style(sizePx float64, clr color.Color, bold bool) text.Style {
	return text.Style{Color: clr, Font: c.font(sizePx, bold), Handler: plot.DefaultTextHandler}
}

// grid returns the rectangle of a grid position, inside its padding.
func (c *canvas) grid(g dashboard.GridPos) vg.Rectangle {
	top := c.headerH + vg.Length(g.Y)*c.unitH
	bottom := top + vg.Length(g.H)*c.unitH
	return vg.Rectangle{
		Min: vg.Point{X: vg.Length(g.X)*c.colW + c.padPx, Y: c.height - bottom + c.padPx},
		Max: vg.Point{X: vg.Length(g.X+g.W)*c.colW - c.padPx, Y: c.height - top - c.padPx},
	}
}

func (c *canvas) fillRect(r vg.Rectangle, clr color.Color) {
	c.dc.FillPolygon(clr, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}})
}

func (c *canvas) strokeRect(r vg.Rectangle, clr color.Color) {
	c.dc.StrokeLines(draw.LineStyle{Color: clr, Width: c.px(1)},
		[]vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min})
}

// text draws txt at pt, cut with an ellipsis to maxW (0: no limit).
func (c *canvas) text(sty text.Style, pt vg.Point, txt string, maxW vg.Length) {
	c.dc.FillText(sty, pt, fit(sty, txt, maxW))
}

func fit(sty text.Style, txt string, maxW vg.Length) string {
	if maxW <= 0 || sty.Width(txt) <= maxW {
		return txt
	}
	r := []rune(txt)
	for len(r) > 1 && sty.Width(string(r)+"…") > maxW {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// header titles the image as a preview and states what it shows.
func (c *canvas) header(title, run string, src *source) {
	left := c.px(12)
	top := c.height - c.px(14)
	t := c.style(30, textColor, true)
	t.YAlign = text.YTop
	c.text(t, vg.Point{X: left, Y: top}, title+" dashboard — PREVIEW, not Grafana", 0)
	s := c.style(15, mutedColor, false)
	s.YAlign = text.YTop
	c.text(s, vg.Point{X: left, Y: top - c.px(42)},
		"Drawn by `podmedic dashboard-preview` with gonum/plot from Prometheus range queries of the dashboard defined in ops/grafana.", c.width-c.px(200))
	c.text(s, vg.Point{X: left, Y: top - c.px(64)}, fmt.Sprintf("run %q · %s to %s UTC (%s, step %s, $__rate_interval %s) · Prometheus %s",
		run, src.start.UTC().Format("2006-01-02 15:04:05"), src.end.UTC().Format("15:04:05"),
		durationLabel(src.end.Sub(src.start)), durationLabel(src.step), durationLabel(src.rate), src.base), c.width-c.px(200))
	// The badge.
	b := vg.Rectangle{Min: vg.Point{X: c.width - c.px(170), Y: top - c.px(44)}, Max: vg.Point{X: c.width - c.px(14), Y: top}}
	c.fillRect(b, badgeColor)
	bs := c.style(20, color.White, true)
	bs.XAlign, bs.YAlign = text.XCenter, text.YCenter
	c.text(bs, vg.Point{X: (b.Min.X + b.Max.X) / 2, Y: (b.Min.Y + b.Max.Y) / 2}, "PREVIEW", 0)
}

// row draws a row header across the grid.
func (c *canvas) row(r rowSpec) {
	rect := c.grid(dashboard.GridPos{X: 0, Y: r.y, W: 24, H: 1})
	sty := c.style(18, textColor, true)
	sty.YAlign = text.YCenter
	mid := (rect.Min.Y + rect.Max.Y) / 2
	c.text(sty, vg.Point{X: rect.Min.X + c.px(4), Y: mid}, r.title, 0)
	x := rect.Min.X + c.px(14) + sty.Width(r.title)
	c.dc.StrokeLine2(draw.LineStyle{Color: borderColor, Width: c.px(1)}, x, mid, rect.Max.X, mid)
}

// panel draws one panel's frame, title and content.
func (c *canvas) panel(p panelSpec, d panelData, src *source) {
	r := c.grid(p.grid)
	c.fillRect(r, panelColor)
	c.strokeRect(r, borderColor)
	ts := c.style(15, textColor, true)
	ts.YAlign = text.YCenter
	c.text(ts, vg.Point{X: r.Min.X + c.px(8), Y: r.Max.Y - c.px(titlePx/2+2)}, p.title, r.Max.X-r.Min.X-c.px(16))
	body := vg.Rectangle{Min: vg.Point{X: r.Min.X + c.px(6), Y: r.Min.Y + c.px(4)}, Max: vg.Point{X: r.Max.X - c.px(8), Y: r.Max.Y - c.px(titlePx+2)}}
	points := 0
	for i := range d.series {
		points += d.series[i].finite()
	}
	if points == 0 {
		c.message(body, d.err)
		return
	}
	switch p.kind {
	case kindStat:
		c.stat(p, d, body, src)
	case kindBarGauge:
		c.barGauge(p, d, body)
	case kindHeatmap:
		c.heatmap(p, d, body, src)
	default:
		c.timeSeries(p, d, body, src)
	}
	if d.err != nil { // some queries worked, one failed: say so under the title
		es := c.style(10, errorColor, false)
		es.XAlign, es.YAlign = text.XRight, text.YCenter
		c.text(es, vg.Point{X: r.Max.X - c.px(8), Y: r.Max.Y - c.px(titlePx/2+2)}, "query error", 0)
	}
}

// message fills an empty panel with "No data" or the query error (the
// error, then the query).
func (c *canvas) message(body vg.Rectangle, err error) {
	mid := vg.Point{X: (body.Min.X + body.Max.X) / 2, Y: (body.Min.Y + body.Max.Y) / 2}
	if err == nil {
		s := c.style(16, mutedColor, false)
		s.XAlign, s.YAlign = text.XCenter, text.YCenter
		c.text(s, mid, "No data", 0)
		return
	}
	s := c.style(11, errorColor, false)
	s.XAlign, s.YAlign = text.XCenter, text.YCenter
	w := body.Max.X - body.Min.X - c.px(8)
	var qe *queryError
	if !errors.As(err, &qe) {
		c.text(s, mid, err.Error(), w)
		return
	}
	c.text(s, vg.Point{X: mid.X, Y: mid.Y + c.px(8)}, "query "+qe.refID+" failed: "+qe.err.Error(), w)
	s.Color = mutedColor
	c.text(s, vg.Point{X: mid.X, Y: mid.Y - c.px(8)}, qe.expr, w)
}

// timeSeries draws lines (or stacked areas) over time with a legend below.
func (c *canvas) timeSeries(p panelSpec, d panelData, body vg.Rectangle, src *source) {
	var shown []series
	for _, s := range d.series {
		if s.finite() > 0 {
			shown = append(shown, s)
		}
	}
	legendH := c.legend(shown, body)
	area := body
	area.Min.Y += legendH
	pl := c.newPlot(p.unit, src, true)
	values := make([][]float64, len(shown))
	for i := range shown {
		values[i] = shown[i].v
	}
	if p.stacking == common.StackingModeNormal || p.stacking == common.StackingModePercent {
		values = stack(values, p.stacking == common.StackingModePercent)
		// Top series first, so each lower area is painted over the one above.
		for i := len(values) - 1; i >= 0; i-- {
			c.addLine(pl, values[i], src, seriesColors[i%len(seriesColors)], p.fill)
		}
	} else {
		fill := p.fill
		if len(values) > 3 {
			fill = 0 // many translucent areas over each other hide the lines
		}
		for i := range values {
			c.addLine(pl, values[i], src, seriesColors[i%len(seriesColors)], fill)
		}
	}
	if p.min != nil {
		pl.Y.Min = *p.min
	}
	if p.max != nil {
		pl.Y.Max = *p.max
	}
	if p.stacking == common.StackingModePercent {
		pl.Y.Min, pl.Y.Max = 0, 1
	}
	if pl.Y.Min >= pl.Y.Max {
		pl.Y.Max = pl.Y.Min + 1
	}
	pl.Draw(draw.Canvas{Canvas: c.img, Rectangle: area})
}

// stack turns series into cumulative sums (shares of the total when
// percent), treating a missing value as 0 where another series has one.
func stack(values [][]float64, percent bool) [][]float64 {
	if len(values) == 0 {
		return nil
	}
	n := len(values[0])
	out := make([][]float64, len(values))
	for i := range out {
		out[i] = make([]float64, n)
	}
	for k := 0; k < n; k++ {
		sum, any := 0.0, false
		for i := range values {
			if v := values[i][k]; !math.IsNaN(v) {
				sum += v
				any = true
			}
			out[i][k] = sum
		}
		for i := range out {
			switch {
			case !any:
				out[i][k] = math.NaN()
			case percent && sum > 0:
				out[i][k] /= sum
			case percent:
				out[i][k] = 0
			}
		}
	}
	return out
}

// addLine adds one series to pl, skipping missing values (the dashboard
// spans nulls), with the area below it filled at opacity fill.
func (c *canvas) addLine(pl *plot.Plot, v []float64, src *source, clr color.Color, fill float64) {
	xys := make(plotter.XYs, 0, len(v))
	for i, y := range v {
		if !math.IsNaN(y) && !math.IsInf(y, 0) {
			xys = append(xys, plotter.XY{X: unix(src.start.Add(time.Duration(i) * src.step)), Y: y})
		}
	}
	switch len(xys) {
	case 0:
		return
	case 1:
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return // finite by construction
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: clr, Radius: c.px(2.5), Shape: draw.CircleGlyph{}}
		pl.Add(sc)
		return
	}
	ln, err := plotter.NewLine(xys)
	if err != nil {
		return // finite by construction
	}
	ln.LineStyle = draw.LineStyle{Color: clr, Width: c.px(1.5)}
	if fill > 0 {
		ln.FillColor = withAlpha(clr, fill)
	}
	pl.Add(ln)
}

func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// newPlot returns a plot over the range with the dashboard's look: no
// title, time on X, values in unit on Y, light grid.
func (c *canvas) newPlot(unit string, src *source, grid bool) *plot.Plot {
	pl := plot.New()
	pl.BackgroundColor = color.Transparent
	for _, ax := range []*plot.Axis{&pl.X, &pl.Y} {
		sty := c.style(12, mutedColor, false)
		sty.XAlign, sty.YAlign = ax.Tick.Label.XAlign, ax.Tick.Label.YAlign // gonum's: centred under X ticks, right of Y
		ax.Tick.Label = sty
		ax.Tick.LineStyle = draw.LineStyle{Color: borderColor, Width: c.px(1)}
		ax.Tick.Length = c.px(3)
		ax.LineStyle = draw.LineStyle{Color: borderColor, Width: c.px(1)}
		ax.Padding = 0
	}
	pl.X.Tick.Marker = timeTicks{}
	pl.Y.Tick.Marker = unitTicks{unit: unit}
	pl.X.Min, pl.X.Max = unix(src.start), unix(src.end)
	if grid {
		g := plotter.NewGrid()
		g.Vertical.Color, g.Horizontal.Color = gridColor, gridColor
		g.Vertical.Width, g.Horizontal.Width = c.px(1), c.px(1)
		pl.Add(g)
	}
	return pl
}

// legend draws the series names under a graph, wrapping into at most
// three lines, and returns the height it used.
func (c *canvas) legend(ss []series, body vg.Rectangle) vg.Length {
	if len(ss) == 0 {
		return 0
	}
	sty := c.style(12, textColor, false)
	sty.YAlign = text.YCenter
	sw, gap := c.px(14), c.px(16)
	width := body.Max.X - body.Min.X
	type item struct {
		name string
		clr  color.Color
		x    vg.Length
		line int
	}
	var items []item
	x, line := vg.Length(0), 0
	for i, s := range ss {
		name := s.name
		if name == "" {
			name = "value"
		}
		name = fit(sty, name, width/3)
		w := sw + c.px(4) + sty.Width(name)
		if x > 0 && x+w > width {
			x, line = 0, line+1
		}
		if line == 3 {
			items[len(items)-1].name = fmt.Sprintf("+%d more", len(ss)-i+1)
			items[len(items)-1].clr = mutedColor
			line = 2
			break
		}
		items = append(items, item{name, seriesColors[i%len(seriesColors)], x, line})
		x += w + gap
	}
	lines := line + 1
	h := vg.Length(lines)*c.px(legendLinePx) + c.px(4)
	for _, it := range items {
		y := body.Min.Y + h - c.px(legendLinePx)*vg.Length(it.line) - c.px(legendLinePx/2+2)
		x0 := body.Min.X + it.x
		c.dc.StrokeLine2(draw.LineStyle{Color: it.clr, Width: c.px(3)}, x0, y, x0+sw, y)
		c.text(sty, vg.Point{X: x0 + sw + c.px(4), Y: y}, it.name, 0)
	}
	return h
}

// writePNG encodes the image.
func (c *canvas) writePNG(w io.Writer) error {
	_, err := vgimg.PngCanvas{Canvas: c.img}.WriteTo(w)
	return err
}

// compile-time check that cellGrid is a plot.Plotter with a data range.
