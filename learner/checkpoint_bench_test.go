package learner

import (
	"math/rand/v2"
	"testing"

	"podmedic/learner/ppo"
	"podmedic/policy"
)

// makeRunCheckpoint is a checkpoint of make run's network (52
// observations, 17 actions, 64x64).
func makeRunCheckpoint(b testing.TB) *Checkpoint {
	rng := rand.New(rand.NewPCG(1, 2))
	net, err := policy.New(policy.Arch{ObsSize: 52, NumActions: 17, Hidden: []int{64, 64}, Activation: policy.ActivationTanh}, rng)
	if err != nil {
		b.Fatal(err)
	}
	upd, err := ppo.New(net, ppo.DefaultConfig(), 10, rng)
	if err != nil {
		b.Fatal(err)
	}
	st := upd.State()
	for i := range st.Adam.M {
		st.Adam.M[i], st.Adam.V[i] = rng.NormFloat64(), rng.Float64()
	}
	return NewCheckpoint(st, policy.NewNormalizer(52), 1234, map[string]string{"run": "bench"})
}

func BenchmarkCheckpointEncode(b *testing.B) {
	ck := makeRunCheckpoint(b)
	data, _ := EncodeCheckpoint(ck)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := EncodeCheckpoint(ck); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckpointDecode(b *testing.B) {
	data, _ := EncodeCheckpoint(makeRunCheckpoint(b))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeCheckpoint(data); err != nil {
			b.Fatal(err)
		}
	}
}
