package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// ErrNoProgress is returned when a progress file holds no update rows.
var ErrNoProgress = errors.New("eval: no progress rows")

// Curve file names WriteCurves writes into its output directory.
const (
	CurveReturnFile     = "curve-return.png"
	CurveLengthFile     = "curve-episode-length.png"
	CurvePPOFile        = "curve-ppo.png"
	CurveThroughputFile = "curve-throughput.png"
)

// Curve image sizes.
const (
	curveWidth  = 8 * vg.Inch
	curveHeight = 4.5 * vg.Inch
	ppoWidth    = 12 * vg.Inch
	ppoHeight   = 6.5 * vg.Inch
)

var (
	curveLineColor = color.RGBA{R: 30, G: 90, B: 200, A: 255}
	curveBandColor = color.NRGBA{R: 30, G: 90, B: 200, A: 60}
)

// progressColumns are the columns of the learner's progress.csv that the
// curves use (learner.ProgressColumns() lists all of them).
var progressColumns = []string{
	"env_steps", "steps_per_second", "return_mean", "return_min", "return_max", "episode_length",
	"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "explained_variance",
}

// progress holds the columns of a progress file as series over env
// steps; an empty field ("no data yet") adds no point.
type progress map[string]plotter.XYs

// WriteCurves reads the learner's progress file (progress.csv) and draws
// training curves over env steps into outDir, returning the paths of the
// PNG files it wrote: the mean return of the last episodes with its
// min-max band, the mean episode length, the PPO diagnostics (policy and
// value loss, entropy, approx KL, clip fraction, explained variance) and
// the throughput in env steps per second. Rows of a resumed run that
// repeat env steps replace the earlier rows.
func WriteCurves(progressCSV, outDir string) ([]string, error) {
	f, err := os.Open(progressCSV)
	if err != nil {
		return nil, fmt.Errorf("open progress: %w", err)
	}
	defer f.Close()
	pr, err := readProgress(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", progressCSV, err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create curve directory: %w", err)
	}
	charts := []struct {
		file string
		draw func(io.Writer, progress) error
	}{
		{CurveReturnFile, drawReturnCurve},
		{CurveLengthFile, func(w io.Writer, pr progress) error {
			return drawSingleCurve(w, pr["episode_length"], "Episode length (last 100 episodes)", "steps")
		}},
		{CurvePPOFile, drawPPOCurves},
		{CurveThroughputFile, func(w io.Writer, pr progress) error {
			return drawSingleCurve(w, pr["steps_per_second"], "Throughput", "env steps/s")
		}},
	}
	paths := make([]string, 0, len(charts))
	for _, c := range charts {
		path := filepath.Join(outDir, c.file)
		if err := writeCurveFile(path, pr, c.draw); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func writeCurveFile(path string, pr progress, draw func(io.Writer, progress) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create curve: %w", err)
	}
	if err := draw(f, pr); err != nil {
		f.Close()
		return fmt.Errorf("draw %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write curve: %w", err)
	}
	return nil
}

// readProgress parses a progress file: a header naming at least
// progressColumns, then one row per update.
func readProgress(r io.Reader) (progress, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, ErrNoProgress
	}
	if err != nil {
		return nil, fmt.Errorf("parse header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}
	for _, name := range progressColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("header lacks column %q", name)
		}
	}
	pr := progress{}
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse row: %w", err)
		}
		line, _ := cr.FieldPos(0)
		x, err := strconv.ParseFloat(rec[col["env_steps"]], 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("line %d: bad env_steps %q", line, rec[col["env_steps"]])
		}
		rows++
		for _, name := range progressColumns[1:] {
			field := rec[col[name]]
			if field == "" {
				continue
			}
			y, err := strconv.ParseFloat(field, 64)
			if err != nil || math.IsInf(y, 0) {
				return nil, fmt.Errorf("line %d: bad %s %q", line, name, field)
			}
			if math.IsNaN(y) {
				continue
			}
			pr[name] = appendPoint(pr[name], x, y)
		}
	}
	if rows == 0 {
		return nil, ErrNoProgress
	}
	return pr, nil
}

