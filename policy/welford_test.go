package policy

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// welfordRows returns n rows of d float32 values with element i drawn
// around 1000*(i+1) with spread i+1: a large mean over a small spread is
// where naive sum-of-squares variance loses precision.
func welfordRows(n, d int, seed uint64) []float32 {
	rng := testRNG(seed)
	raw := make([]float32, n*d)
	for s := 0; s < n; s++ {
		for i := 0; i < d; i++ {
			raw[s*d+i] = float32(1000*float64(i+1) + float64(i+1)*rng.NormFloat64())
		}
	}
	return raw
}

// column returns element i of every row as float64.
func column(raw []float32, d, i int) []float64 {
	out := make([]float64, 0, len(raw)/d)
	for s := i; s < len(raw); s += d {
		out = append(out, float64(raw[s]))
	}
	return out
}

// TestWelfordMatchesTwoPass checks Add against gonum's two-pass population
// mean and variance, and Merge of any split against Add of the whole.
func TestWelfordMatchesTwoPass(t *testing.T) {
	const n, d = 1000, 4
	raw := welfordRows(n, d, 5)
	whole := NewWelford(d)
	whole.Add(raw, n)
	if whole.Count != n {
		t.Fatalf("count %v, want %d", whole.Count, n)
	}
	for i := 0; i < d; i++ {
		m, v := stat.PopMeanVariance(column(raw, d, i), nil)
		if math.Abs(whole.Mean[i]-m) > 1e-12*math.Abs(m) || math.Abs(whole.M2[i]/n-v) > 1e-9*v {
			t.Errorf("element %d: mean %v var %v, two-pass %v %v", i, whole.Mean[i], whole.M2[i]/n, m, v)
		}
	}

	tests := []struct {
		name string
		cuts []int // part boundaries in rows
	}{
		{"halves", []int{0, 500, 1000}},
		{"uneven", []int{0, 1, 77, 300, 999, 1000}},
		{"one part", []int{0, 1000}},
		{"empty parts", []int{0, 0, 400, 400, 1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acc := NewWelford(d)
			part := NewWelford(d)
			for k := 1; k < len(tc.cuts); k++ {
				lo, hi := tc.cuts[k-1], tc.cuts[k]
				part.Reset()
				part.Add(raw[lo*d:hi*d], hi-lo)
				acc.Merge(part.Count, part.Mean, part.M2)
			}
			if acc.Count != whole.Count {
				t.Fatalf("count %v, want %v", acc.Count, whole.Count)
			}
			for i := 0; i < d; i++ {
				if math.Abs(acc.Mean[i]-whole.Mean[i]) > 1e-12*math.Abs(whole.Mean[i]) ||
					math.Abs(acc.M2[i]-whole.M2[i]) > 1e-9*whole.M2[i] {
					t.Errorf("element %d: merged mean/m2 %v/%v, whole %v/%v", i, acc.Mean[i], acc.M2[i], whole.Mean[i], whole.M2[i])
				}
			}
		})
	}
}

// TestWelfordMergeIgnoresEmpty: a zero, negative or NaN count leaves the
// statistics unchanged (an actor that collected nothing sends count 0).
func TestWelfordMergeIgnoresEmpty(t *testing.T) {
	w := NewWelford(2)
	w.Add([]float32{1, 2, 3, 4}, 2)
	want := w
	want.Mean, want.M2 = append([]float64(nil), w.Mean...), append([]float64(nil), w.M2...)
	for _, c := range []float64{0, -3, math.NaN()} {
		w.Merge(c, []float64{100, 100}, []float64{5, 5})
		if w.Count != want.Count || w.Mean[0] != want.Mean[0] || w.M2[1] != want.M2[1] {
			t.Fatalf("merge of count %v changed the statistics: %+v, want %+v", c, w, want)
		}
	}
}

// TestActorStatsFeedNormalizer is the actor/learner contract: an actor's
// per-rollout Welford merged into the learner's normaliser gives the same
// state as the normaliser updating on the rows itself.
func TestActorStatsFeedNormalizer(t *testing.T) {
	const n, d = 300, 3
	raw := welfordRows(n, d, 9)
	direct, viaActor := NewNormalizer(d), NewNormalizer(d)
	rollout := NewWelford(d)
	for _, cut := range [][2]int{{0, 100}, {100, 250}, {250, 300}} {
		direct.Update(raw[cut[0]*d:cut[1]*d], cut[1]-cut[0])
		rollout.Reset()
		rollout.Add(raw[cut[0]*d:cut[1]*d], cut[1]-cut[0])
		viaActor.Merge(rollout.Count, rollout.Mean, rollout.M2)
	}
	a, b := direct.Snapshot(), viaActor.Snapshot()
	if a.Count != b.Count {
		t.Fatalf("count %v vs %v", a.Count, b.Count)
	}
	for i := 0; i < d; i++ {
		if a.Mean[i] != b.Mean[i] || a.M2[i] != b.M2[i] {
			t.Errorf("element %d: update %v/%v, actor merge %v/%v", i, a.Mean[i], a.M2[i], b.Mean[i], b.M2[i])
		}
	}
}

// TestWelfordHotPathsAllocateNothing covers what runs per step or per
// rollout: Welford.Add and Merge, Normalizer.Update, Merge and Normalize.
func TestWelfordHotPathsAllocateNothing(t *testing.T) {
	const n, d = 64, 20
	raw := welfordRows(n, d, 3)
	out := make([]float32, len(raw))
	w, z := NewWelford(d), NewNormalizer(d)
	for name, f := range map[string]func(){
		"Welford.Add":          func() { w.Add(raw, n) },
		"Welford.Merge":        func() { w.Merge(10, z.stats.Mean, z.stats.M2) },
		"Normalizer.Update":    func() { z.Update(raw, n) },
		"Normalizer.Merge":     func() { z.Merge(w.Count, w.Mean, w.M2) },
		"Normalizer.Normalize": func() { z.Normalize(raw, out) },
	} {
		if a := testing.AllocsPerRun(20, f); a != 0 {
			t.Errorf("%s allocates %v times per call", name, a)
		}
	}
}

// BenchmarkNormalizerUpdate folds one make-run rollout (8 envs x 64
// steps = 512 rows of 20) into a normaliser, as the learner does for
// rollouts without actor statistics.
func BenchmarkNormalizerUpdate(b *testing.B) {
	const n, d = 512, 20
	raw := welfordRows(n, d, 2)
	z := NewNormalizer(d)
	b.SetBytes(n * d * 4)
	b.ReportAllocs()
	for b.Loop() {
		z.Update(raw, n)
	}
	sinkF64 = z.Count()
}
