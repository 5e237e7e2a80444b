package eval

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot/plotter"
)

// CurveEvalFile is the chart of the periodic evaluations of a training run
// (podmedic train --eval-every), drawn from EvalCurveFile.
const (
	CurveEvalFile = "curve-eval.png"
	EvalCurveFile = "eval-curve.csv"
)

// EvalCurveWriter appends one row per periodic evaluation to a CSV:
// update, env steps, the mean and standard deviation of the evaluation
// returns, then the mean return of every scenario.
type EvalCurveWriter struct {
	f         *os.File
	w         *csv.Writer
	scenarios []string
}

// OpenEvalCurve opens path for appending (a resumed run continues its
// curve), writing the header when the file is new or empty.
func OpenEvalCurve(path string, scenarios []string) (*EvalCurveWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open eval curve: %w", err)
	}
	w := csv.NewWriter(f)
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		header := append([]string{"update", "env_steps", "mean_return", "std_return"}, scenarios...)
		if err := w.Write(header); err != nil {
			f.Close()
			return nil, fmt.Errorf("write eval curve: %w", err)
		}
		w.Flush()
	}
	return &EvalCurveWriter{f: f, w: w, scenarios: scenarios}, w.Error()
}

// Add writes one evaluation; returns[j] is episode j, which played
// scenario j mod len(scenarios). It flushes, so a crash loses nothing.
func (e *EvalCurveWriter) Add(update, envSteps int64, mean, std float64, returns []float64) error {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	row := []string{strconv.FormatInt(update, 10), strconv.FormatInt(envSteps, 10), f(mean), f(std)}
	n := len(e.scenarios)
	for s := range n {
		sum, k := 0.0, 0
		for j := s; j < len(returns); j += n {
			sum += returns[j]
			k++
		}
		v := math.NaN()
		if k > 0 {
			v = sum / float64(k)
		}
		row = append(row, f(v))
	}
	if err := e.w.Write(row); err != nil {
		return fmt.Errorf("write eval curve: %w", err)
	}
	e.w.Flush()
	return e.w.Error()
}

// Close closes the file.
func (e *EvalCurveWriter) Close() error { return e.f.Close() }

// WriteEvalCurveChart draws the mean evaluation return against env steps
// from an EvalCurveFile into pngPath.
func WriteEvalCurveChart(csvPath, pngPath string) error {
	f, err := os.Open(csvPath)
	if err != nil {
		return fmt.Errorf("open eval curve: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("read %s: %w", csvPath, err)
	}
	var xys plotter.XYs
	for i, r := range rows {
		if i == 0 || len(r) < 3 {
			continue
		}
		x, err1 := strconv.ParseFloat(r[1], 64)
		y, err2 := strconv.ParseFloat(r[2], 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("read %s: row %d: bad number", csvPath, i+1)
		}
		xys = append(xys, plotter.XY{X: x, Y: y})
	}
	return writeCurveFile(pngPath, progress{"eval": xys}, func(w io.Writer, pr progress) error {
		return drawSingleCurve(w, pr["eval"], "Evaluation return (greedy, fixed seeds, every training scenario)", "mean return")
	})
}