// appendPoint adds (x, y); points at or beyond x, left by a run that was
// resumed from an earlier checkpoint, are replaced.
func appendPoint(xys plotter.XYs, x, y float64) plotter.XYs {
	for len(xys) > 0 && xys[len(xys)-1].X >= x {
		xys = xys[:len(xys)-1]
	}
	return append(xys, plotter.XY{X: x, Y: y})
}

// newCurvePlot returns a plot over env steps with a grid; an empty
// series is noted in the title.
func newCurvePlot(title, yLabel string, empty bool) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	if empty {
		p.Title.Text += " (no data yet)"
	}
	p.X.Label.Text = "env steps"
	p.Y.Label.Text = yLabel
	p.X.Tick.Marker = stepTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// addCurveLine draws xys as a line; an empty series draws nothing.
func addCurveLine(p *plot.Plot, xys plotter.XYs, c color.Color, legend string) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color, l.Width = c, vg.Points(1.5)
	p.Add(l)
	if legend != "" {
		p.Legend.Add(legend, l)
	}
	return nil
}

func drawReturnCurve(w io.Writer, pr progress) error {
	mean := pr["return_mean"]
	p := newCurvePlot("Episode return (last 100 episodes)", "return", len(mean) == 0)
	if band := returnBand(pr["return_min"], pr["return_max"]); band != nil {
		poly, err := plotter.NewPolygon(band)
		if err != nil {
			return err
		}
		poly.Color, poly.LineStyle.Width = curveBandColor, 0
		p.Add(poly)
		p.Legend.Add("min-max", poly)
	}
	if err := addCurveLine(p, mean, curveLineColor, "mean"); err != nil {
		return err
	}
	p.Legend.Top, p.Legend.Left = false, false
	return savePlot(w, p, curveWidth, curveHeight)
}

// returnBand is the polygon between the min and max series (along max,
// back along min), or nil when there is nothing to fill.
func returnBand(lo, hi plotter.XYs) plotter.XYs {
	if len(lo) < 2 || len(hi) < 2 {
		return nil
	}
	band := make(plotter.XYs, 0, len(lo)+len(hi))
	band = append(band, hi...)
	for i := len(lo) - 1; i >= 0; i-- {
		band = append(band, lo[i])
	}
	return band
}

// drawSingleCurve draws one non-negative series with its y axis from 0.
func drawSingleCurve(w io.Writer, xys plotter.XYs, title, yLabel string) error {
	p := newCurvePlot(title, yLabel, len(xys) == 0)
	if err := addCurveLine(p, xys, curveLineColor, ""); err != nil {
		return err
	}
	p.Y.Min = math.Min(p.Y.Min, 0)
	return savePlot(w, p, curveWidth, curveHeight)
}

// drawPPOCurves draws the PPO diagnostics as a 2x3 grid.
func drawPPOCurves(w io.Writer, pr progress) error {
	panels := []struct{ col, title string }{
		{"policy_loss", "Policy loss"}, {"value_loss", "Value loss"}, {"entropy", "Entropy (nats)"},
		{"approx_kl", "Approx KL"}, {"clip_fraction", "Clip fraction"}, {"explained_variance", "Explained variance"},
	}
	grid := [][]*plot.Plot{make([]*plot.Plot, 3), make([]*plot.Plot, 3)}
	for i, pn := range panels {
		xys := pr[pn.col]
		p := newCurvePlot(pn.title, "", len(xys) == 0)
		if err := addCurveLine(p, xys, curveLineColor, ""); err != nil {
			return err
		}
		grid[i/3][i%3] = p
	}
	img := vgimg.New(ppoWidth, ppoHeight)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 3, PadX: vg.Inch / 4, PadY: vg.Inch / 4,
		PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4}
	canvases := plot.Align(grid, tiles, dc)
	for r := range grid {
		for c, p := range grid[r] {
			p.Draw(canvases[r][c])
		}
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func savePlot(w io.Writer, p *plot.Plot, width, height vg.Length) error {
	img := vgimg.New(width, height)
	p.Draw(draw.New(img))
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// stepTicks labels an env-step axis with k and M suffixes.
type stepTicks struct{}

// Ticks implements plot.Ticker.
func (stepTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = formatSteps(ticks[i].Value)
		}
	}
	return ticks
}

// formatSteps writes a step count compactly: 1500 -> "1.5k", 2e6 -> "2M".
func formatSteps(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}
