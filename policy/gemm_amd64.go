package policy

import "golang.org/x/sys/cpu"

// bestPath is the fastest kernel path this CPU runs.
var bestPath = func() int {
	switch {
	case cpu.X86.HasAVX512F:
		return pathAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return pathAVX2
	}
	return pathGeneric
}()

// gemmKernel is one generated micro-kernel (gemm_gen.go): R rows of V
// vectors, the last vector holding only the lanes of mask (AVX-512: a bit
// mask; AVX2: their count, looked up in avx2Masks).
type gemmKernel func(a *float32, lda, ka int, b *float32, ldb int, c *float32, ldc int, bias *float32, k int, mask int)

// avx2Masks[8-l:] starts with l all-ones lanes followed by zero lanes.
var avx2Masks = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// gemmVec runs gemm on the vector path, if there is one: column blocks of
// 4 vectors, row blocks of as many rows as the registers hold.
func gemmVec(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int, bias []float32) bool {
	var kernels *[5][13]gemmKernel
	var rows *[5]int
	var lanes int
	switch kernelPath {
	case pathAVX512:
		kernels, rows, lanes = &gemm512Kernels, &gemm512Rows, 16
	case pathAVX2:
		kernels, rows, lanes = &gemm256Kernels, &gemm256Rows, 8
	default:
		return false
	}
	for j0 := 0; j0 < n; j0 += 4 * lanes {
		cols := min(4*lanes, n-j0)
		v := (cols + lanes - 1) / lanes
		last := cols - (v-1)*lanes
		mask := 1<<last - 1
		if lanes == 8 {
			mask = last
		}
		var bp *float32
		if bias != nil {
			bp = &bias[j0]
		}
		rmax := rows[v]
		for r0 := 0; r0 < m; r0 += rmax {
			r := min(rmax, m-r0)
			kernels[v][r](&a[r0*lda], lda, ka, &b[j0], ldb, &c[r0*ldc+j0], ldc, bp, k, mask)
		}
	}
	return true
}
