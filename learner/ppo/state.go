package ppo

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"podmedic/policy"
)

// ErrState reports a State that cannot be restored.
var ErrState = errors.New("ppo: invalid state")

// State is everything an Updater needs to continue its update sequence
// exactly: the network, the optimiser, the counters that drive annealing
// and shuffling, and the configuration. It is plain data; the learner
// service stores it in its checkpoints.
type State struct {
	// Arch and Params describe the network.
	Arch   policy.Arch
	Params []float64
	// Adam is the optimiser state.
	Adam Adam
	// Version is the policy version; Updates the updates attempted.
	Version uint64
	Updates int64
	// TotalUpdates is the annealing horizon.
	TotalUpdates int
	// ShuffleSeed seeds the minibatch shuffling.
	ShuffleSeed uint64
	// Config is the configuration in use.
	Config Config
}

// State returns a deep copy of the updater's state.
func (p *Updater) State() State {
	a := *p.adam
	a.M = append([]float64(nil), a.M...)
	a.V = append([]float64(nil), a.V...)
	return State{Arch: p.net.Arch(), Params: append([]float64(nil), p.net.Params()...), Adam: a,
		Version: p.version, Updates: p.updates, TotalUpdates: p.totalUpdates, ShuffleSeed: p.seed, Config: p.cfg}
}

// Validate checks the state's internal consistency: shapes, finiteness,
// counters and configuration.
func (s *State) Validate() error {
	if err := s.Arch.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	n := s.Arch.NumParams()
	if len(s.Params) != n || len(s.Adam.M) != n || len(s.Adam.V) != n {
		return fmt.Errorf("%w: params/adam lengths %d/%d/%d, arch needs %d", ErrState, len(s.Params), len(s.Adam.M), len(s.Adam.V), n)
	}
	for i := range s.Params {
		if !finite(s.Params[i]) || !finite(s.Adam.M[i]) || !finite(s.Adam.V[i]) || s.Adam.V[i] < 0 {
			return fmt.Errorf("%w: parameter or optimiser state %d not finite", ErrState, i)
		}
	}
	if s.TotalUpdates < 1 || s.Updates < 0 || s.Adam.T < 0 {
		return fmt.Errorf("%w: counters: total updates %d, updates %d, adam steps %d", ErrState, s.TotalUpdates, s.Updates, s.Adam.T)
	}
	if err := s.Config.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

// Restore rebuilds the network and an updater from s; the next Update
// continues exactly where the saved updater's would have. Errors wrap
// ErrState.
func Restore(s State) (*Updater, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("restore ppo: %w", err)
	}
	net, err := policy.NewFromParams(s.Arch, s.Params)
	if err != nil {
		return nil, fmt.Errorf("restore ppo: %w: %w", ErrState, err)
	}
	p, err := New(net, s.Config, s.TotalUpdates, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, fmt.Errorf("restore ppo: %w: %w", ErrState, err)
	}
	p.seed, p.version, p.updates = s.ShuffleSeed, s.Version, s.Updates
	copy(p.adam.M, s.Adam.M)
	copy(p.adam.V, s.Adam.V)
	p.adam.T = s.Adam.T
	return p, nil
}
