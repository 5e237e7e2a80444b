package ppo

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"podmedic/policy"
)

func testRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// randomSegment builds a segment acted by net's own policy, with behaviour
// log-probs perturbed by up to +-logpNoise so some ratios leave the clip
// range.
func randomSegment(t testing.TB, net *policy.Net, K, T int, logpNoise float64, rng *rand.Rand) Segment {
	t.Helper()
	arch := net.Arch()
	n := K * T
	seg := Segment{NumEnvs: K, Horizon: T, Obs: make([]float32, n*arch.ObsSize), Actions: make([]int32, n),
		LogProbs: make([]float64, n), Values: make([]float64, n), Rewards: make([]float64, n),
		Terminated: make([]bool, n), Truncated: make([]bool, n), BootstrapValues: make([]float64, n),
		LastValues: make([]float64, K)}
	for i := range seg.Obs {
		seg.Obs[i] = float32(rng.NormFloat64())
	}
	inf := net.NewInference(n)
	acts := make([]int, n)
	inf.Act(seg.Obs, n, rng, false, acts, seg.LogProbs, seg.Values)
	for i := range acts {
		seg.Actions[i] = int32(acts[i])
		seg.LogProbs[i] = math.Min(0, seg.LogProbs[i]+logpNoise*(2*rng.Float64()-1))
		seg.Values[i] += 0.5 * rng.NormFloat64()
		seg.Rewards[i] = rng.NormFloat64()
		seg.Terminated[i] = rng.IntN(7) == 0
		seg.Truncated[i] = rng.IntN(7) == 0
		seg.BootstrapValues[i] = rng.NormFloat64()
	}
	for k := range seg.LastValues {
		seg.LastValues[k] = rng.NormFloat64()
	}
	return seg
}

// TestPPOGradientCheck compares the analytic gradient of the complete PPO
// minibatch loss (clipped surrogate, entropy bonus, clipped value loss)
// with central finite differences, for every policy and value parameter.
//
// The network computes in float32 (see policy's TestGradientCheck): the
// differences use perturbations of 2^-6 and 2^-7 combined by Richardson
// extrapolation, and the tolerance is 2e-4 + 2e-3·|gradient| (float64
// used 1e-7 + 1e-6). The loss has kinks (the clip, the max of the two
// surrogates, the value clip): where the two differences disagree one
// lies within the step and the parameter is skipped, at most 15% of them.
func TestPPOGradientCheck(t *testing.T) {
	cases := []struct {
		name   string
		vfClip float64
		shared bool
		shards int
	}{
		{"unclipped value", 0, false, 1},
		{"clipped value", 0.3, false, 3},
		{"shared trunk", 0.3, true, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := testRNG(1)
			arch := policy.Arch{ObsSize: 4, NumActions: 3, Hidden: []int{6, 5}, Activation: policy.ActivationTanh, SharedTrunk: tc.shared}
			net, err := policy.New(arch, rng)
			if err != nil {
				t.Fatal(err)
			}
			params := net.Params()
			for i, p := range params { // break the 0.01 head gain so the policy is not uniform
				params[i] = float64(float32(p + 0.4*rng.NormFloat64()))
			}
			net.SyncParams()
			cfg := DefaultConfig()
			cfg.MinibatchSize = 24
			cfg.EntCoef = 0.05
			cfg.ClipRangeVF = tc.vfClip
			cfg.Shards = tc.shards
			p, err := New(net, cfg, 10, rng)
			if err != nil {
				t.Fatal(err)
			}
			seg := randomSegment(t, net, 3, 8, 0.5, rng)
			p.batch.load([]Segment{seg}, seg.Len(), arch.ObsSize, cfg.Gamma, cfg.GAELambda)
			idx := make([]int, seg.Len())
			for i := range idx {
				idx[i] = i
			}
			st := p.gradient(idx, 0.2)
			if st.clipFrac == 0 || st.clipFrac == 1 {
				t.Fatalf("clip fraction %v: test data must exercise both branches", st.clipFrac)
			}
			analytic := append([]float64(nil), p.mb.grad...)
			ss := 0.0
			for _, g := range analytic {
				ss += g * g
			}
			if want := math.Sqrt(ss); math.Abs(st.gradNorm-want) > 1e-12*want {
				t.Fatalf("gradient norm %v, want %v", st.gradNorm, want)
			}
			at := func(i int, x float64) float64 {
				params[i] = x
				net.SyncParamRange(i, i+1)
				return p.gradient(idx, 0.2).loss
			}
			const h = 0x1p-6
			skipped := 0
			for i := range params {
				x := params[i]
				d1 := (at(i, x+h) - at(i, x-h)) / (2 * h)
				d2 := (at(i, x+h/2) - at(i, x-h/2)) / h
				at(i, x)
				g := analytic[i]
				tol := 2e-4 + 2e-3*math.Abs(g)
				if math.Abs(d1-d2) > tol {
					skipped++
					continue
				}
				if fd := (4*d2 - d1) / 3; math.Abs(fd-g) > tol {
					t.Fatalf("param %d of %d: analytic %.8g, finite difference %.8g", i, len(params), g, fd)
				}
			}
			if skipped > len(params)*15/100 {
				t.Fatalf("%d of %d parameters skipped at kinks", skipped, len(params))
			}
			t.Logf("%d of %d parameters skipped at kinks", skipped, len(params))
		})
	}
}

