package eval

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// IQM returns the interquartile mean of xs: the mean of what is left after
// dropping the floor(n/4) smallest and the floor(n/4) largest values
// (scipy.stats.trim_mean(xs, 0.25), the IQM of Agarwal et al. 2021, "Deep
// RL at the Edge of the Statistical Precipice"): robust to an outlying run
// or task, yet less noisy than the median. xs is not modified; NaN for an
// empty sample.
func IQM(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return iqmSorted(slices.Sorted(slices.Values(xs)))
}

// iqmSorted is IQM of an ascending sample.
func iqmSorted(s []float64) float64 {
	k := len(s) / 4
	return stat.Mean(s[k:len(s)-k], nil)
}

// StratifiedIQM returns the IQM of the cell means of cells[s][r], the
// per-episode scores of run r on scenario (stratum) s, with a stratified
// bootstrap interval at level from b resamples drawn with rng (Agarwal et
// al. 2021): a resample draws, within each scenario, as many runs as it
// has, with replacement, and within each drawn run-scenario cell as many
// episodes as the cell has, with replacement; the IQM of the resampled
// cell means is one bootstrap value, and the bounds are percentiles of
// those values as in BootstrapMean. Resampling episodes too gives a
// policy with one run (a baseline) a sensible interval. Mean is the IQM of
// the cell means and N the number of cells. Every stratum and cell must be
// non-empty.
func StratifiedIQM(cells [][][]float64, b int, level float64, rng *rand.Rand) (Interval, error) {
	if len(cells) == 0 || b < 1 || !(level > 0 && level < 1) {
		return Interval{}, ErrSampleSize
	}
	var means []float64
	for _, stratum := range cells {
		if len(stratum) == 0 {
			return Interval{}, ErrSampleSize
		}
		for _, cell := range stratum {
			if len(cell) == 0 {
				return Interval{}, ErrSampleSize
			}
			means = append(means, stat.Mean(cell, nil))
		}
	}
	point := IQM(means)
	vals := make([]float64, b)
	buf := make([]float64, 0, len(means))
	for k := range vals {
		buf = buf[:0]
		for _, stratum := range cells {
			for range stratum {
				cell := stratum[rng.IntN(len(stratum))]
				sum := 0.0
				for range cell {
					sum += cell[rng.IntN(len(cell))]
				}
				buf = append(buf, sum/float64(len(cell)))
			}
		}
		slices.Sort(buf)
		vals[k] = iqmSorted(buf)
	}
	slices.Sort(vals)
	alpha := (1 - level) / 2
	return Interval{Mean: point, Lo: stat.Quantile(alpha, stat.Empirical, vals, nil),
		Hi: stat.Quantile(1-alpha, stat.Empirical, vals, nil), N: len(means)}, nil
}
