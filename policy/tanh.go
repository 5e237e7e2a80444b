package policy

import "math"

// Constants of tanh32: the clamp (tanh 9 rounds to 1 in float32), the
// round-to-nearest shifter 1.5*2^23, Cody and Waite's split of ln 2 (the
// high part has 9 significant bits, so k*ln2Hi is exact) and the
// polynomial P of Cephes' expf, e^r - 1 = r + r²·P(r) on |r| <= ln2/2.
const (
	tanhClamp = 9
	log2E32   = 1.44269504088896341
	shifter32 = 12582912
	ln2Hi32   = 0.693359375
	ln2Lo32   = -2.12194440e-4
	expP0     = 1.9875691500e-4
	expP1     = 1.3981999507e-3
	expP2     = 8.3334519073e-3
	expP3     = 4.1665795894e-2
	expP4     = 1.6666665459e-1
	expP5     = 5.0000001201e-1
	scaleBias = 0x4b400000 - 127 // bits(shifter+k) - scaleBias = k+127
)

// tanh32 is the hidden layers' activation: tanh|x| = -m/(2+m) with
// m = expm1(-2|x|), the sign restored at the end. expm1 reduces
// -2|x| = k ln2 + r (|r| <= ln2/2) and evaluates Cephes' expf polynomial
// for expm1(r); for k = 0 (|x| < 0.17) it uses expm1(r) directly, so small
// inputs keep their relative accuracy; otherwise (1+expm1(r))·2^k - 1.
// It is within 3 float32 ulps of math.Tanh (TestTanhAccuracy).
//
// The vector versions (vec_amd64.s) perform the same IEEE operations in
// the same order, so all paths give identical bits. The explicit float32
// conversions keep the compiler from fusing a product into the next
// addition, which the vector code does not do either.
func tanh32(x float32) float32 {
	const sign = 1 << 31
	a := math.Float32frombits(math.Float32bits(x) &^ sign)
	if tanhClamp < a { // NaN stays NaN
		a = tanhClamp
	}
	m := -2 * a
	t := float32(m*log2E32) + shifter32
	kf := t - shifter32
	r := m - float32(kf*ln2Hi32)
	r = r - float32(kf*ln2Lo32)
	z := float32(r * r)
	p := float32(expP0*r) + expP1
	p = float32(p*r) + expP2
	p = float32(p*r) + expP3
	p = float32(p*r) + expP4
	p = float32(p*r) + expP5
	em1 := float32(p*z) + r
	if kf != 0 {
		scale := math.Float32frombits((math.Float32bits(t) - scaleBias) << 23)
		em1 = float32((em1+1)*scale) - 1
	}
	y := -em1 / (2 + em1)
	return math.Float32frombits(math.Float32bits(y)&^sign | math.Float32bits(x)&sign)
}

// tanhSlice replaces every element of x by its tanh32.
func tanhSlice(x []float32) {
	i := tanhVec(x)
	for ; i < len(x); i++ {
		x[i] = tanh32(x[i])
	}
}

// tanhGrad turns dy, the gradient with respect to tanh outputs y, into the
// gradient with respect to the inputs: dy *= 1 - y².
func tanhGrad(y, dy []float32) {
	y = y[:len(dy)]
	i := tanhGradVec(y, dy)
	for ; i < len(dy); i++ {
		dy[i] *= 1 - float32(y[i]*y[i])
	}
}
