package ppo

import (
	"errors"
	"fmt"
	"math"
)

// ErrSegment reports a malformed rollout segment.
var ErrSegment = errors.New("ppo: invalid segment")

// Segment is one actor's rollout: Horizon steps of NumEnvs environments,
// stored time-major (index t*NumEnvs+k; observations t*NumEnvs*d + k*d).
type Segment struct {
	// NumEnvs is the number of environments K (>= 1).
	NumEnvs int
	// Horizon is the number of steps T (>= 1).
	Horizon int
	// Obs holds the T×K normalised observations exactly as the network
	// saw them (T×K×d float32).
	Obs []float32
	// Actions holds the T×K actions taken.
	Actions []int32
	// LogProbs holds the behaviour policy's T×K log-probabilities of the
	// actions taken.
	LogProbs []float64
	// Values holds the behaviour value estimates V(obs), T×K.
	Values []float64
	// Rewards holds the T×K rewards.
	Rewards []float64
	// Terminated and Truncated hold the T×K episode-end flags of each
	// step; they are never merged. When both are set, termination wins.
	Terminated, Truncated []bool
	// BootstrapValues holds, at (t,k) where Truncated, the value of that
	// episode's final observation; other entries are ignored. T×K.
	BootstrapValues []float64
	// LastValues holds, per env, the value of the observation after the
	// last step, used when step T-1 ended no episode. K entries.
	LastValues []float64
}

// Len returns the number of samples T×K.
func (s *Segment) Len() int { return s.NumEnvs * s.Horizon }

// Validate checks shapes, action ranges and finiteness: a segment that
// passes cannot make the update produce NaN from its data alone.
func (s *Segment) Validate(obsSize, numActions int) error {
	if s.NumEnvs < 1 || s.Horizon < 1 || s.NumEnvs > 1<<20 || s.Horizon > 1<<20 {
		return fmt.Errorf("%w: num envs %d, horizon %d", ErrSegment, s.NumEnvs, s.Horizon)
	}
	n := s.Len()
	lens := []struct {
		name string
		got  int
		want int
	}{
		{"obs", len(s.Obs), n * obsSize}, {"actions", len(s.Actions), n}, {"log_probs", len(s.LogProbs), n},
		{"values", len(s.Values), n}, {"rewards", len(s.Rewards), n}, {"terminated", len(s.Terminated), n},
		{"truncated", len(s.Truncated), n}, {"bootstrap_values", len(s.BootstrapValues), n},
		{"last_values", len(s.LastValues), s.NumEnvs},
	}
	for _, l := range lens {
		if l.got != l.want {
			return fmt.Errorf("%w: %s has %d entries, want %d", ErrSegment, l.name, l.got, l.want)
		}
	}
	for i, v := range s.Obs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: obs[%d] = %v", ErrSegment, i, v)
		}
	}
	for i := 0; i < n; i++ {
		switch {
		case s.Actions[i] < 0 || int(s.Actions[i]) >= numActions:
			return fmt.Errorf("%w: actions[%d] = %d outside [0, %d)", ErrSegment, i, s.Actions[i], numActions)
		case !finite(s.LogProbs[i]) || s.LogProbs[i] > 0:
			return fmt.Errorf("%w: log_probs[%d] = %v", ErrSegment, i, s.LogProbs[i])
		case !finite(s.Values[i]):
			return fmt.Errorf("%w: values[%d] = %v", ErrSegment, i, s.Values[i])
		case !finite(s.Rewards[i]):
			return fmt.Errorf("%w: rewards[%d] = %v", ErrSegment, i, s.Rewards[i])
		case s.Truncated[i] && !s.Terminated[i] && !finite(s.BootstrapValues[i]):
			return fmt.Errorf("%w: bootstrap_values[%d] = %v", ErrSegment, i, s.BootstrapValues[i])
		}
	}
	for k, v := range s.LastValues {
		if !finite(v) {
			return fmt.Errorf("%w: last_values[%d] = %v", ErrSegment, k, v)
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
