package ppo

import (
	"hash/fnv"
	"math"
	"testing"

	"podmedic/policy"
)

// hashFloats is an FNV-1a hash of the bits of xs, in order.
func hashFloats(xs ...[]float64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, x := range xs {
		for _, v := range x {
			u := math.Float64bits(v)
			for i := range b {
				b[i] = byte(u >> (8 * i))
			}
			h.Write(b[:])
		}
	}
	return h.Sum64()
}

// TestUpdateIsBitwiseStable pins the numerics: five updates of three
// configurations on seeded data must give these parameters, optimiser
// state and diagnostics to the last bit. The hashes were produced by the
// learner's PPO before it moved into this package (tag session-start), so
// the move changed no arithmetic. A change that reorders floating-point
// operations (a data-parallel update, say) changes them: check such a
// change against the probes and the learning tests, then update the
// hashes here and say so.
func TestUpdateIsBitwiseStable(t *testing.T) {
	cases := []struct {
		name                string
		shared              bool
		tune                func(*Config)
		params, adam, stats uint64
		adamSteps           int64
	}{
		{"default", false, func(*Config) {}, 0x6b3e6e82d8b9d0ec, 0x0f4d42bc4ab173e7, 0xf596fddf9df04388, 150},
		{"service", false, func(c *Config) { c.Epochs, c.MinibatchSize = 4, 256 }, 0x70b61b31407552f3, 0x1973b882df53751e, 0x8c1b7814cd310db7, 20},
		{"clipped", true, func(c *Config) { c.ClipRangeVF, c.AnnealClip, c.TargetKL, c.EntCoef = 0.2, true, 0.02, 0.05 },
			0xf57acb31efaa733f, 0xafa36ee7ebc2c065, 0x2d16fa684187d391, 150},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := testRNG(77)
			arch := policy.Arch{ObsSize: 5, NumActions: 4, Hidden: []int{16, 8}, Activation: policy.ActivationTanh, SharedTrunk: tc.shared}
			net, err := policy.New(arch, rng)
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			tc.tune(&cfg)
			p, err := New(net, cfg, 6, rng)
			if err != nil {
				t.Fatal(err)
			}
			var stats []float64
			for u := 0; u < 5; u++ {
				if u == 3 {
					p.SetProgress(0.7)
				}
				segs := []Segment{randomSegment(t, net, 3, 40, 0.05, rng), randomSegment(t, net, 2, 37, 0.05, rng)}
				st, err := p.Update(segs)
				if err != nil {
					t.Fatal(err)
				}
				stats = append(stats, st.PolicyLoss, st.ValueLoss, st.Entropy, st.ApproxKL, st.ClipFraction, st.ExplainedVariance,
					st.GradNorm, st.LearningRate, st.ClipRange, st.FirstRatioDev, st.AdvantageMean, st.ReturnMean,
					float64(st.Minibatches), float64(st.Epochs), float64(st.Version))
			}
			got := []uint64{hashFloats(net.Params()), hashFloats(p.adam.M, p.adam.V), hashFloats(stats)}
			want := []uint64{tc.params, tc.adam, tc.stats}
			for i, what := range []string{"parameters", "adam moments", "diagnostics"} {
				if got[i] != want[i] {
					t.Errorf("%s hash %#016x, want %#016x", what, got[i], want[i])
				}
			}
			if p.adam.T != tc.adamSteps {
				t.Errorf("adam steps %d, want %d", p.adam.T, tc.adamSteps)
			}
		})
	}
}
