package policy

import (
	"fmt"
	"math"
)

// Element-wise kernels of the optimiser (learner/ppo): the reduction of
// gradient shards with the squared norm, and the Adam step on the float64
// master parameters. Like the network's kernels they have vector paths
// that give the same bits as the Go below.

// AdamCoefs are the per-step constants of an Adam step (Net.AdamStep).
type AdamCoefs struct {
	// Beta1 and Beta2 are the moment decay rates.
	Beta1, Beta2 float64
	// Scale multiplies every gradient first (the gradient-norm clip; 1
	// for none).
	Scale float64
	// StepSize is lr/(1-Beta1^t); SqrtC2 is sqrt(1-Beta2^t).
	StepSize, SqrtC2 float64
	// Eps is added to the denominator.
	Eps float64
}

// adamConsts is AdamCoefs as the assembly reads it.
type adamConsts struct {
	b1, omb1, b2, omb2, scale, step, isc2, eps float64
}

// AdamStep applies one Adam step (PyTorch's rule) to the master
// parameters [lo, hi) given moments m, v and gradients g of hi-lo
// elements each, and refreshes the network's float32 copy of them:
//
//	gi = g*Scale
//	m  = Beta1*m + (1-Beta1)*gi
//	v  = Beta2*v + (1-Beta2)*gi*gi
//	p -= StepSize*m / (sqrt(v)*(1/SqrtC2) + Eps)
//
// (PyTorch divides by SqrtC2; the product differs in the last bit and
// saves a division.) It also refreshes the transposed weights of the
// range; steps on disjoint ranges that run concurrently should use
// AdamStepPart instead.
func (n *Net) AdamStep(lo, hi int, m, v, g []float64, c AdamCoefs) {
	n.AdamStepPart(lo, hi, m, v, g, c)
	n.syncTransposed(lo, hi)
}

// AdamStepPart is AdamStep without the transposed weights: steps on
// disjoint ranges may run concurrently, and once they are all done one
// goroutine calls SyncTransposed before the next backward pass. (Each
// range of a layer's weights is a strided column of its transpose, so
// transposing ranges on several cores has them write the same cache
// lines: on two cores that made the transposition 3.6x slower than on
// one.)
func (n *Net) AdamStepPart(lo, hi int, m, v, g []float64, c AdamCoefs) {
	if lo < 0 || hi > len(n.params) || lo > hi || len(m) != hi-lo || len(v) != hi-lo || len(g) != hi-lo {
		panic(fmt.Sprintf("policy: AdamStep on [%d, %d) of %d parameters with lengths %d/%d/%d", lo, hi, len(n.params), len(m), len(v), len(g)))
	}
	p, p32 := n.params[lo:hi], n.p32[lo:hi]
	adamStep(p, m, v, g, p32, &adamConsts{c.Beta1, 1 - c.Beta1, c.Beta2, 1 - c.Beta2, c.Scale, c.StepSize, 1 / c.SqrtC2, c.Eps})
}

// adamStep is AdamStep on slices, writing float32(p) into p32.
func adamStep(p, m, v, g []float64, p32 []float32, k *adamConsts) {
	for i := adamVec(p, m, v, g, p32, k); i < len(p); i++ {
		// Conversions keep products from being fused into additions.
		gi := g[i] * k.scale
		mi := float64(k.b1*m[i]) + float64(k.omb1*gi)
		vi := float64(k.b2*v[i]) + float64(float64(k.omb2*gi)*gi)
		m[i], v[i] = mi, vi
		pi := p[i] - float64(k.step*mi)/(float64(math.Sqrt(vi)*k.isc2)+k.eps)
		p[i], p32[i] = pi, float32(pi)
	}
}

// narrow sets dst[i] = float32(src[i]), rounding to nearest.
func narrow(dst []float32, src []float64) {
	src = src[:len(dst)]
	for i := narrowVec(dst, src); i < len(dst); i++ {
		dst[i] = float32(src[i])
	}
}

// SumGrads sets dst[i] to the sum of srcs[k][i] over k in order (in
// float64) and returns the sum of dst[i]², accumulated with fused
// multiply-adds in eight partial sums (element i in partial i%8) added
// pairwise in a fixed order: the same value on every path. Every src must
// hold len(dst) elements.
func SumGrads(dst []float64, srcs [][]float32) float64 {
	if len(srcs) == 0 {
		panic("policy: SumGrads without sources")
	}
	for k, src := range srcs {
		if len(src) != len(dst) {
			panic(fmt.Sprintf("policy: SumGrads source %d has %d elements, want %d", k, len(src), len(dst)))
		}
	}
	var part [8]float64
	i := 0
	if len(dst) > 0 {
		i = reduceVec(dst, srcs, &part)
	}
	for ; i < len(dst); i++ {
		s := float64(srcs[0][i])
		for _, src := range srcs[1:] {
			s += float64(src[i])
		}
		dst[i] = s
		part[i%8] = math.FMA(s, s, part[i%8])
	}
	return ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]))
}
