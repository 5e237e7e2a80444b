// Package policy holds what chooses actions: the actor-critic network used
// for training and inference, its observation normaliser, and the baseline
// policies it is compared with. It never performs I/O.
package policy

// Policy chooses an action for one environment at a time. Implementations
// may keep per-episode state (a baseline's stabilisation window, say);
// Reset is called at the start of every episode, before the first Act.
type Policy interface {
	// Name identifies the policy in reports ("trained", "hpa", ...).
	Name() string
	// Reset clears per-episode state.
	Reset()
	// Act returns the action for observation obs.
	Act(obs []float32) int
}
