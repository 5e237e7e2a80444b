// Package policywire converts between the policy package's snapshot types
// and the wire's Weights message, which the learner, the actors and
// evaluation all need. It holds no state and performs no I/O.
package policywire

import (
	"fmt"

	"podmedic/policy"
	"podmedic/protocol"
)

// Arch converts a wire architecture.
func Arch(a protocol.Arch) policy.Arch {
	return policy.Arch{ObsSize: a.ObsSize, NumActions: a.NumActions, Hidden: a.Hidden,
		Activation: a.Activation, SharedTrunk: a.SharedTrunk}
}

// NormState converts wire normaliser statistics (mean and variance) to the
// policy's (mean and sum of squared deviations). An identity normaliser
// travels with Count 0.
func NormState(n protocol.Norm) policy.NormalizerState {
	if n.Count == 0 {
		return policy.NewIdentityNormalizer(len(n.Mean)).Snapshot()
	}
	m2 := make([]float64, len(n.Var))
	for i, v := range n.Var {
		m2[i] = v * n.Count
	}
	return policy.NormalizerState{Count: n.Count, Mean: n.Mean, M2: m2, Clip: n.Clip, Eps: n.Epsilon}
}

// Norm converts normaliser state to the wire form.
func Norm(ns policy.NormalizerState) protocol.Norm {
	v := make([]float64, len(ns.M2))
	if ns.Disabled {
		return protocol.Norm{Mean: make([]float64, len(ns.Mean)), Var: v, Clip: ns.Clip, Epsilon: ns.Eps}
	}
	for i, m2 := range ns.M2 {
		v[i] = m2 / ns.Count
	}
	return protocol.Norm{Count: ns.Count, Mean: ns.Mean, Var: v, Clip: ns.Clip, Epsilon: ns.Eps}
}

// Snapshot converts received weights to a policy snapshot, checking that
// the parameters fit the architecture.
func Snapshot(w *protocol.Weights) (policy.Snapshot, error) {
	s := policy.Snapshot{Arch: Arch(w.Arch), Params: w.Params, Normalizer: NormState(w.Norm), Version: w.Version, Meta: w.Meta}
	if err := s.Validate(); err != nil {
		return policy.Snapshot{}, fmt.Errorf("policy snapshot of version %d: %w", w.Version, err)
	}
	return s, nil
}
