package learner

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"

	"podmedic/learner/ppo"
)

// ProgressColumns returns the columns of progress.csv, one row per update
// (a fresh slice on every call).
func ProgressColumns() []string {
	return []string{
		"update", "version", "env_steps", "wall_seconds", "steps_per_second",
		"episodes", "return_mean", "return_min", "return_max", "episode_length",
		"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction",
		"explained_variance", "grad_norm", "learning_rate", "skipped",
	}
}

// ProgressRow is one row of progress.csv. NaN fields (no episode finished
// yet) are written empty, never as "NaN".
type ProgressRow struct {
	Update, Version, EnvSteps            int64
	WallSeconds, StepsPerSecond          float64
	Episodes                             int
	ReturnMean, ReturnMin, ReturnMax     float64
	EpisodeLength                        float64
	PolicyLoss, ValueLoss, Entropy       float64
	ApproxKL, ClipFraction, ExplainedVar float64
	GradNorm, LearningRate               float64
	Skipped                              bool
}

func (r ProgressRow) fields() []string {
	f := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 8, 64)
	}
	skipped := "0"
	if r.Skipped {
		skipped = "1"
	}
	return []string{
		strconv.FormatInt(r.Update, 10), strconv.FormatInt(r.Version, 10), strconv.FormatInt(r.EnvSteps, 10),
		f(r.WallSeconds), f(r.StepsPerSecond), strconv.Itoa(r.Episodes),
		f(r.ReturnMean), f(r.ReturnMin), f(r.ReturnMax), f(r.EpisodeLength),
		f(r.PolicyLoss), f(r.ValueLoss), f(r.Entropy), f(r.ApproxKL), f(r.ClipFraction),
		f(r.ExplainedVar), f(r.GradNorm), f(r.LearningRate), skipped,
	}
}

// ProgressWriter appends rows to progress.csv. A resumed learner appends
// to the file it finds; a new file starts with the header.
type ProgressWriter struct {
	f *os.File
	w *csv.Writer
}

// OpenProgress opens (or creates) path for appending.
func OpenProgress(path string) (*ProgressWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open progress file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat progress file: %w", err)
	}
	p := &ProgressWriter{f: f, w: csv.NewWriter(f)}
	if st.Size() == 0 {
		if err := p.write(ProgressColumns()); err != nil {
			f.Close()
			return nil, err
		}
	}
	return p, nil
}

// Write appends one row and flushes it, so a crash loses at most the
// row being written.
func (p *ProgressWriter) Write(r ProgressRow) error {
	return p.write(r.fields())
}

func (p *ProgressWriter) write(fields []string) error {
	if err := p.w.Write(fields); err != nil {
		return fmt.Errorf("write progress: %w", err)
	}
	p.w.Flush()
	if err := p.w.Error(); err != nil {
		return fmt.Errorf("write progress: %w", err)
	}
	return nil
}

// Close flushes and closes the file.
func (p *ProgressWriter) Close() error {
	p.w.Flush()
	return errors.Join(p.w.Error(), p.f.Close())
}

// writeProgress appends the row of an update with stats st; the loop
// calls it.
func (s *Service) writeProgress(st ppo.UpdateStats) {
	if s.progress == nil {
		return
	}
	w := s.metrics.Window.Stats()
	wall := s.now().Sub(s.started).Seconds()
	row := ProgressRow{
		Update: s.upd.Updates(), Version: int64(s.upd.Version()), EnvSteps: s.envSteps,
		WallSeconds: wall, StepsPerSecond: float64(s.envSteps-s.stepsAtStart) / wall,
		Episodes: w.N, ReturnMean: math.NaN(), ReturnMin: math.NaN(), ReturnMax: math.NaN(), EpisodeLength: math.NaN(),
		PolicyLoss: st.PolicyLoss, ValueLoss: st.ValueLoss, Entropy: st.Entropy, ApproxKL: st.ApproxKL,
		ClipFraction: st.ClipFraction, ExplainedVar: st.ExplainedVariance, GradNorm: st.GradNorm,
		LearningRate: st.LearningRate, Skipped: st.Skipped,
	}
	if w.N > 0 {
		row.ReturnMean, row.ReturnMin, row.ReturnMax, row.EpisodeLength = w.Mean, w.Min, w.Max, w.MeanLen
	}
	if err := s.progress.Write(row); err != nil {
		s.log.Error("write progress failed", "error", err)
	}
}
