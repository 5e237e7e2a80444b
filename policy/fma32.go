//go:build !arm64

package policy

import "math"

// fma32 returns a*b+c rounded once to float32, as the FMA instructions of
// the vector kernels compute it (Go's math.FMA is float64 only).
//
// The product of two float32 is exact in float64. The sum p+c rounded to
// float64 and then to float32 could round twice; rounding the sum to odd
// instead (if it is inexact, pick the neighbour with an odd last bit)
// keeps enough information for the final rounding to float32 to be
// correct, since float64 carries more than 24+2 bits (Boldo and Melquiond,
// "Emulation of FMA and correctly rounded sums: proved algorithms using
// rounding to odd", 2008).
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	z := float64(c)
	s := p + z
	if s-s != 0 { // infinite or NaN: no rounding to fix
		return float32(s)
	}
	bb := s - p
	e := (p - (s - bb)) + (z - bb) // exact error of s (Knuth's TwoSum)
	if bits := math.Float64bits(s); e != 0 && bits&1 == 0 {
		if (e > 0) == (s > 0) {
			bits++
		} else {
			bits--
		}
		s = math.Float64frombits(bits)
	}
	return float32(s)
}
