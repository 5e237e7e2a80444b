package policy

import "math"

// Constants of exp64: Cody and Waite's split of ln 2, the round-to-nearest
// shifter 1.5*2^52 and its bit pattern, and the clamp that keeps 2^k
// normal.
const (
	ln2Hi       = 6.93147180369123816490e-01
	ln2Lo       = 1.90821492927058770002e-10
	shifter64   = 6755399441055744.0
	shifterBits = 0x4338000000000000
	expMin      = -708
	expMax      = 709
)

// exp64 is e^x for the softmax: x = k ln2 + r (|r| <= ln2/2), the
// degree-12 Taylor polynomial of e^r (relative error about 2e-16), times
// 2^k. Inputs are clamped to [-708, 709]; below, the result is e^-708
// (about 3e-308) instead of a smaller number or 0, which no probability
// sum notices. The vector versions (vec_amd64.s) perform the same
// operations in the same order, so all paths agree bitwise.
func exp64(x float64) float64 {
	if x < expMin { // NaN stays NaN
		x = expMin
	}
	if x > expMax {
		x = expMax
	}
	t := math.FMA(x, math.Log2E, shifter64)
	kf := t - shifter64
	r := math.FMA(-kf, ln2Hi, x)
	r = math.FMA(-kf, ln2Lo, r)
	p := 1.0 / 479001600
	p = math.FMA(p, r, 1.0/39916800)
	p = math.FMA(p, r, 1.0/3628800)
	p = math.FMA(p, r, 1.0/362880)
	p = math.FMA(p, r, 1.0/40320)
	p = math.FMA(p, r, 1.0/5040)
	p = math.FMA(p, r, 1.0/720)
	p = math.FMA(p, r, 1.0/120)
	p = math.FMA(p, r, 1.0/24)
	p = math.FMA(p, r, 1.0/6)
	p = math.FMA(p, r, 0.5)
	p = math.FMA(p, r, 1)
	p = math.FMA(p, r, 1)
	return p * math.Float64frombits((math.Float64bits(t)-shifterBits+1023)<<52)
}

// expSlice replaces every element of x by its exp64.
func expSlice(x []float64) {
	for i := expVec(x); i < len(x); i++ {
		x[i] = exp64(x[i])
	}
}
