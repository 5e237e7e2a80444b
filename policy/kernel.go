package policy

import (
	"fmt"
	"math"
)

// fmaCols computes y[j] = b[j] + sum_{i<n} x[i*xstride] * w[i*ld+j] for
// j < cols, accumulating with one fused multiply-add per i in order. The
// vector (AVX2) and scalar paths compute bitwise identical results, so the
// value of one output never depends on the hardware path, the batch size
// or the column block it falls in. b and y may be the same slice.
func fmaCols(x []float64, xstride, n int, w []float64, ld int, b, y []float64, cols int) {
	if n < 1 || cols < 1 {
		panic(fmt.Sprintf("policy: fmaCols with n=%d cols=%d", n, cols))
	}
	if len(x) <= (n-1)*xstride || len(w) < (n-1)*ld+cols || len(b) < cols || len(y) < cols {
		panic(fmt.Sprintf("policy: fmaCols operands too short (x %d, w %d, b %d, y %d for n=%d cols=%d)",
			len(x), len(w), len(b), len(y), n, cols))
	}
	j := fmaColsVec(x, xstride, n, w, ld, b, y, cols)
	for ; j+2 <= cols; j += 2 {
		a0, a1 := b[j], b[j+1]
		xi, wi := 0, j
		for i := 0; i < n; i++ {
			v := x[xi]
			a0 = math.FMA(v, w[wi], a0)
			a1 = math.FMA(v, w[wi+1], a1)
			xi += xstride
			wi += ld
		}
		y[j], y[j+1] = a0, a1
	}
	for ; j < cols; j++ {
		a := b[j]
		xi, wi := 0, j
		for i := 0; i < n; i++ {
			a = math.FMA(x[xi], w[wi], a)
			xi += xstride
			wi += ld
		}
		y[j] = a
	}
}
