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
	// ModeAsync: the learner takes any rollout at most a configured number
	// of versions old, and the PPO ratio uses the actor's own behaviour
	// log-probabilities; actors keep collecting with the newest weights at
	// hand, a bounded number of rollouts ahead.
	ModeAsync Mode = "async"
)

// Validate reports whether m is one of the modes.
func (m Mode) Validate() error {
	if m != ModeSync && m != ModeAsync {
		return fmt.Errorf("protocol: mode: want %s or %s, got %q", ModeSync, ModeAsync, string(m))
	}
	return nil
}
