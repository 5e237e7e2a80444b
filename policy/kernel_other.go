//go:build !amd64

package policy

// fmaColsVec has no vector implementation on this architecture.
func fmaColsVec(x []float64, xstride, n int, w []float64, ld int, b, y []float64, cols int) int {
	return 0
}

// tanhVec has no vector implementation on this architecture.
func tanhVec(x []float64) int { return 0 }
