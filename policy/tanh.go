package policy

import "math"

// Constants of tanh: Cody-Waite split of ln 2, the round-to-nearest
// shifter 1.5*2^52 and its bit pattern.
const (
	ln2Hi       = 6.93147180369123816490e-01
	ln2Lo       = 1.90821492927058770002e-10
	shifter     = 6755399441055744.0
	shifterBits = 0x4338000000000000
)

// tanh is a fast hyperbolic tangent: tanh|x| = (1-e)/(1+e) with
// e = exp(-2|x|) from a Cody-Waite reduction and the degree-12 Taylor
// polynomial (relative error about 2e-16). It is within 4e-16 of
// math.Tanh, its derivative is 1-tanh^2 to about 1e-12, and it is several
// times faster. The AVX2 version (tanhSlice) performs the same IEEE
// operations in the same order, so both give identical bits; |x| is clamped
// at 22, where the formula already yields exactly 1.
func tanh(x float64) float64 {
	a := math.Abs(x)
	if a > 22 {
		a = 22
	}
	m := -2 * a
	t := math.FMA(m, math.Log2E, shifter)
	kf := t - shifter
	r := math.FMA(-kf, ln2Hi, m)
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
	e := p * math.Float64frombits((math.Float64bits(t)-shifterBits+1023)<<52)
	return math.Copysign((1-e)/(1+e), x)
}

// tanhSlice replaces every element of x by its tanh.
func tanhSlice(x []float64) {
	i := tanhVec(x)
	for ; i < len(x); i++ {
		x[i] = tanh(x[i])
	}
}
