package policy

import (
	"math"
	"testing"
)

// vectorPaths returns the vector kernel paths this CPU runs, skipping the
// test when there is none (only the portable Go runs here).
func vectorPaths(t *testing.T) []int {
	t.Helper()
	var paths []int
	for p := pathAVX2; p <= bestPath; p++ {
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		t.Skip("no vector kernels on this CPU: only the portable Go path runs here (nothing to compare)")
	}
	return paths
}

// onPath runs f with the kernels of path p.
func onPath(p int, f func()) {
	saved := kernelPath
	kernelPath = p
	defer func() { kernelPath = saved }()
	f()
}

var pathNames = kernelNames

func randF32(n int, scale float64, seed uint64) []float32 {
	rng := testRNG(seed)
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

func sameBits32(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func sameBits64(a, b []float64) int {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestGemmPathsAgree checks every vector path against the portable Go
// bitwise, over shapes that exercise every micro-kernel (row and column
// remainders, masked last vectors, one column) and the strides of the
// three products of a dense layer.
func TestGemmPathsAgree(t *testing.T) {
	paths := vectorPaths(t)
	type shape struct{ m, n, k, lda, ka, ldb, ldc int }
	var shapes []shape
	for _, m := range []int{1, 2, 3, 5, 7, 12, 13, 25} {
		for _, n := range []int{1, 3, 8, 16, 17, 33, 48, 64, 65, 100, 130} {
			k := 1 + (m*7+n)%23
			shapes = append(shapes, shape{m, n, k, k, 1, n + 3, n}) // forward
			shapes = append(shapes, shape{m, n, k, 1, m + 2, n, n}) // weight gradient
		}
	}
	shapes = append(shapes, shape{1, 17, 40, 0, 0, 17, 17}) // bias gradient: a is one constant
	for i, s := range shapes {
		a := randF32((s.m-1)*s.lda+(s.k-1)*s.ka+1, 1, uint64(3*i))
		b := randF32((s.k-1)*s.ldb+s.n, 1, uint64(3*i+1))
		bias := randF32(s.n, 1, uint64(3*i+2))
		for _, withBias := range []bool{false, true} {
			bb := bias
			if !withBias {
				bb = nil
			}
			want := make([]float32, (s.m-1)*s.ldc+s.n)
			gemmGeneric(s.m, s.n, s.k, a, s.lda, s.ka, b, s.ldb, want, s.ldc, bb)
			for _, p := range paths {
				got := make([]float32, len(want))
				onPath(p, func() { gemm(s.m, s.n, s.k, a, s.lda, s.ka, b, s.ldb, got, s.ldc, bb) })
				if j := sameBits32(got, want); j >= 0 {
					t.Fatalf("%s, shape %+v, bias %v: c[%d] = %v, generic %v", pathNames[p], s, withBias, j, got[j], want[j])
				}
			}
		}
	}
}

// TestGemmIsChainOfFMA checks gemmGeneric itself against the definition
// computed with exact float32 FMAs (math/big).
func TestGemmIsChainOfFMA(t *testing.T) {
	a, b, bias := randF32(3*9, 1, 1), randF32(9*5, 1, 2), randF32(5, 1, 3)
	c := make([]float32, 3*5)
	gemmGeneric(3, 5, 9, a, 9, 1, b, 5, c, 5, bias)
	for r := 0; r < 3; r++ {
		for j := 0; j < 5; j++ {
			acc := bias[j]
			for k := 0; k < 9; k++ {
				acc = fma32Exact(a[r*9+k], b[k*5+j], acc)
			}
			if c[r*5+j] != acc {
				t.Fatalf("c[%d,%d] = %v, want %v", r, j, c[r*5+j], acc)
			}
		}
	}
}

func TestTanhPathsAgree(t *testing.T) {
	paths := vectorPaths(t)
	x := randF32(4099, 4, 51)
	for i := 0; i < len(x); i += 9 {
		x[i] *= 1e-6
	}
	copy(x, []float32{0, float32(math.Copysign(0, -1)), 9, -9, 8.9, 1e30, -1e30, 0.1733, -0.1734, 1e-30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())})
	want := append([]float32(nil), x...)
	for i := range want {
		want[i] = tanh32(want[i])
	}
	for _, p := range paths {
		got := append([]float32(nil), x...)
		onPath(p, func() { tanhSlice(got) })
		if j := sameBits32(got, want); j >= 0 {
			t.Fatalf("%s: tanh(%v) = %v, generic %v", pathNames[p], x[j], got[j], want[j])
		}
		dy := randF32(len(x), 1, 52)
		wantG := append([]float32(nil), dy...)
		onPath(pathGeneric, func() { tanhGrad(want, wantG) })
		onPath(p, func() { tanhGrad(want, dy) })
		if j := sameBits32(dy, wantG); j >= 0 {
			t.Fatalf("%s: tanh gradient %d: %v, generic %v", pathNames[p], j, dy[j], wantG[j])
		}
	}
}

func TestExpPathsAgree(t *testing.T) {
	paths := vectorPaths(t)
	rng := testRNG(59)
	x := make([]float64, 1021)
	for i := range x {
		x[i] = -rng.ExpFloat64() * 10
	}
	copy(x, []float64{0, -708, -709, -1e300, 709, 710, 1e-300, -0.34657359, 0.34657359, math.Inf(-1), math.NaN()})
	want := append([]float64(nil), x...)
	for i := range want {
		want[i] = exp64(want[i])
	}
	for _, p := range paths {
		got := append([]float64(nil), x...)
		onPath(p, func() { expSlice(got) })
		for j := range got {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) && !(math.IsNaN(got[j]) && math.IsNaN(want[j])) {
				t.Fatalf("%s: exp(%v) = %v, generic %v", pathNames[p], x[j], got[j], want[j])
			}
		}
	}
}

func TestExpAccuracy(t *testing.T) {
	rng := testRNG(60)
	for i := 0; i < 200000; i++ {
		x := -rng.ExpFloat64() * 30
		if i%3 == 0 {
			x = (rng.Float64() - 0.5) * 1400
		}
		got, want := exp64(x), math.Exp(x)
		if x < -708 {
			want = math.Exp(-708)
		}
		tol := 4e-16 // 2 ulps where the softmax uses it (x <= 0)
		if x > 0 {
			tol = 1e-15
		}
		if math.Abs(got-want) > tol*want {
			t.Fatalf("exp64(%v) = %v, math.Exp %v", x, got, want)
		}
	}
}

func TestOptimKernelPathsAgree(t *testing.T) {
	paths := vectorPaths(t)
	const n = 1003
	rng := testRNG(53)
	f64 := func(scale float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64() * scale
		}
		return x
	}
	p0, m0, g := f64(1), f64(0.1), f64(0.3)
	v0 := f64(0.1)
	for i := range v0 {
		v0[i] = math.Abs(v0[i])
	}
	srcs := [][]float32{randF32(n, 1, 54), randF32(n, 1e-3, 55), randF32(n, 10, 56)}
	k := adamConsts{0.9, 0.1, 0.999, 0.001, 0.37, 3e-4 / 0.19, 1 / math.Sqrt(0.0029), 1e-5}
	type out struct {
		p, m, v, sum []float64
		p32, nar     []float32
		ss           []float64
	}
	run := func(path int) out {
		o := out{p: append([]float64(nil), p0...), m: append([]float64(nil), m0...), v: append([]float64(nil), v0...),
			sum: make([]float64, n), p32: make([]float32, n), nar: make([]float32, n)}
		onPath(path, func() {
			adamStep(o.p, o.m, o.v, g, o.p32, &k)
			narrow(o.nar, g)
			for _, s := range [][][]float32{srcs[:1], srcs[:2], srcs} {
				o.ss = append(o.ss, SumGrads(o.sum, s))
			}
			o.ss = append(o.ss, SumGrads(o.sum[:5], [][]float32{srcs[0][:5], srcs[1][:5]}))
		})
		return o
	}
	want := run(pathGeneric)
	for _, path := range paths {
		got := run(path)
		for _, c := range []struct {
			name      string
			got, want []float64
		}{{"adam params", got.p, want.p}, {"adam m", got.m, want.m}, {"adam v", got.v, want.v},
			{"gradient sum", got.sum, want.sum}, {"sums of squares", got.ss, want.ss}} {
			if j := sameBits64(c.got, c.want); j >= 0 {
				t.Fatalf("%s: %s[%d] = %v, generic %v", pathNames[path], c.name, j, c.got[j], c.want[j])
			}
		}
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"adam float32 params", got.p32, want.p32}, {"narrow", got.nar, want.nar}} {
			if j := sameBits32(c.got, c.want); j >= 0 {
				t.Fatalf("%s: %s[%d] = %v, generic %v", pathNames[path], c.name, j, c.got[j], c.want[j])
			}
		}
	}
	// The definitions themselves.
	if got := math.Sqrt(SumGrads(make([]float64, 2), [][]float32{{1, 4}, {2, 0}})); got != 5 {
		t.Fatalf("norm of (1+2, 4+0) = %v", got)
	}
	i := 5
	gi := g[i] * k.scale
	mi := 0.9*m0[i] + 0.1*gi
	vi := 0.999*v0[i] + 0.001*gi*gi
	if p := p0[i] - k.step*mi/(math.Sqrt(vi)*k.isc2+k.eps); math.Abs(want.p[i]-p) > 1e-15 || want.p32[i] != float32(want.p[i]) {
		t.Fatalf("adam param %v (float32 %v), want %v", want.p[i], want.p32[i], p)
	}
}

