// Package envsim simulates a Kubernetes-like microservice under failures and
// exposes it as a reinforcement-learning environment with Gymnasium
// semantics.
//
// The package is pure: it never starts goroutines, performs I/O, reads the
// clock or uses a global random number generator. Every source of
// randomness is seeded through Reset, so the same seed and the same actions
// give the identical trajectory. Callers (actors, evaluation) own time,
// concurrency and transport.
package envsim

// Env is a discrete-action environment with Gymnasium semantics. Trainers
// accept any implementation, not only the cluster simulation.
//
// Observations are written into caller-owned buffers of length
// ObservationSize() so that stepping allocates nothing.
type Env interface {
	// ObservationSize is the length of every observation vector.
	ObservationSize() int
	// NumActions is the size of the discrete action space; valid actions
	// are 0..NumActions()-1.
	NumActions() int
	// Reset starts a new episode whose randomness derives from seed alone
	// and writes the first observation into obs.
	Reset(seed uint64, obs []float32)
	// Step applies action, writes the next observation into obs and returns
	// the reward. terminated reports that the episode ended inside the task
	// (for the cluster: every pod is down); truncated reports that it was
	// cut by a time limit. They are never merged: on truncation a learner
	// bootstraps from the value of obs. After either is true the caller
	// must Reset before stepping again.
	Step(action int, obs []float32) (reward float64, terminated, truncated bool)
}
