package policy

// Dense layers on gemm (gemm.go): every output is its bias, or zero, then
// one float32 fused multiply-add per term in a fixed order, so the result
// for one sample does not depend on its batch nor on the hardware path.

// denseForward computes y = x·W + b for n samples and applies the
// activation when the layer has one.
func denseForward(l *layer, x, y []float32, n int, relu bool) {
	gemm(n, l.out, l.in, x, l.in, 1, l.w, l.out, y, l.out, l.b)
	if !l.act {
		return
	}
	ys := y[:n*l.out]
	if relu {
		for i, v := range ys {
			if v < 0 {
				ys[i] = 0
			}
		}
		return
	}
	tanhSlice(ys)
}

// activationGrad turns dy (gradient with respect to the activation output
// y) into the gradient with respect to the pre-activation, in place.
func activationGrad(y, dy []float32, relu bool) {
	if !relu {
		tanhGrad(y, dy)
		return
	}
	for i, v := range y[:len(dy)] {
		if v <= 0 {
			dy[i] = 0
		}
	}
}

// one is the constant row of the bias gradient's sum over samples.
var one = []float32{1}

// denseBackward writes the weight and bias gradients gw and gb of n
// samples given the pre-activation gradient dz (n×out) and the layer
// input x (n×in): sums over the samples in sample order. When dx is not
// nil it also writes the gradient with respect to x.
func denseBackward(l *layer, x, dz, dx, gw, gb []float32, n int) {
	in, out := l.in, l.out
	gemm(1, out, n, one, 0, 0, dz, out, gb, out, nil)
	if out == 1 {
		// One output: the same chains, vectorised across the inputs.
		gemm(1, in, n, dz, 0, 1, x, in, gw, in, nil)
	} else {
		gemm(in, out, n, x, 1, in, dz, out, gw, out, nil)
	}
	if dx != nil {
		gemm(n, in, out, dz, out, 1, l.wT, in, dx, in, nil)
	}
}