// TestSyncParamsTransposes checks the float32 copies after SyncParamRange
// on uneven ranges: rounded parameters, and the transposes of the layers
// that have one.
func TestSyncParamsTransposes(t *testing.T) {
	for _, arch := range []Arch{DefaultArch(7, 5), {ObsSize: 3, NumActions: 4, Hidden: []int{6}, Activation: ActivationTanh, SharedTrunk: true}} {
		net, _ := New(arch, testRNG(57))
		rng := testRNG(58)
		for i := range net.params {
			net.params[i] = rng.NormFloat64()
		}
		for lo := 0; lo < len(net.params); lo += 37 {
			net.SyncParamRange(lo, min(lo+37, len(net.params)))
		}
		for i, v := range net.params {
			if net.p32[i] != float32(v) {
				t.Fatalf("p32[%d] = %v, want %v", i, net.p32[i], float32(v))
			}
		}
		withT := 0
		for j, l := range net.layers {
			if l.wT == nil {
				continue
			}
			withT++
			for i := 0; i < l.in; i++ {
				for o := 0; o < l.out; o++ {
					if l.wT[o*l.in+i] != l.w[i*l.out+o] {
						t.Fatalf("layer %d: wT[%d,%d] = %v, w %v", j, o, i, l.wT[o*l.in+i], l.w[i*l.out+o])
					}
				}
			}
		}
		if want := len(net.layers) - 2 + btoi(arch.SharedTrunk); withT != want {
			t.Fatalf("%d layers with a transpose, want %d", withT, want)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
