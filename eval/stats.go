package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
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

// Mean returns the arithmetic mean of xs (NaN when empty).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// BootstrapMean returns the mean of xs with a percentile bootstrap
// confidence interval at level (e.g. 0.95) from b resamples drawn with
// rng. A single value gives a zero-width interval.
func BootstrapMean(xs []float64, b int, level float64, rng *rand.Rand) (Interval, error) {
	n := len(xs)
	if n == 0 || b < 1 || !(level > 0 && level < 1) {
		return Interval{}, ErrSampleSize
	}
	means := make([]float64, b)
	for k := range means {
		s := 0.0
		for range n {
			s += xs[rng.IntN(n)]
		}
		means[k] = s / float64(n)
	}
	slices.Sort(means)
	alpha := (1 - level) / 2
	return Interval{Mean: Mean(xs), Lo: quantileSorted(means, alpha), Hi: quantileSorted(means, 1-alpha), N: n}, nil
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

// Quantile returns the q-quantile (0..1) of xs by linear interpolation
// (NaN when empty); xs is not modified.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return quantileSorted(s, q)
}

func quantileSorted(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	i := int(math.Floor(pos))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}
