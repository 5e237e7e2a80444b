package ppo

import (
	"errors"
	"math"
	"testing"
)

// TestGAEHandComputed checks GAE on a two-env segment whose first env has
// a termination at t=1 and a truncation at t=3, with gamma = lambda = 0.5.
//
//	env 0: t r V   end      next value   delta  advantage
//	       4 3 2   -        last 6       4      4
//	       3 1 1   trunc    bootstrap 4  2      2       (recursion cut)
//	       2 0 2   -        V3 = 1       -1.5   -1.5 + .25*2 = -1
//	       1 2 1   term     0            1      1       (recursion cut)
//	       0 1 .5  -        V1 = 1       1      1 + .25*1 = 1.25
//	env 1: reward 1, V 0, no ends, last 0: delta 1, A_t = 1 + .25 A_{t+1}.
func TestGAEHandComputed(t *testing.T) {
	const K, T = 2, 5
	seg := Segment{NumEnvs: K, Horizon: T, Obs: make([]float32, K*T), Actions: make([]int32, K*T),
		LogProbs: make([]float64, K*T), Values: make([]float64, K*T), Rewards: make([]float64, K*T),
		Terminated: make([]bool, K*T), Truncated: make([]bool, K*T), BootstrapValues: make([]float64, K*T),
		LastValues: []float64{6, 0}}
	r0 := []float64{1, 2, 0, 1, 3}
	v0 := []float64{0.5, 1, 2, 1, 2}
	for tt := 0; tt < T; tt++ {
		seg.Rewards[tt*K], seg.Values[tt*K] = r0[tt], v0[tt]
		seg.Rewards[tt*K+1] = 1
		seg.BootstrapValues[tt*K+1] = 99 // ignored: not truncated
	}
	seg.Terminated[1*K] = true
	seg.Truncated[3*K], seg.BootstrapValues[3*K] = true, 4
	if err := seg.Validate(1, 2); err != nil {
		t.Fatal(err)
	}
	adv, ret := make([]float64, K*T), make([]float64, K*T)
	GAE(&seg, 0.5, 0.5, adv, ret)
	wantA0 := []float64{1.25, 1, -1, 2, 4}
	wantA1 := []float64{1.33203125, 1.328125, 1.3125, 1.25, 1}
	for tt := 0; tt < T; tt++ {
		cases := []struct {
			name      string
			got, want float64
		}{
			{"adv env 0", adv[tt*K], wantA0[tt]},
			{"ret env 0", ret[tt*K], wantA0[tt] + v0[tt]},
			{"adv env 1", adv[tt*K+1], wantA1[tt]},
			{"ret env 1", ret[tt*K+1], wantA1[tt]},
		}
		for _, c := range cases {
			if math.Abs(c.got-c.want) > 1e-12 {
				t.Errorf("t=%d %s: got %v, want %v", tt, c.name, c.got, c.want)
			}
		}
	}
}

func TestSegmentValidate(t *testing.T) {
	mk := func() Segment {
		return Segment{NumEnvs: 1, Horizon: 2, Obs: make([]float32, 4), Actions: []int32{0, 1},
			LogProbs: []float64{-1, -1}, Values: make([]float64, 2), Rewards: make([]float64, 2),
			Terminated: make([]bool, 2), Truncated: make([]bool, 2), BootstrapValues: make([]float64, 2),
			LastValues: []float64{0}}
	}
	cases := []struct {
		name   string
		mutate func(s *Segment)
	}{
		{"short obs", func(s *Segment) { s.Obs = s.Obs[:3] }},
		{"action range", func(s *Segment) { s.Actions[1] = 2 }},
		{"negative action", func(s *Segment) { s.Actions[0] = -1 }},
		{"nan obs", func(s *Segment) { s.Obs[2] = float32(math.NaN()) }},
		{"positive logp", func(s *Segment) { s.LogProbs[0] = 0.1 }},
		{"inf reward", func(s *Segment) { s.Rewards[0] = math.Inf(1) }},
		{"nan bootstrap on truncation", func(s *Segment) { s.Truncated[0] = true; s.BootstrapValues[0] = math.NaN() }},
		{"no last values", func(s *Segment) { s.LastValues = nil }},
		{"zero horizon", func(s *Segment) { s.Horizon = 0 }},
	}
	good := mk()
	if err := good.Validate(2, 2); err != nil {
		t.Fatalf("valid segment rejected: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mk()
			c.mutate(&s)
			if err := s.Validate(2, 2); !errors.Is(err, ErrSegment) {
				t.Fatalf("got %v, want ErrSegment", err)
			}
		})
	}
}
