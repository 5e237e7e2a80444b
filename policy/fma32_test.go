package policy

import (
	"math"
	"math/big"
	"testing"
)

// fma32Exact is a*b+c rounded once to float32 with math/big.
func fma32Exact(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(0).SetMode(big.ToNearestEven)
	x.SetFloat64(float64(a))
	x.SetPrec(200)
	x.Mul(x, new(big.Float).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetFloat64(float64(c)))
	r, _ := x.Float32()
	return r
}

// TestFMA32 checks the emulated float32 FMA against exact arithmetic,
// including the cases where rounding the float64 sum first would round
// twice the wrong way.
func TestFMA32(t *testing.T) {
	rng := testRNG(60)
	check := func(a, b, c float32) {
		t.Helper()
		got, want := fma32(a, b, c), fma32Exact(a, b, c)
		if math.Float32bits(got) != math.Float32bits(want) && !(got == 0 && want == 0) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
	// a*b = 1 + 2^-24 (a float32 midpoint) plus a tiny c: double rounding
	// of the float64 sum would lose c's direction.
	check(1+0x1p-12, 1+0x1p-12, 0x1p-60)
	check(1+0x1p-12, 1+0x1p-12, -0x1p-60)
	check(1+0x1p-12, 1-0x1p-12, 0x1p-70)
	for i := 0; i < 200000; i++ {
		a := float32(rng.NormFloat64())
		b := float32(rng.NormFloat64())
		c := float32(rng.NormFloat64())
		switch i % 4 {
		case 1:
			c = -a * b * (1 + float32(rng.NormFloat64())*1e-6) // cancellation
		case 2:
			c *= 1e-20 // tiny addend
		case 3: // product on a float32 midpoint, addend far below
			a = 1 + float32(rng.IntN(1<<11))*0x1p-11
			b = 1 + float32(rng.IntN(1<<11))*0x1p-12
			c = float32(rng.NormFloat64()) * 0x1p-50
		}
		check(a, b, c)
	}
	if v := fma32(float32(math.Inf(1)), 1, 1); !math.IsInf(float64(v), 1) {
		t.Fatalf("fma32(inf, 1, 1) = %v", v)
	}
}
