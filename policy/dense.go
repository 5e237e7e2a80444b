package policy

import "math"

// Dense-layer kernels. Every output is accumulated as bias, then one fused
// multiply-add per input in input order, so the value computed for one
// sample does not depend on the batch it is computed in nor on which code
// path (blocked or remainder) handles it: the actor's log-probabilities are
// bitwise identical to the learner's.

// denseForward computes y[s,o] = b[o] + sum_i x[s,i] w[i,o] for n samples
// and applies the activation when act is set.
func denseForward(l *layer, x []float64, y []float64, n int, relu bool) {
	in, out := l.in, l.out
	w, b := l.w, l.b
	for s := 0; s < n; s++ {
		xs := x[s*in : s*in+in : s*in+in]
		ys := y[s*out : s*out+out : s*out+out]
		o := 0
		for ; o+4 <= out; o += 4 {
			a0, a1, a2, a3 := b[o], b[o+1], b[o+2], b[o+3]
			wi := o
			for _, xi := range xs {
				r := w[wi : wi+4 : wi+4]
				a0 = math.FMA(xi, r[0], a0)
				a1 = math.FMA(xi, r[1], a1)
				a2 = math.FMA(xi, r[2], a2)
				a3 = math.FMA(xi, r[3], a3)
				wi += out
			}
			ys[o], ys[o+1], ys[o+2], ys[o+3] = a0, a1, a2, a3
		}
		for ; o < out; o++ {
			a := b[o]
			wi := o
			for _, xi := range xs {
				a = math.FMA(xi, w[wi], a)
				wi += out
			}
			ys[o] = a
		}
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
	for i, v := range ys {
		ys[i] = tanh(v)
	}
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

// denseBackward accumulates the weight and bias gradients for n samples
// given the pre-activation gradient dz (n×out) and the layer input x
// (n×in). When dx is not nil it also writes (overwriting) the gradient with
// respect to x.
func denseBackward(l *layer, x, dz, dx []float64, n int) {
	in, out := l.in, l.out
	w, gw, gb := l.w, l.gw, l.gb
	for s := 0; s < n; s++ {
		ds := dz[s*out : s*out+out : s*out+out]
		for o, v := range ds {
			gb[o] += v
		}
		xs := x[s*in : s*in+in : s*in+in]
		for i, xi := range xs {
			if xi == 0 {
				continue
			}
			g := gw[i*out : i*out+out : i*out+out]
			for o, v := range ds {
				g[o] = math.FMA(xi, v, g[o])
			}
		}
		if dx == nil {
			continue
		}
		dxs := dx[s*in : s*in+in : s*in+in]
		for i := range dxs {
			r := w[i*out : i*out+out : i*out+out]
			a := 0.0
			for o, v := range ds {
				a = math.FMA(r[o], v, a)
			}
			dxs[i] = a
		}
	}
}
