package policy

import "fmt"

//go:generate go run gemm_gen.go

// Kernel paths. Every path computes bitwise identical results: the vector
// kernels only change how many outputs advance at once, never the
// operations performed for one output.
const (
	pathGeneric = iota // portable Go
	pathAVX2           // 8 float32 lanes, FMA3
	pathAVX512         // 16 float32 lanes, mask registers
)

// kernelPath is the path in use: the best the CPU supports. Tests lower it
// to compare paths.
var kernelPath = bestPath

var kernelNames = [...]string{pathGeneric: "generic", pathAVX2: "avx2", pathAVX512: "avx512"}

// Kernels returns the name of the kernel path in use: "avx512", "avx2" or
// "generic" (portable Go).
func Kernels() string { return kernelNames[kernelPath] }

// AvailableKernels lists the kernel paths this CPU runs, slowest first.
func AvailableKernels() []string { return kernelNames[:bestPath+1] }

// SetKernels selects a kernel path by name (one of AvailableKernels). All
// paths compute bitwise identical results; choosing one serves to check
// that and to measure them. It must not be called while any network
// computes.
func SetKernels(name string) error {
	for p, n := range kernelNames[:bestPath+1] {
		if n == name {
			kernelPath = p
			return nil
		}
	}
	return fmt.Errorf("policy: kernel path %q not available on this CPU (have %v)", name, AvailableKernels())
}

// gemm computes, for r < m and j < n,
//
//	c[r*ldc+j] = init_j + sum over kk < k of a[r*lda+kk*ka] * b[kk*ldb+j]
//
// with init_j = bias[j], or 0 when bias is nil, taking one float32 fused
// multiply-add per kk in increasing kk order (see fma32). Because every
// output is this one chain, its value does not depend on m, n, the block
// it falls in or the hardware path: a sample's network outputs are the
// same whatever batch it is computed in, which is what makes the actor's
// and the learner's log-probabilities equal to the last bit.
//
// The strides let one routine serve the three products of a dense layer:
// Y = XW + b (lda = in, ka = 1), dX = dZ·Wᵀ (with the transposed weights)
// and dW = Xᵀ·dZ (lda = 1, ka = in).
func gemm(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int, bias []float32) {
	if m < 1 || n < 1 || k < 1 {
		panic(fmt.Sprintf("policy: gemm with m=%d n=%d k=%d", m, n, k))
	}
	if len(a) < (m-1)*lda+(k-1)*ka+1 || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n || bias != nil && len(bias) < n {
		panic(fmt.Sprintf("policy: gemm operands too short (a %d, b %d, c %d, bias %d for m=%d n=%d k=%d)",
			len(a), len(b), len(c), len(bias), m, n, k))
	}
	if !gemmVec(m, n, k, a, lda, ka, b, ldb, c, ldc, bias) {
		gemmGeneric(m, n, k, a, lda, ka, b, ldb, c, ldc, bias)
	}
}

// gemmGeneric is gemm in portable Go: the definition the vector kernels
// reproduce.
func gemmGeneric(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int, bias []float32) {
	for r := 0; r < m; r++ {
		for j := 0; j < n; j++ {
			var acc float32
			if bias != nil {
				acc = bias[j]
			}
			ai, bi := r*lda, j
			for kk := 0; kk < k; kk++ {
				acc = fma32(a[ai], b[bi], acc)
				ai += ka
				bi += ldb
			}
			c[r*ldc+j] = acc
		}
	}
}
