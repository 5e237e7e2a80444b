package policy

// Dense-layer kernels. Every output is accumulated as bias, then one fused
// multiply-add per input in input order, so the value computed for one
// sample does not depend on the batch it is computed in nor on which code
// path (blocked or remainder) handles it: the actor's log-probabilities are
// bitwise identical to the learner's.

// denseForward computes y[s,o] = b[o] + sum_i x[s,i] w[i,o] for n samples
// and applies the activation when act is set.
func denseForward(l *layer, x []float64, y []float64, n int, relu bool) {
	in, out := l.in, l.out
	for s := 0; s < n; s++ {
		fmaCols(x[s*in:], 1, in, l.w, out, l.b, y[s*out:], out)
	}
	if !l.act {
		return
	}
	ys := y[:n*out]
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

// activationGrad turns dy (gradient w.r.t. the activation output y) into
// the gradient w.r.t. the pre-activation, in place.
func activationGrad(y, dy []float64, relu bool) {
	y = y[:len(dy)]
	if relu {
		for i, v := range y {
			if v <= 0 {
				dy[i] = 0
			}
		}
		return
	}
	for i, v := range y {
		dy[i] *= 1 - v*v
	}
}

// backScratch holds the buffers denseBackward needs: room for a
// transposed weight matrix, a zero row and the constant 1.
type backScratch struct {
	wT    []float64
	zeros []float64
	one   []float64
}

// denseBackward accumulates the weight and bias gradients for n samples
// given the pre-activation gradient dz (n×out) and the layer input x
// (n×in). When dx is not nil it also writes (overwriting) the gradient with
// respect to x.
func denseBackward(l *layer, x, dz, dx []float64, n int, sc *backScratch) {
	in, out := l.in, l.out
	fmaCols(sc.one, 0, n, dz, out, l.gb, l.gb, out)
	for i := 0; i < in; i++ {
		g := l.gw[i*out : i*out+out]
		fmaCols(x[i:], in, n, dz, out, g, g, out)
	}
	if dx == nil {
		return
	}
	wT := sc.wT[:in*out]
	for i := 0; i < in; i++ {
		for o, v := range l.w[i*out : i*out+out] {
			wT[o*in+i] = v
		}
	}
	for s := 0; s < n; s++ {
		fmaCols(dz[s*out:], 1, out, wT, in, sc.zeros, dx[s*in:], in)
	}
}
