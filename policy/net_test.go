package policy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func testRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func randObs(rng *rand.Rand, n, d int) []float32 {
	obs := make([]float32, n*d)
	for i := range obs {
		obs[i] = float32(rng.NormFloat64())
	}
	return obs
}

// TestGradientCheck compares Backward with central finite differences of
// the linear loss sum(cl*logits) + sum(cv*values) for every parameter.
//
// The network computes in float32, so the loss is only known to about
// 1e-7 relative: the perturbations are large (h = 2^-5 and h/2, exact
// since the parameters start as float32 values), the two central
// differences are combined by Richardson extrapolation (error O(h⁴)), and
// the tolerance is 2e-4 + 1e-3·|gradient|, about what rounding allows. A
// wrong term (a missing activation derivative, a transposed index) is off
// by 1e-2 or more. Where the two differences disagree, a ReLU kink lies
// within h: such parameters are skipped, at most 10% of them.
func TestGradientCheck(t *testing.T) {
	cases := []struct {
		name string
		arch Arch
	}{
		{"separate tanh", Arch{ObsSize: 5, NumActions: 3, Hidden: []int{6, 7}, Activation: ActivationTanh}},
		{"shared tanh", Arch{ObsSize: 4, NumActions: 4, Hidden: []int{5, 6}, Activation: ActivationTanh, SharedTrunk: true}},
		{"separate relu", Arch{ObsSize: 3, NumActions: 2, Hidden: []int{8}, Activation: ActivationReLU}},
		{"no hidden", Arch{ObsSize: 3, NumActions: 5, Activation: ActivationTanh}},
		{"wide", Arch{ObsSize: 9, NumActions: 17, Hidden: []int{40, 33}, Activation: ActivationTanh}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := testRNG(1)
			net, err := New(tc.arch, rng)
			if err != nil {
				t.Fatal(err)
			}
			// Larger weights than the init so heads are not near-linear;
			// float32 values so that x±h is exact.
			for i := range net.params {
				net.params[i] = float64(float32(net.params[i] + 0.3*rng.NormFloat64()))
			}
			net.SyncParams()
			const n = 4
			obs := randObs(rng, n, tc.arch.ObsSize)
			cl := make([]float32, n*tc.arch.NumActions)
			cv := make([]float32, n)
			for i := range cl {
				cl[i] = float32(rng.NormFloat64())
			}
			for i := range cv {
				cv[i] = float32(rng.NormFloat64())
			}
			ws := net.NewWorkspace(n)
			loss := func() float64 {
				ws.Forward(obs, n)
				s := 0.0
				for i, v := range ws.Logits() {
					s += float64(cl[i]) * float64(v)
				}
				for i, v := range ws.Values() {
					s += float64(cv[i]) * float64(v)
				}
				return s
			}
			loss()
			ws.Backward(cl, cv)
			grads := append([]float32(nil), ws.Grads()...)
			at := func(i int, x float64) float64 {
				net.params[i] = x
				net.SyncParamRange(i, i+1)
				return loss()
			}
			const h = 0x1p-5
			worst, skipped := 0.0, 0
			for i := range net.params {
				p := net.params[i]
				d1 := (at(i, p+h) - at(i, p-h)) / (2 * h)
				d2 := (at(i, p+h/2) - at(i, p-h/2)) / h
				at(i, p)
				g := float64(grads[i])
				tol := 2e-4 + 1e-3*math.Abs(g)
				if math.Abs(d1-d2) > tol/2 && tc.arch.Activation == ActivationReLU {
					skipped++
					continue
				}
				fd := (4*d2 - d1) / 3
				d := math.Abs(fd - g)
				if d > tol {
					t.Fatalf("param %d: analytic %.8g, finite difference %.8g (h: %.8g, h/2: %.8g)", i, g, fd, d1, d2)
				}
				worst = max(worst, d)
			}
			if skipped > len(net.params)/10 {
				t.Fatalf("%d of %d parameters skipped at kinks", skipped, len(net.params))
			}
			t.Logf("largest difference %.2g over %d parameters (%d skipped at kinks)", worst, len(net.params), skipped)
		})
	}
}

