package policy

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/stat"
)

// Why two hot kernels stay ours instead of gonum's: these benchmarks run
// ours and gonum's on the same data in one run.

// BenchmarkWelfordVsGonum accumulates the observation statistics of one
// make-run rollout (8 envs x 64 steps = 512 float32 rows of 20): ours in
// one pass over the rows (Welford.Add), gonum's two-pass
// stat.PopMeanVariance per element after copying each column to float64,
// which is what its column-wise API needs.
func BenchmarkWelfordVsGonum(b *testing.B) {
	const n, d = 512, 20
	raw := welfordRows(n, d, 1)
	b.Run("ours", func(b *testing.B) {
		w := NewWelford(d)
		b.SetBytes(n * d * 4)
		b.ReportAllocs()
		for b.Loop() {
			w.Reset()
			w.Add(raw, n)
		}
		sinkF64 = w.M2[0]
	})
	b.Run("gonum", func(b *testing.B) {
		col := make([]float64, n)
		mean, m2 := make([]float64, d), make([]float64, d)
		b.SetBytes(n * d * 4)
		b.ReportAllocs()
		for b.Loop() {
			for i := 0; i < d; i++ {
				for s := 0; s < n; s++ {
					col[s] = float64(raw[s*d+i])
				}
				m, v := stat.PopMeanVariance(col, nil)
				mean[i], m2[i] = m, v*n
			}
		}
		sinkF64 = m2[0]
	})
}

// BenchmarkDenseVsGonum computes one dense layer Y = X W + b (no
// activation) for batches of the reference network's hidden layers:
// ours (denseForward, the FMA kernel whose results are bitwise the same
// at every batch size) against gonum's blas64.Gemm after copying the
// bias into every output row.
func BenchmarkDenseVsGonum(b *testing.B) {
	for _, tc := range []struct{ batch, in, out int }{{8, 20, 64}, {64, 64, 64}, {256, 64, 64}} {
		rng := testRNG(uint64(tc.batch))
		l := &layer{layerShape: layerShape{in: tc.in, out: tc.out}, w: make([]float32, tc.in*tc.out), b: make([]float32, tc.out)}
		for i := range l.w {
			l.w[i] = float32(rng.NormFloat64())
		}
		for i := range l.b {
			l.b[i] = float32(rng.NormFloat64())
		}
		x := make([]float32, tc.batch*tc.in)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		y := make([]float32, tc.batch*tc.out)
		name := fmt.Sprintf("batch%d_%dx%d", tc.batch, tc.in, tc.out)
		flops := float64(2 * tc.batch * tc.in * tc.out)
		b.Run(name+"/ours", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				denseForward(l, x, y, tc.batch, false)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			sinkF64 = float64(y[0])
		})
		b.Run(name+"/gonum", func(b *testing.B) {
			xm := blas32.General{Rows: tc.batch, Cols: tc.in, Stride: tc.in, Data: x}
			wm := blas32.General{Rows: tc.in, Cols: tc.out, Stride: tc.out, Data: l.w}
			ym := blas32.General{Rows: tc.batch, Cols: tc.out, Stride: tc.out, Data: y}
			b.ReportAllocs()
			for b.Loop() {
				for s := 0; s < tc.batch; s++ {
					copy(y[s*tc.out:(s+1)*tc.out], l.b)
				}
				blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, xm, wm, 1, ym)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			sinkF64 = float64(y[0])
		})
	}
}
