package protocol

import "fmt"

// Mode is how a run pairs rollouts with policy versions. The learner and
// every actor of a run must use the same mode: it decides which rollouts
// the learner accepts and when an actor waits for new weights.
type Mode string

const (
	// ModeSync: the learner waits for one rollout per live actor at the
	// current policy version (exact on-policy PPO, reproducible with a
	// seed); after each rollout an actor waits for the next version.
	ModeSync Mode = "sync"
	// ModePipelined: like sync, one rollout per live actor per update
	// and reproducible with a seed, but exactly one version behind, so
	// that actors collect while the learner updates. Update k trains on
	// the rollouts collected with version k-1 while the actors collect
	// with version k; the first rollout an actor collects with a learner's
	// weights is followed by a second one with the same version, which
	// starts the pipeline. The PPO ratio uses the actors' behaviour
	// log-probabilities, as in async mode.
	ModePipelined Mode = "pipelined"
	// ModeAsync: the learner takes any rollout at most a configured number
	// of versions old, and the PPO ratio uses the actor's own behaviour
	// log-probabilities; actors keep collecting with the newest weights at
	// hand, a bounded number of rollouts ahead.
	ModeAsync Mode = "async"
)

// Modes lists the modes, for help texts and errors.
const Modes = "sync, pipelined or async"

// Validate reports whether m is one of the modes.
func (m Mode) Validate() error {
	if m != ModeSync && m != ModePipelined && m != ModeAsync {
		return fmt.Errorf("protocol: mode: want %s, got %q", Modes, string(m))
	}
	return nil
}

// Lockstep reports whether every update takes exactly one rollout of
// every live actor (sync and pipelined), so that a seeded run with a
// fixed set of actors is reproducible.
func (m Mode) Lockstep() bool { return m == ModeSync || m == ModePipelined }