func TestOrthogonalInit(t *testing.T) {
	arch := DefaultArch(20, 7)
	net, err := New(arch, testRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := net.NumParams(), arch.NumParams(); got != want {
		t.Fatalf("NumParams %d, want %d", got, want)
	}
	want := []float64{2, 2, 0.0001, 2, 2, 1} // squared gains: columns of W have norm gain
	for li, l := range net.layers {
		// Columns (outputs) of an in>=out layer are orthogonal with norm gain.
		if l.in < l.out {
			continue
		}
		for a := 0; a < l.out; a++ {
			for b := a; b < l.out; b++ {
				dot := 0.0
				for i := 0; i < l.in; i++ {
					w := net.params[l.off : l.off+l.in*l.out]
					dot += w[i*l.out+a] * w[i*l.out+b]
				}
				exp := 0.0
				if a == b {
					exp = want[li]
				}
				if math.Abs(dot-exp) > 1e-9 {
					t.Fatalf("layer %d columns %d,%d: dot %g, want %g", li, a, b, dot, exp)
				}
			}
		}
		for _, b := range net.params[l.off+l.in*l.out : l.off+l.in*l.out+l.out] {
			if b != 0 {
				t.Fatalf("layer %d: nonzero bias %g", li, b)
			}
		}
	}
}

// TestTanhAccuracy bounds tanh32's error against math.Tanh: 3 float32
// ulps of the result (relative, so small inputs too), and checks that the
// backward pass's 1-y² is its derivative.
func TestTanhAccuracy(t *testing.T) {
	rng := testRNG(3)
	worst := 0.0
	check := func(x float32) {
		t.Helper()
		got, want := float64(tanh32(x)), math.Tanh(float64(x))
		ulp := math.Max(math.Abs(want), 0x1p-126) * 0x1p-23
		if e := math.Abs(got-want) / ulp; e > 3 || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("tanh32(%g) = %.9g, math.Tanh %.9g (%.2f ulp)", x, got, want, e)
		} else {
			worst = max(worst, e)
		}
	}
	for i := 0; i < 400000; i++ {
		x := float32(rng.NormFloat64() * 4)
		switch i % 7 {
		case 0:
			x = float32((rng.Float64() - 0.5) * 1e-3)
		case 1:
			x = float32((rng.Float64() - 0.5) * 0.7) // around the k = 0 boundary
		}
		check(x)
		// Derivative: central difference in float64 of float32 values.
		const h = 1e-3
		y := float64(tanh32(x))
		fd := (float64(tanh32(x+h)) - float64(tanh32(x-h))) / float64(float32(x+h)-float32(x-h))
		if d := math.Abs(fd - (1 - y*y)); d > 2e-4 {
			t.Fatalf("tanh'(%g): finite difference %.6g, 1-y^2 %.6g", x, fd, 1-y*y)
		}
	}
	for _, x := range []float32{0, 1e-30, 0.17328, 0.17329, 8.9, 9, -9, 9.5, 20, -1000, 1000} {
		check(x)
	}
	if v := tanh32(float32(math.NaN())); v == v {
		t.Fatalf("tanh32(NaN) = %v", v)
	}
	t.Logf("largest error %.2f ulp", worst)
}

// TestBatchInvariance checks that an observation's outputs are bitwise the
// same whatever batch it is computed in.
func TestBatchInvariance(t *testing.T) {
	arch := Arch{ObsSize: 20, NumActions: 7, Hidden: []int{64, 30}, Activation: ActivationTanh}
	rng := testRNG(4)
	net, _ := New(arch, rng)
	const n = 13
	obs := randObs(rng, n, arch.ObsSize)
	big := net.NewInference(n)
	acts := make([]int, n)
	logp, vals := make([]float64, n), make([]float64, n)
	big.Act(obs, n, nil, true, acts, logp, vals)
	one := net.NewInference(1)
	for s := 0; s < n; s++ {
		var a [1]int
		var lp, v [1]float64
		one.Act(obs[s*20:s*20+20], 1, nil, true, a[:], lp[:], v[:])
		if a[0] != acts[s] || lp[0] != logp[s] || v[0] != vals[s] {
			t.Fatalf("sample %d: batch (%d, %v, %v) vs alone (%d, %v, %v)", s, acts[s], logp[s], vals[s], a[0], lp[0], v[0])
		}
	}
}

func TestSetParamsRejects(t *testing.T) {
	net, _ := New(DefaultArch(3, 2), testRNG(5))
	cases := []struct {
		name string
		p    []float64
	}{
		{"short", make([]float64, net.NumParams()-1)},
		{"nan", func() []float64 { p := make([]float64, net.NumParams()); p[3] = math.NaN(); return p }()},
		{"inf", func() []float64 { p := make([]float64, net.NumParams()); p[0] = math.Inf(-1); return p }()},
		{"beyond float32", func() []float64 { p := make([]float64, net.NumParams()); p[1] = 1e39; return p }()},
	}
	before := append([]float64(nil), net.Params()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := net.SetParams(tc.p); err == nil {
				t.Fatal("SetParams accepted bad parameters")
			}
			for i, v := range net.Params() {
				if v != before[i] {
					t.Fatal("rejected SetParams changed the net")
				}
			}
		})
	}
}