func TestPPOFirstRatioIsOne(t *testing.T) {
	rng := testRNG(2)
	net, _ := policy.New(policy.DefaultArch(6, 4), rng)
	p, err := New(net, DefaultConfig(), 5, rng)
	if err != nil {
		t.Fatal(err)
	}
	for u := 0; u < 3; u++ {
		seg := randomSegment(t, net, 4, 40, 0, rng)
		st, err := p.Update([]Segment{seg})
		if err != nil {
			t.Fatal(err)
		}
		if st.FirstRatioDev != 0 {
			t.Fatalf("update %d: first minibatch max |ratio-1| = %g, want exactly 0", u, st.FirstRatioDev)
		}
		if st.Minibatches != 10*(160/64) || st.Epochs != 10 || st.Version != uint64(u+1) {
			t.Fatalf("update %d: %d minibatches, %d epochs, version %d", u, st.Minibatches, st.Epochs, st.Version)
		}
		if !(st.ApproxKL >= 0) || st.ClipFraction < 0 || st.ClipFraction > 1 || !(st.GradNorm > 0) {
			t.Fatalf("update %d: implausible diagnostics %+v", u, st)
		}
	}
}

func TestPPOAnnealing(t *testing.T) {
	rng := testRNG(3)
	net, _ := policy.New(policy.DefaultArch(3, 2), rng)
	cfg := DefaultConfig()
	cfg.AnnealClip = true
	cfg.Epochs = 1
	p, _ := New(net, cfg, 4, rng)
	want := []float64{1, 0.75, 0.5, 0.25, 0.25}
	for u, w := range want {
		st, err := p.Update([]Segment{randomSegment(t, net, 2, 8, 0, rng)})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(st.LearningRate-3e-4*w) > 1e-15 || math.Abs(st.ClipRange-0.2*w) > 1e-15 {
			t.Fatalf("update %d: lr %g clip %g, want fraction %g", u, st.LearningRate, st.ClipRange, w)
		}
	}
}

func TestPPOTargetKLStopsEarly(t *testing.T) {
	rng := testRNG(4)
	net, _ := policy.New(policy.DefaultArch(3, 4), rng)
	cfg := DefaultConfig()
	cfg.TargetKL = 1e-6
	cfg.LearningRate = 0.05
	p, _ := New(net, cfg, 4, rng)
	st, err := p.Update([]Segment{randomSegment(t, net, 2, 64, 0, rng)})
	if err != nil {
		t.Fatal(err)
	}
	if !st.EarlyStop || st.Minibatches >= 20 || st.Minibatches < 1 {
		t.Fatalf("early stop %v after %d minibatches, want a stop in the first epochs", st.EarlyStop, st.Minibatches)
	}
}

// TestPPONaNGuard feeds rewards so large that the value gradient
// overflows: the update must be skipped and leave everything unchanged.
func TestPPONaNGuard(t *testing.T) {
	rng := testRNG(5)
	net, _ := policy.New(policy.DefaultArch(3, 2), rng)
	p, _ := New(net, DefaultConfig(), 4, rng)
	good := randomSegment(t, net, 2, 32, 0, rng)
	if _, err := p.Update([]Segment{good}); err != nil {
		t.Fatal(err)
	}
	before := append([]float64(nil), net.Params()...)
	m := append([]float64(nil), p.adam.M...)
	adamT := p.adam.T
	bad := randomSegment(t, net, 2, 32, 0, rng)
	for i := range bad.Rewards {
		bad.Rewards[i] = 1e300
	}
	st, err := p.Update([]Segment{bad})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Skipped || st.SkipReason == "" || st.Version != 1 || p.Version() != 1 {
		t.Fatalf("skipped %v (%q), version %d: want a skipped update at version 1", st.Skipped, st.SkipReason, p.Version())
	}
	for i, v := range net.Params() {
		if v != before[i] || p.adam.M[i] != m[i] {
			t.Fatalf("param %d changed by a skipped update", i)
		}
	}
	if p.adam.T != adamT {
		t.Fatalf("adam steps %d, want %d", p.adam.T, adamT)
	}
	if _, err := p.Update([]Segment{good}); err != nil || p.Version() != 2 {
		t.Fatalf("update after skip: %v, version %d", err, p.Version())
	}
}

func TestPPORejectsBadSegment(t *testing.T) {
	rng := testRNG(6)
	net, _ := policy.New(policy.DefaultArch(3, 2), rng)
	p, _ := New(net, DefaultConfig(), 4, rng)
	seg := randomSegment(t, net, 2, 4, 0, rng)
	seg.Actions[3] = 7
	if _, err := p.Update([]Segment{seg}); !errors.Is(err, ErrSegment) {
		t.Fatalf("got %v, want ErrSegment", err)
	}
	if _, err := p.Update(nil); !errors.Is(err, ErrNoData) {
		t.Fatalf("got %v, want ErrNoData", err)
	}
}
