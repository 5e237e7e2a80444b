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
func TestGradientCheck(t *testing.T) {
	cases := []struct {
		name string
		arch Arch
	}{
		{"separate tanh", Arch{ObsSize: 5, NumActions: 3, Hidden: []int{6, 7}, Activation: ActivationTanh}},
		{"shared tanh", Arch{ObsSize: 4, NumActions: 4, Hidden: []int{5, 6}, Activation: ActivationTanh, SharedTrunk: true}},
		{"separate relu", Arch{ObsSize: 3, NumActions: 2, Hidden: []int{8}, Activation: ActivationReLU}},
		{"no hidden", Arch{ObsSize: 3, NumActions: 5, Activation: ActivationTanh}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := testRNG(1)
			net, err := New(tc.arch, rng)
			if err != nil {
				t.Fatal(err)
			}
			// Larger weights than the init so heads are not near-linear.
			for i := range net.params {
				net.params[i] += 0.3 * rng.NormFloat64()
			}
			const n = 4
			obs := randObs(rng, n, tc.arch.ObsSize)
			cl := make([]float64, n*tc.arch.NumActions)
			cv := make([]float64, n)
			for i := range cl {
				cl[i] = rng.NormFloat64()
			}
			for i := range cv {
				cv[i] = rng.NormFloat64()
			}
			ws := net.NewWorkspace(n)
			loss := func() float64 {
				ws.Forward(obs, n)
				s := 0.0
				for i, v := range ws.Logits() {
					s += cl[i] * v
				}
				for i, v := range ws.Values() {
					s += cv[i] * v
				}
				return s
			}
			net.ZeroGrads()
			loss()
			ws.Backward(cl, cv)
			const h = 1e-6
			for i := range net.params {
				p := net.params[i]
				net.params[i] = p + h
				lp := loss()
				net.params[i] = p - h
				lm := loss()
				net.params[i] = p
				fd := (lp - lm) / (2 * h)
				if d := math.Abs(fd - net.grads[i]); d > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Fatalf("param %d: analytic %.10g, finite difference %.10g", i, net.grads[i], fd)
				}
			}
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
					dot += l.w[i*l.out+a] * l.w[i*l.out+b]
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
		for _, b := range l.b {
			if b != 0 {
				t.Fatalf("layer %d: nonzero bias %g", li, b)
			}
		}
	}
}

func TestTanhAccuracy(t *testing.T) {
	rng := testRNG(3)
	for i := 0; i < 200000; i++ {
		x := rng.NormFloat64() * 4
		if i%7 == 0 {
			x = (rng.Float64() - 0.5) * 1e-3
		}
		got, want := tanh(x), math.Tanh(x)
		if math.Abs(got-want) > 4e-16 {
			t.Fatalf("tanh(%g) = %.17g, math.Tanh %.17g", x, got, want)
		}
		// Derivative: central difference vs 1 - y^2.
		const h = 1e-5
		fd := (tanh(x+h) - tanh(x-h)) / (2 * h)
		if d := math.Abs(fd - (1 - got*got)); d > 1e-9 {
			t.Fatalf("tanh'(%g): finite difference %.12g, 1-y^2 %.12g", x, fd, 1-got*got)
		}
	}
	for _, x := range []float64{0, 22, -22, 23, -1000, 1000} {
		if got, want := tanh(x), math.Tanh(x); math.Abs(got-want) > 4e-16 {
			t.Fatalf("tanh(%g) = %g, want %g", x, got, want)
		}
	}
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
