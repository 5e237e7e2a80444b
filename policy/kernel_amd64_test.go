package policy

import "testing"

// TestKernelPathsAgree checks that the AVX2 kernel and the scalar loop give
// bitwise identical results for every column count.
func TestKernelPathsAgree(t *testing.T) {
	if !hasFMAKernel {
		t.Skip("CPU lacks AVX2+FMA: only the scalar path runs here")
	}
	rng := testRNG(50)
	for _, tc := range []struct{ n, cols, xstride int }{{1, 1, 1}, {5, 4, 1}, {20, 64, 1}, {7, 23, 3}, {64, 7, 20}, {3, 37, 0}} {
		x := make([]float64, tc.n*max(tc.xstride, 1))
		w := make([]float64, tc.n*tc.cols)
		b := make([]float64, tc.cols)
		for _, s := range [][]float64{x, w, b} {
			for i := range s {
				s[i] = rng.NormFloat64()
			}
		}
		vec, sca := make([]float64, tc.cols), make([]float64, tc.cols)
		fmaCols(x, tc.xstride, tc.n, w, tc.cols, b, vec, tc.cols)
		hasFMAKernel = false
		fmaCols(x, tc.xstride, tc.n, w, tc.cols, b, sca, tc.cols)
		hasFMAKernel = true
		for j := range vec {
			if vec[j] != sca[j] {
				t.Fatalf("n=%d cols=%d: column %d vector %v scalar %v", tc.n, tc.cols, j, vec[j], sca[j])
			}
		}
	}
}

// TestTanhPathsAgree checks the AVX2 tanh against the scalar one bitwise.
func TestTanhPathsAgree(t *testing.T) {
	if !hasFMAKernel {
		t.Skip("CPU lacks AVX2+FMA: only the scalar path runs here")
	}
	rng := testRNG(51)
	x := make([]float64, 4096)
	for i := range x {
		x[i] = rng.NormFloat64() * 5
		if i%9 == 0 {
			x[i] *= 1e-9
		}
	}
	x[0], x[1], x[2], x[3], x[4] = 0, -0.0, 22, -23, 1e300
	y := append([]float64(nil), x...)
	tanhSlice(y)
	for i := range x {
		if want := tanh(x[i]); y[i] != want {
			t.Fatalf("tanh(%v): vector %v, scalar %v", x[i], y[i], want)
		}
	}
}
