package ppo

import (
	"errors"
	"math"
	"testing"

	"podmedic/policy"
)

func newStateTestUpdater(t *testing.T) *Updater {
	t.Helper()
	rng := testRNG(11)
	net, err := policy.New(policy.Arch{ObsSize: 3, NumActions: 2, Hidden: []int{8, 8}, Activation: policy.ActivationTanh}, rng)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(net, DefaultConfig(), 10, rng)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// updateOn runs update u on data that depends only on u and the current
// parameters, so two updaters with equal state see equal data.
func updateOn(t *testing.T, p *Updater, u int) {
	t.Helper()
	if _, err := p.Update([]Segment{randomSegment(t, p.Net(), 4, 32, 0, testRNG(uint64(100+u)))}); err != nil {
		t.Fatal(err)
	}
}

// TestResumeIsExact: N updates, State, Restore, M more equals N+M
// straight, bitwise.
func TestResumeIsExact(t *testing.T) {
	const N, M = 3, 2
	a := newStateTestUpdater(t)
	for u := 0; u < N+M; u++ {
		updateOn(t, a, u)
	}
	b := newStateTestUpdater(t)
	for u := 0; u < N; u++ {
		updateOn(t, b, u)
	}
	st := b.State()
	// The state is a copy: more updates of b must not change it.
	before := append([]float64(nil), st.Params...)
	updateOn(t, b, N)
	for i := range before {
		if st.Params[i] != before[i] {
			t.Fatal("State shares parameters with the updater")
		}
	}
	c, err := Restore(st)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != N || c.Updates() != N {
		t.Fatalf("restored at version %d after %d updates, want %d", c.Version(), c.Updates(), N)
	}
	for u := N; u < N+M; u++ {
		updateOn(t, c, u)
	}
	for i, v := range a.Net().Params() {
		if c.Net().Params()[i] != v {
			t.Fatalf("param %d: restored %v, uninterrupted %v", i, c.Net().Params()[i], v)
		}
	}
	for i, v := range a.adam.V {
		if c.adam.V[i] != v || c.adam.M[i] != a.adam.M[i] {
			t.Fatalf("adam moment %d differs", i)
		}
	}
	if c.adam.T != a.adam.T {
		t.Fatalf("adam steps %d, want %d", c.adam.T, a.adam.T)
	}
}

func TestRestoreRejectsBadState(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *State)
	}{
		{"short params", func(s *State) { s.Params = s.Params[1:] }},
		{"nan param", func(s *State) { s.Params[0] = math.NaN() }},
		{"negative second moment", func(s *State) { s.Adam.V[2] = -1 }},
		{"zero total updates", func(s *State) { s.TotalUpdates = 0 }},
		{"bad config", func(s *State) { s.Config.Gamma = 2 }},
		{"bad arch", func(s *State) { s.Arch.Hidden = []int{0} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStateTestUpdater(t).State()
			tc.mutate(&s)
			if _, err := Restore(s); !errors.Is(err, ErrState) {
				t.Fatalf("got %v, want ErrState", err)
			}
		})
	}
}
