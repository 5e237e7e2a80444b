package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestBootstrapCoverage draws many samples from known distributions and
// checks that the 95% interval covers the true mean about 95% of the time
// (percentile bootstrap undercovers a little at small n).
func TestBootstrapCoverage(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		trueMean float64
		draw     func(r *rand.Rand) float64
	}{
		{"normal(3,2) n=30", 30, 3, func(r *rand.Rand) float64 { return 3 + 2*r.NormFloat64() }},
		{"exponential(mean 5) n=50", 50, 5, func(r *rand.Rand) float64 { return 5 * r.ExpFloat64() }},
		{"bernoulli(0.3) n=40", 40, 0.3, func(r *rand.Rand) float64 {
			if r.Float64() < 0.3 {
				return 1
			}
			return 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 11))
			const trials = 400
			covered := 0
			xs := make([]float64, tc.n)
			for range trials {
				for i := range xs {
					xs[i] = tc.draw(rng)
				}
				iv, err := BootstrapMean(xs, 500, 0.95, rng)
				if err != nil {
					t.Fatal(err)
				}
				if iv.Lo > iv.Mean || iv.Mean > iv.Hi {
					t.Fatalf("mean %g outside its interval [%g, %g]", iv.Mean, iv.Lo, iv.Hi)
				}
				if iv.Covers(tc.trueMean) {
					covered++
				}
			}
			rate := float64(covered) / trials
			if rate < 0.89 || rate > 0.99 {
				t.Errorf("coverage %.3f, want about 0.95", rate)
			}
		})
	}
}

// TestBootstrapWidth checks that the interval has the width the standard
// error predicts: 2 * 1.96 * sigma / sqrt(n).
func TestBootstrapWidth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 400)
	for i := range xs {
		xs[i] = 10 + 4*rng.NormFloat64()
	}
	iv, err := BootstrapMean(xs, 4000, 0.95, rng)
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * 1.96 * 4 / math.Sqrt(400)
	if got := iv.Hi - iv.Lo; math.Abs(got-want) > 0.15*want {
		t.Errorf("width %.3f, want %.3f +- 15%%", got, want)
	}
	if math.Abs(iv.Mean-10) > 0.6 {
		t.Errorf("mean %.3f, want about 10", iv.Mean)
	}
}

func TestPairedDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := make([]float64, 20)
	for i := range a {
		a[i] = rng.NormFloat64() * 5
	}
	tests := []struct {
		name        string
		b           func(i int) float64
		mean        float64
		significant bool
	}{
		{"identical samples", func(i int) float64 { return a[i] }, 0, false},
		{"shifted by 2", func(i int) float64 { return a[i] - 2 }, 2, true},
		{"shifted by -0.5", func(i int) float64 { return a[i] + 0.5 }, -0.5, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]float64, len(a))
			for i := range b {
				b[i] = tc.b(i)
			}
			iv, err := PairedDiff(a, b, 1000, 0.95, rng)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(iv.Mean-tc.mean) > 1e-9 {
				t.Errorf("mean %g, want %g", iv.Mean, tc.mean)
			}
			if iv.Significant() != tc.significant {
				t.Errorf("significant = %v for [%g, %g], want %v", iv.Significant(), iv.Lo, iv.Hi, tc.significant)
			}
			if got := verdict(iv); !tc.significant && got != "no significant difference" {
				t.Errorf("verdict %q, want no significant difference", got)
			}
		})
	}
}

func TestStatsErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	if _, err := BootstrapMean(nil, 100, 0.95, rng); !errors.Is(err, ErrSampleSize) {
		t.Errorf("empty sample: err = %v, want ErrSampleSize", err)
	}
	if _, err := PairedDiff([]float64{1}, []float64{1, 2}, 100, 0.95, rng); !errors.Is(err, ErrSampleSize) {
		t.Errorf("mismatched pairs: err = %v, want ErrSampleSize", err)
	}
}

// TestBootstrapPercentiles checks the interval bounds are percentiles of
// the resampled means. For xs = {0, 1} a resample's mean is 0, 1/2 or 1
// with probabilities 1/4, 1/2, 1/4: the 90% interval runs from the 5th to
// the 95th percentile, [0, 1]; the 40% interval from the 30th to the 70th,
// both 1/2 (a quarter of the means lie below 1/2, a quarter above).
func TestBootstrapPercentiles(t *testing.T) {
	tests := []struct {
		level, lo, hi float64
	}{{0.9, 0, 1}, {0.4, 0.5, 0.5}, {0.99, 0, 1}}
	for _, tc := range tests {
		rng := rand.New(rand.NewPCG(5, 6))
		iv, err := BootstrapMean([]float64{0, 1}, 4000, tc.level, rng)
		if err != nil {
			t.Fatal(err)
		}
		if iv.Mean != 0.5 || iv.Lo != tc.lo || iv.Hi != tc.hi || iv.N != 2 {
			t.Errorf("level %g: %+v, want mean 0.5 in [%g, %g], n 2", tc.level, iv, tc.lo, tc.hi)
		}
	}
	iv, err := BootstrapMean([]float64{7.25}, 100, 0.95, rand.New(rand.NewPCG(1, 1)))
	if err != nil || iv.Mean != 7.25 || iv.Lo != 7.25 || iv.Hi != 7.25 {
		t.Errorf("single value: %+v (err %v), want the zero-width interval at 7.25", iv, err)
	}
}

// TestBootstrapLevelsNest: on the same resamples a wider level gives a
// wider interval around the same mean.
func TestBootstrapLevelsNest(t *testing.T) {
	xs := make([]float64, 25)
	gen := rand.New(rand.NewPCG(8, 9))
	for i := range xs {
		xs[i] = 10 * gen.ExpFloat64()
	}
	var prev Interval
	for i, level := range []float64{0.5, 0.8, 0.95, 0.99} {
		iv, err := BootstrapMean(xs, 2000, level, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if !(iv.Lo < iv.Mean && iv.Mean < iv.Hi) {
			t.Fatalf("level %g: mean %g not strictly inside [%g, %g]", level, iv.Mean, iv.Lo, iv.Hi)
		}
		if i > 0 && !(iv.Lo < prev.Lo && iv.Hi > prev.Hi) {
			t.Errorf("level %g: [%g, %g] does not contain the narrower [%g, %g]", level, iv.Lo, iv.Hi, prev.Lo, prev.Hi)
		}
		prev = iv
	}
}
