//go:build !amd64

package policy

// Other architectures run the portable Go of every kernel.

const bestPath = pathGeneric

func gemmVec(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int, bias []float32) bool {
	return false
}

func tanhVec(x []float32) int                                         { return 0 }
func tanhGradVec(y, dy []float32) int                                 { return 0 }
func adamVec(p, m, v, g []float64, p32 []float32, c *adamConsts) int  { return 0 }
func reduceVec(dst []float64, srcs [][]float32, part *[8]float64) int { return 0 }
func narrowVec(dst []float32, src []float64) int                      { return 0 }
func expVec(x []float64) int                                          { return 0 }
