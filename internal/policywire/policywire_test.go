package policywire

import (
	"math"
	"math/rand/v2"
	"testing"

	"podmedic/policy"
	"podmedic/protocol"
)

func TestNormRoundTrip(t *testing.T) {
	z := policy.NewNormalizer(3)
	z.Update([]float32{1, 2, 3, 4, 5, 7, -1, 0, 2}, 3)
	st := z.Snapshot()
	back := NormState(Norm(st))
	for i := range st.Mean {
		if back.Mean[i] != st.Mean[i] || math.Abs(back.M2[i]-st.M2[i]) > 1e-12*math.Abs(st.M2[i]) {
			t.Fatalf("element %d: got mean %v m2 %v, want %v %v", i, back.Mean[i], back.M2[i], st.Mean[i], st.M2[i])
		}
	}
	id := NormState(Norm(policy.NewIdentityNormalizer(3).Snapshot()))
	if !id.Disabled {
		t.Fatal("identity normaliser did not survive the wire")
	}
}

func TestSnapshotChecksParams(t *testing.T) {
	arch := policy.DefaultArch(4, 3)
	net, err := policy.New(arch, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	w := &protocol.Weights{Version: 3, Arch: protocol.Arch{ObsSize: 4, NumActions: 3, Hidden: arch.Hidden, Activation: arch.Activation},
		Params: net.Params(), Norm: Norm(policy.NewNormalizer(4).Snapshot())}
	s, err := Snapshot(w)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 3 || len(s.Params) != arch.NumParams() {
		t.Fatalf("snapshot version %d with %d params", s.Version, len(s.Params))
	}
	w.Params = w.Params[:10]
	if _, err := Snapshot(w); err == nil {
		t.Fatal("short parameter vector accepted")
	}
}
