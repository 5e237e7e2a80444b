// Package baseline holds the reference policies trained agents are
// compared with: random, no-op, the product brief's heuristic, hpa (what
// Kubernetes itself does with no operator) and runbook (what a competent
// on-call engineer scripts). They read the envsim
// observation by feature index and act through the envsim action space.
// The package performs no I/O and keeps no global state.
package baseline

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"podmedic/envsim"
	"podmedic/policy"
)

// ErrUnknownPolicy is returned by New for a name outside Names.
var ErrUnknownPolicy = errors.New("baseline: unknown policy")

// Names lists the baseline names New accepts.
func Names() []string { return []string{"random", "noop", "heuristic", "hpa", "runbook"} }

// New builds the baseline called name for an environment described by
// spec, with default settings. rng is used by "random" only (and may be
// nil for the others).
func New(name string, spec envsim.Spec, rng *rand.Rand) (policy.Policy, error) {
	switch name {
	case "random":
		if rng == nil {
			return nil, errors.New("baseline: random: nil rng")
		}
		return NewRandom(spec.Actions.Size, rng), nil
	case "noop":
		return NewNoop(), nil
	case "heuristic":
		return NewHeuristic(spec, DefaultHeuristicConfig())
	case "hpa":
		return NewHPA(spec, DefaultHPAConfig())
	case "runbook":
		return NewRunbook(spec, DefaultRunbookConfig())
	}
	return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownPolicy, name, Names())
}

// Random picks a uniformly random action.
type Random struct {
	n   int
	rng *rand.Rand
}

// NewRandom returns a policy drawing uniformly from numActions (> 0)
// actions with rng.
func NewRandom(numActions int, rng *rand.Rand) *Random { return &Random{n: numActions, rng: rng} }

// Name implements policy.Policy.
func (r *Random) Name() string { return "random" }

// Reset implements policy.Policy.
func (r *Random) Reset() {}

// Act implements policy.Policy.
func (r *Random) Act([]float32) int { return r.rng.IntN(r.n) }

// Noop never acts: the cluster is left to the kubelet's own restarts.
type Noop struct{}

// NewNoop returns the no-op policy.
func NewNoop() *Noop { return &Noop{} }

// Name implements policy.Policy.
func (Noop) Name() string { return "noop" }

// Reset implements policy.Policy.
func (Noop) Reset() {}

// Act implements policy.Policy.
func (Noop) Act([]float32) int { return envsim.ActionNoop }

// checkSpec verifies that the observation holds the base features.
func checkSpec(spec envsim.Spec) error {
	if spec.Observation.Size < envsim.NumBaseFeatures || spec.Observation.Index("cpu_avg") != envsim.ObsCPUAvg {
		return errors.New("baseline: observation lacks the envsim base features")
	}
	if spec.Pods.MaxReplicas < 1 || spec.Actions.Size < envsim.ActionScaleToBase+spec.Pods.MaxReplicas {
		return errors.New("baseline: action space lacks the scale-to actions")
	}
	return nil
}
