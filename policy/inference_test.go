package policy

import (
	"math"
	"testing"
)

func TestCategorical(t *testing.T) {
	z := []float32{1000, 1001, 999} // huge logits: stability
	lp := make([]float64, 3)
	LogSoftmax(z, lp)
	lp2, p := make([]float64, 3), make([]float64, 3)
	h2 := LogSoftmaxProbs(z, lp2, p)
	for i := range lp {
		if lp2[i] != lp[i] || math.Abs(p[i]-math.Exp(lp[i])) > 1e-12*p[i] {
			t.Fatalf("LogSoftmaxProbs: logp %v p %v, LogSoftmax %v", lp2[i], p[i], lp[i])
		}
	}
	e := []float64{math.Exp(-1), 1, math.Exp(-2)}
	s := e[0] + e[1] + e[2]
	for i := range lp {
		if want := math.Log(e[i] / s); math.Abs(lp[i]-want) > 1e-12 {
			t.Fatalf("logp[%d] = %v, want %v", i, lp[i], want)
		}
	}
	h := 0.0
	for i := range e {
		h -= e[i] / s * math.Log(e[i]/s)
	}
	if math.Abs(Entropy(lp)-h) > 1e-12 || math.Abs(h2-h) > 1e-12 {
		t.Fatalf("entropy %v and %v, want %v", Entropy(lp), h2, h)
	}
	if Argmax(lp) != 1 {
		t.Fatalf("argmax %d", Argmax(lp))
	}
	rng := testRNG(20)
	counts := make([]int, 3)
	const n = 200000
	for i := 0; i < n; i++ {
		counts[Sample(lp, rng)]++
	}
	for i := range counts {
		p := e[i] / s
		if sd := math.Sqrt(p * (1 - p) / n); math.Abs(float64(counts[i])/n-p) > 5*sd {
			t.Fatalf("action %d frequency %v, want %v", i, float64(counts[i])/n, p)
		}
	}
}

// TestLogSoftmaxRows: the batched version gives row by row's bits.
func TestLogSoftmaxRows(t *testing.T) {
	const n, k = 11, 17
	z := randF32(n*k, 3, 61)
	z[5] = 1000
	logp, p, ent := make([]float64, n*k), make([]float64, n*k), make([]float64, n)
	LogSoftmaxRows(z, n, k, logp, p, ent)
	lp, pr := make([]float64, k), make([]float64, k)
	for r := range n {
		h := LogSoftmaxProbs(z[r*k:r*k+k], lp, pr)
		if h != ent[r] {
			t.Fatalf("row %d: entropy %v, row by row %v", r, ent[r], h)
		}
		for i := range k {
			if lp[i] != logp[r*k+i] || pr[i] != p[r*k+i] {
				t.Fatalf("row %d, %d: %v %v, row by row %v %v", r, i, logp[r*k+i], p[r*k+i], lp[i], pr[i])
			}
		}
	}
}

func TestInferenceZeroAllocs(t *testing.T) {
	net, _ := New(DefaultArch(20, 7), testRNG(21))
	inf := net.NewInference(64)
	rng := testRNG(22)
	obs := randObs(rng, 64, 20)
	acts := make([]int, 64)
	lp, v := make([]float64, 64), make([]float64, 64)
	if a := testing.AllocsPerRun(20, func() { inf.Act(obs, 64, rng, false, acts, lp, v) }); a != 0 {
		t.Fatalf("Act allocates %v times per call", a)
	}
	if a := testing.AllocsPerRun(20, func() { inf.Values(obs, 64, v) }); a != 0 {
		t.Fatalf("Values allocates %v times per call", a)
	}
}

func TestAgentUsesSnapshotNormalizer(t *testing.T) {
	arch := DefaultArch(4, 3)
	net, _ := New(arch, testRNG(23))
	z := NewNormalizer(4)
	rng := testRNG(24)
	z.Update(randObs(rng, 100, 4), 100)
	snap := NewSnapshot(net, z, 42, map[string]string{"run": "x"})
	agent, err := NewAgent(snap, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if agent.Version() != 42 || agent.Name() != "trained" {
		t.Fatalf("version %d name %s", agent.Version(), agent.Name())
	}
	inf := net.NewInference(1)
	for i := 0; i < 50; i++ {
		raw := randObs(rng, 1, 4)
		for j := range raw {
			raw[j] = raw[j]*5 + 3
		}
		norm := make([]float32, 4)
		z.Normalize(raw, norm)
		var a [1]int
		var lp, v [1]float64
		inf.Act(norm, 1, nil, true, a[:], lp[:], v[:])
		ga, glp, gv := agent.ActValue(raw)
		if ga != a[0] || glp != lp[0] || gv != v[0] {
			t.Fatalf("agent (%d %v %v) vs direct (%d %v %v)", ga, glp, gv, a[0], lp[0], v[0])
		}
	}
	bad := snap
	bad.Params = bad.Params[:10]
	if _, err := NewAgent(bad, true, nil); err == nil {
		t.Fatal("agent built from a snapshot with short params")
	}
	if _, err := NewAgent(snap, false, nil); err == nil {
		t.Fatal("stochastic agent built without an rng")
	}
}
