package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestIQM(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"one value", []float64{7}, 7},
		{"three values: nothing dropped", []float64{1, 2, 9}, 4},
		{"1..8: middle four", []float64{8, 1, 7, 2, 6, 3, 5, 4}, 4.5},
		{"outliers dropped", []float64{5, 1, 100, 2, 3, 4, -50, 6}, 3.5},
		{"n=10: two dropped each side", []float64{-1000, -999, 1, 2, 3, 4, 5, 6, 999, 1000}, 3.5},
	}
	for _, tc := range tests {
		in := append([]float64(nil), tc.xs...)
		if got := IQM(tc.xs); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: IQM = %g, want %g", tc.name, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.xs[i] {
				t.Fatalf("%s: IQM modified its input", tc.name)
			}
		}
	}
	if !math.IsNaN(IQM(nil)) {
		t.Error("IQM of nothing is not NaN")
	}
}

// synthCells draws cells[s][r] of n episodes: every run-scenario cell has
// its own run effect N(0, runSD) around mu, episodes add N(0, epSD). The
// distribution of cell means is symmetric around mu, so the population
// IQM is mu.
func synthCells(rng *rand.Rand, scenarios, runs, n int, mu, runSD, epSD float64) [][][]float64 {
	cells := make([][][]float64, scenarios)
	for s := range cells {
		for range runs {
			eff := mu + runSD*rng.NormFloat64()
			c := make([]float64, n)
			for i := range c {
				c[i] = eff + epSD*rng.NormFloat64()
			}
			cells[s] = append(cells[s], c)
		}
	}
	return cells
}

func TestStratifiedIQMReproducible(t *testing.T) {
	cells := synthCells(rand.New(rand.NewPCG(1, 1)), 6, 3, 10, 5, 1, 2)
	a, err := StratifiedIQM(cells, 500, 0.95, rand.New(rand.NewPCG(42, 7)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := StratifiedIQM(cells, 500, 0.95, rand.New(rand.NewPCG(42, 7)))
	if a != b {
		t.Errorf("same seed, different intervals: %+v and %+v", a, b)
	}
	c, _ := StratifiedIQM(cells, 500, 0.95, rand.New(rand.NewPCG(43, 7)))
	if c.Lo == a.Lo && c.Hi == a.Hi {
		t.Errorf("another seed gave the identical interval %+v", c)
	}
	if c.Mean != a.Mean || a.N != 18 {
		t.Errorf("point estimate %g vs %g, N %d: want the same IQM of 18 cells", a.Mean, c.Mean, a.N)
	}
	var means []float64
	for _, st := range cells {
		for _, cl := range st {
			s := 0.0
			for _, v := range cl {
				s += v
			}
			means = append(means, s/float64(len(cl)))
		}
	}
	if want := IQM(means); math.Abs(a.Mean-want) > 1e-12 {
		t.Errorf("point %g, want the IQM of the cell means %g", a.Mean, want)
	}
	if !(a.Lo < a.Mean && a.Mean < a.Hi) {
		t.Errorf("interval [%g, %g] does not hold its IQM %g", a.Lo, a.Hi, a.Mean)
	}
}

// TestStratifiedIQMCoverage checks that the 95% interval covers the
// population IQM in about 95% of synthetic experiments where runs and
// episodes both vary (0.92 here); a bootstrap that resampled episodes but
// not runs covers it only 69% of the time on these data and fails.
func TestStratifiedIQMCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const trials, mu = 150, 10.0
	covered := 0
	for range trials {
		cells := synthCells(rng, 8, 5, 10, mu, 2, 3)
		iv, err := StratifiedIQM(cells, 200, 0.95, rng)
		if err != nil {
			t.Fatal(err)
		}
		if iv.Covers(mu) {
			covered++
		}
	}
	t.Logf("coverage %.3f", float64(covered)/trials)
	if rate := float64(covered) / trials; rate < 0.86 || rate > 0.995 {
		t.Errorf("coverage %.3f, want about 0.95", rate)
	}
}

// TestStratifiedIQMOneRun: a baseline has one run per scenario; the
// episodes alone must still give an interval of the width the standard
// error predicts (a run-only bootstrap would give zero width).
func TestStratifiedIQMOneRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	// Four scenarios, one run each, 400 episodes of sd 4: all four cells
	// are kept by the IQM (n=4 drops one each side: the middle two), and
	// the mean of two cell means has sd 4/sqrt(400)/sqrt(2) roughly.
	cells := synthCells(rng, 4, 1, 400, 0, 0, 4)
	iv, err := StratifiedIQM(cells, 2000, 0.95, rng)
	if err != nil {
		t.Fatal(err)
	}
	if w := iv.Hi - iv.Lo; !(w > 0.3 && w < 1.6) {
		t.Errorf("width %.3f with one run per scenario, want about 2*1.96*0.14 = 0.55 (0.3..1.6)", w)
	}
}

func TestStratifiedIQMErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ok := [][][]float64{{{1, 2}}}
	tests := []struct {
		name  string
		cells [][][]float64
		b     int
		level float64
	}{
		{"no strata", nil, 100, 0.95},
		{"empty stratum", [][][]float64{{{1}}, {}}, 100, 0.95},
		{"empty cell", [][][]float64{{{1}, {}}}, 100, 0.95},
		{"no resamples", ok, 0, 0.95},
		{"level 1", ok, 100, 1},
	}
	for _, tc := range tests {
		if _, err := StratifiedIQM(tc.cells, tc.b, tc.level, rng); !errors.Is(err, ErrSampleSize) {
			t.Errorf("%s: err = %v, want ErrSampleSize", tc.name, err)
		}
	}
}
