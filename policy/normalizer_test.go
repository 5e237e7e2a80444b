package policy

import (
	"errors"
	"math"
	"testing"
)

// TestNormalizerMergeMatchesDirect: statistics merged from parts equal the
// statistics of the whole, and both match a two-pass computation.
func TestNormalizerMergeMatchesDirect(t *testing.T) {
	rng := testRNG(10)
	const d, n = 3, 500
	raw := make([]float32, n*d)
	for i := range raw {
		raw[i] = float32(5 + 3*rng.NormFloat64()*float64(i%d+1))
	}
	whole := NewNormalizer(d)
	whole.Update(raw, n)
	parts := NewNormalizer(d)
	actor := NewNormalizer(d) // stands in for an actor's raw statistics
	for _, cut := range [][2]int{{0, 1}, {1, 77}, {77, 300}, {300, 500}} {
		parts.Update(raw[cut[0]*d:cut[1]*d], cut[1]-cut[0])
		actor.Update(raw[cut[0]*d:cut[1]*d], cut[1]-cut[0])
	}
	st := whole.Snapshot()
	for i := 0; i < d; i++ {
		var m, v float64
		for s := 0; s < n; s++ {
			m += float64(raw[s*d+i])
		}
		m /= n
		for s := 0; s < n; s++ {
			v += (float64(raw[s*d+i]) - m) * (float64(raw[s*d+i]) - m)
		}
		// The initial pseudo-count (1e-4, mean 0, var 1) shifts results by ~1e-6.
		if math.Abs(st.Mean[i]-m) > 1e-5*math.Abs(m) || math.Abs(st.M2[i]/st.Count-v/n) > 1e-5*v/n {
			t.Fatalf("element %d: mean %v var %v, want %v %v", i, st.Mean[i], st.M2[i]/st.Count, m, v/n)
		}
		ps := parts.Snapshot()
		if math.Abs(ps.Mean[i]-st.Mean[i]) > 1e-9 || math.Abs(ps.M2[i]-st.M2[i]) > 1e-7*st.M2[i] {
			t.Fatalf("element %d: parts mean/m2 %v/%v, whole %v/%v", i, ps.Mean[i], ps.M2[i], st.Mean[i], st.M2[i])
		}
	}
	out := make([]float32, n*d)
	whole.Normalize(raw, out)
	for i := 0; i < d; i++ {
		var m, v float64
		for s := 0; s < n; s++ {
			m += float64(out[s*d+i])
		}
		m /= n
		for s := 0; s < n; s++ {
			v += (float64(out[s*d+i]) - m) * (float64(out[s*d+i]) - m)
		}
		if math.Abs(m) > 1e-3 || math.Abs(v/n-1) > 1e-3 {
			t.Fatalf("normalised element %d: mean %v var %v", i, m, v/n)
		}
	}
}

func TestNormalizerClipAndRestore(t *testing.T) {
	z := NewNormalizer(2)
	z.Update([]float32{0, 0, 1, 2, -1, -2}, 3)
	out := make([]float32, 2)
	z.Normalize([]float32{1e6, -1e6}, out)
	if out[0] != 10 || out[1] != -10 {
		t.Fatalf("clipped output %v, want [10 -10]", out)
	}
	c, err := NormalizerFromState(z.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	a, b := make([]float32, 2), make([]float32, 2)
	z.Normalize([]float32{0.3, -0.7}, a)
	c.Normalize([]float32{0.3, -0.7}, b)
	if a[0] != b[0] || a[1] != b[1] {
		t.Fatalf("restored normaliser gives %v, original %v", b, a)
	}
	bad := []struct {
		name string
		st   NormalizerState
	}{
		{"short mean", NormalizerState{Count: 1, Mean: []float64{0}, M2: []float64{1, 1}, Clip: 10, Eps: 1e-8}},
		{"zero count", NormalizerState{Count: 0, Mean: []float64{0, 0}, M2: []float64{1, 1}, Clip: 10, Eps: 1e-8}},
		{"nan mean", NormalizerState{Count: 1, Mean: []float64{math.NaN(), 0}, M2: []float64{1, 1}, Clip: 10, Eps: 1e-8}},
		{"negative m2", NormalizerState{Count: 1, Mean: []float64{0, 0}, M2: []float64{-1, 1}, Clip: 10, Eps: 1e-8}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := z.Restore(tc.st); !errors.Is(err, ErrNormalizer) {
				t.Fatalf("got %v, want ErrNormalizer", err)
			}
		})
	}
	id := NewIdentityNormalizer(2)
	id.Update([]float32{5, 5}, 1)
	idc, err := NormalizerFromState(id.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	idc.Normalize([]float32{3.5, -20}, out)
	if out[0] != 3.5 || out[1] != -20 {
		t.Fatalf("identity normaliser gives %v", out)
	}
}
