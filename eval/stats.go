package eval

import (
	"errors"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// ErrSampleSize is returned for statistics of empty or mismatched samples.
var ErrSampleSize = errors.New("eval: bad sample size")

// Interval is a point estimate with a confidence interval.
type Interval struct {
	// Mean is the sample mean; Lo and Hi bound the interval.
	Mean, Lo, Hi float64
	// N is the sample size.
	N int
}

// Covers reports whether v lies in [Lo, Hi].
func (iv Interval) Covers(v float64) bool { return iv.Lo <= v && v <= iv.Hi }

// Significant reports whether the interval excludes zero: for a paired
// difference, a significant one.
func (iv Interval) Significant() bool { return !iv.Covers(0) }

// BootstrapMean returns the mean of xs with a percentile bootstrap
// confidence interval at level (e.g. 0.95) from b resamples drawn with
// rng. A resample draws n indices with replacement; it is kept as the
// number of times each value was drawn, so its mean is gonum's weighted
// mean of xs. The bounds are the (1-level)/2 and (1+level)/2 quantiles of
// the resampled means in Efron's percentile method: gonum's Empirical
// quantile, the smallest resampled mean with at least that share of the
// resamples at or below it. A single value gives a zero-width interval.
func BootstrapMean(xs []float64, b int, level float64, rng *rand.Rand) (Interval, error) {
	n := len(xs)
	if n == 0 || b < 1 || !(level > 0 && level < 1) {
		return Interval{}, ErrSampleSize
	}
	means := make([]float64, b)
	draws := make([]float64, n) // times each value is drawn in one resample
	for k := range means {
		clear(draws)
		for range n {
			draws[rng.IntN(n)]++
		}
		means[k] = stat.Mean(xs, draws)
	}
	slices.Sort(means)
	alpha := (1 - level) / 2
	return Interval{Mean: stat.Mean(xs, nil), Lo: stat.Quantile(alpha, stat.Empirical, means, nil),
		Hi: stat.Quantile(1-alpha, stat.Empirical, means, nil), N: n}, nil
}

// PairedDiff returns the mean of a[i] - b[i] with a bootstrap interval
// (resampling pairs). The samples must have the same length.
func PairedDiff(a, b []float64, resamples int, level float64, rng *rand.Rand) (Interval, error) {
	if len(a) != len(b) {
		return Interval{}, ErrSampleSize
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return BootstrapMean(d, resamples, level, rng)
}
