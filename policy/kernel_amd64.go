package policy

import "golang.org/x/sys/cpu"

// hasFMAKernel reports whether the AVX2+FMA assembly kernel can run.
var hasFMAKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// fmaColsAVX2 is implemented in kernel_amd64.s; see fmaCols.
//
//go:noescape
func fmaColsAVX2(x *float64, xstride int, n int, w *float64, ld int, b *float64, y *float64, cols int)

// fmaColsVec runs the assembly kernel on the first cols&^3 columns and
// returns how many it handled.
func fmaColsVec(x []float64, xstride, n int, w []float64, ld int, b, y []float64, cols int) int {
	c4 := cols &^ 3
	if !hasFMAKernel || c4 == 0 {
		return 0
	}
	fmaColsAVX2(&x[0], xstride, n, &w[0], ld, &b[0], &y[0], c4)
	return c4
}

// tanhAVX2 is implemented in tanh_amd64.s; see tanh.
//
//go:noescape
func tanhAVX2(x *float64, n int)

// tanhVec applies the assembly tanh to the first len(x)&^3 elements and
// returns how many it handled.
func tanhVec(x []float64) int {
	n := len(x) &^ 3
	if !hasFMAKernel || n == 0 {
		return 0
	}
	tanhAVX2(&x[0], n)
	return n
}
