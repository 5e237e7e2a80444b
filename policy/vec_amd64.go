package policy

// Declarations of vec_amd64.s and the dispatch of the element-wise
// kernels. Each returns how many leading elements it handled; the Go
// callers finish the rest.

//go:noescape
func tanh512(x *float32, n int)

//go:noescape
func tanh256(x *float32, n int)

//go:noescape
func tanhGrad512(y, dy *float32, n int)

//go:noescape
func tanhGrad256(y, dy *float32, n int)

//go:noescape
func adam512(p, m, v, grad *float64, p32 *float32, n int, c *adamConsts)

//go:noescape
func adam256(p, m, v, grad *float64, p32 *float32, n int, c *adamConsts)

//go:noescape
func reduce512(dst *float64, srcs [][]float32, n int, part *[8]float64)

//go:noescape
func reduce256(dst *float64, srcs [][]float32, n int, part *[8]float64)

//go:noescape
func narrow512(dst *float32, src *float64, n int)

//go:noescape
func narrow256(dst *float32, src *float64, n int)

// vecWidth returns the elements per vector of the current path for
// elements of the given size (4 or 8 bytes), 0 for the generic path.
func vecWidth(size int) int {
	switch kernelPath {
	case pathAVX512:
		return 64 / size
	case pathAVX2:
		return 32 / size
	}
	return 0
}

func tanhVec(x []float32) int {
	n := len(x)
	switch kernelPath {
	case pathAVX512:
		if n &^= 15; n > 0 {
			tanh512(&x[0], n)
		}
	case pathAVX2:
		if n &^= 7; n > 0 {
			tanh256(&x[0], n)
		}
	default:
		return 0
	}
	return n
}

func tanhGradVec(y, dy []float32) int {
	n := len(dy)
	switch kernelPath {
	case pathAVX512:
		if n &^= 15; n > 0 {
			tanhGrad512(&y[0], &dy[0], n)
		}
	case pathAVX2:
		if n &^= 7; n > 0 {
			tanhGrad256(&y[0], &dy[0], n)
		}
	default:
		return 0
	}
	return n
}

func adamVec(p, m, v, g []float64, p32 []float32, c *adamConsts) int {
	w := vecWidth(8)
	n := len(p) / max(w, 1) * w
	if n == 0 {
		return 0
	}
	if kernelPath == pathAVX512 {
		adam512(&p[0], &m[0], &v[0], &g[0], &p32[0], n, c)
	} else {
		adam256(&p[0], &m[0], &v[0], &g[0], &p32[0], n, c)
	}
	return n
}

func reduceVec(dst []float64, srcs [][]float32, part *[8]float64) int {
	n := len(dst) &^ 7
	switch {
	case n == 0 || kernelPath == pathGeneric:
		return 0
	case kernelPath == pathAVX512:
		reduce512(&dst[0], srcs, n, part)
	default:
		reduce256(&dst[0], srcs, n, part)
	}
	return n
}

func narrowVec(dst []float32, src []float64) int {
	w := vecWidth(8)
	n := len(dst) / max(w, 1) * w
	if n == 0 {
		return 0
	}
	if kernelPath == pathAVX512 {
		narrow512(&dst[0], &src[0], n)
	} else {
		narrow256(&dst[0], &src[0], n)
	}
	return n
}

//go:noescape
func exp512(x *float64, n int)

//go:noescape
func exp256(x *float64, n int)

func expVec(x []float64) int {
	w := vecWidth(8)
	n := len(x) / max(w, 1) * w
	if n == 0 {
		return 0
	}
	if kernelPath == pathAVX512 {
		exp512(&x[0], n)
	} else {
		exp256(&x[0], n)
	}
	return n
}
