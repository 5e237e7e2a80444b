package train

import (
	"errors"
	"fmt"
	"math"
	"time"

	"podmedic/learner/ppo"
	"podmedic/policy"
)

// ErrStop, returned by a callback, ends training cleanly after the current
// update: the result's StopReason is StopCallback and Close returns no
// error. Any other error from a callback also ends training, and Close
// (or Run) returns it.
var ErrStop = errors.New("train: stop requested by a callback")

// Callbacks follow a run. They run on the learner's loop goroutine between
// updates, in this order for each update: OnEpisode for every episode the
// update consumed, the evaluation if one is due, the stop rules, OnUpdate.
// No update is made while a callback runs (and sync-mode runs stay
// reproducible), so keep them short. After a callback ended the run, no
// further callback is called.
type Callbacks struct {
	// OnEpisode is told about every finished episode in the rollouts the
	// updates consume, in batch order (in sync mode: by actor). Episodes
	// of rollouts the learner drops (too stale in async mode, or arriving
	// after the end) reach the metrics only.
	OnEpisode func(Episode) error
	// OnUpdate is told about every update, with the evaluation made after
	// it (if any) and the stop decision.
	OnUpdate func(*Update) error
	// Eval, if set, evaluates the current policy every Eval.Every updates
	// on environments of its own, and may stop training on a return
	// threshold or a plateau.
	Eval *Eval
}

// Episode is a finished training episode.
type Episode struct {
	// Return is the undiscounted sum of rewards; Length the steps.
	Return float64
	Length int
	// Terminated is true when the episode ended inside the task, false
	// when it was truncated by a time limit.
	Terminated bool
	// Scenario names the cluster simulation's scenario; empty for other
	// environments.
	Scenario string
	// EnvSteps is the global env-step count when the episode was reported:
	// the end of the rollout that carried it (resolution: one rollout of
	// EnvsPerActor*Horizon steps). With it a learning curve can be rebuilt
	// from the episodes alone.
	EnvSteps int64
	// Version is the policy version that played it; Actor the actor.
	Version uint64
	Actor   string
}

// Update describes one PPO update.
type Update struct {
	// Update counts updates since the run began (1 for the first; a
	// resumed run continues its count).
	Update int64
	// Version is the policy version after the update.
	Version uint64
	// EnvSteps is the env steps consumed so far, this update included.
	EnvSteps int64
	// Stats are the PPO diagnostics: losses, entropy, approx KL, clip
	// fraction, explained variance, learning rate, ...
	Stats ppo.UpdateStats
	// Rollouts and Episodes count what the batch held.
	Rollouts, Episodes int
	// Checkpoint is the path of the checkpoint written after this update,
	// or "".
	Checkpoint string
	// Elapsed is the wall time since the run started.
	Elapsed time.Duration
	// Eval is the evaluation made after this update, or nil.
	Eval *EvalResult
	// Stop is set when a stop rule fired: training ends after this update.
	Stop StopReason

	t *Trainer
}

// Snapshot returns the policy after this update, decoded from the weights
// the actors receive.
func (u *Update) Snapshot() (policy.Snapshot, error) { return u.t.snapshot() }

// StopReason says why training ended.
type StopReason string

const (
	// StopBudget: Learner.TotalSteps env steps were consumed.
	StopBudget StopReason = "budget"
	// StopReturnThreshold: an evaluation's mean return reached
	// Eval.StopAtReturn.
	StopReturnThreshold StopReason = "return threshold"
	// StopPlateau: Eval.Patience evaluations in a row brought no
	// improvement.
	StopPlateau StopReason = "plateau"
	// StopCallback: a callback returned ErrStop.
	StopCallback StopReason = "callback"
	// StopError: a callback failed.
	StopError StopReason = "callback error"
	// StopInterrupted: the context ended, or Close was called, first.
	StopInterrupted StopReason = "interrupted"
)

// Eval configures periodic evaluation, like Stable-Baselines3's
// EvalCallback: every Every updates the current policy plays Episodes
// episodes on environments separate from the training ones, with the same
// episode seeds every time, so evaluations differ only by the policy.
type Eval struct {
	// NewEnv builds evaluation environment i, 0 <= i < Envs.
	NewEnv EnvFactory
	// Envs is the number of evaluation environments (>= 1; default 1).
	// Episode j runs in environment j mod Envs with seed
	// envsim.EpisodeSeed(Seed, j mod Envs, j / Envs): a set of
	// environments can be a set of conditions (scenarios, say).
	Envs int
	// Episodes per evaluation (>= 1; default 10).
	Episodes int
	// Every is the number of updates between evaluations (>= 1; default
	// 10): an evaluation follows update n when n is a multiple of Every.
	Every int
	// Stochastic samples actions; by default the policy takes its most
	// probable action.
	Stochastic bool
	// Seed fixes the episodes (and, with Stochastic, the sampling).
	Seed uint64
	// MaxSteps cuts an episode that has not ended after this many steps
	// (>= 1; default 100000), so a policy that never ends an episode
	// cannot hang training.
	MaxSteps int
	// StopAtReturn, if set, ends training once an evaluation's mean
	// return reaches it (SB3's StopTrainingOnRewardThreshold).
	StopAtReturn *float64
	// Patience, if > 0, ends training after this many evaluations in a
	// row whose mean return did not exceed the best so far by more than
	// MinDelta (a plateau; SB3's StopTrainingOnNoModelImprovement).
	Patience int
	MinDelta float64
}

func (e *Eval) withDefaults() Eval {
	c := *e
	if c.Envs == 0 {
		c.Envs = 1
	}
	if c.Episodes == 0 {
		c.Episodes = 10
	}
	if c.Every == 0 {
		c.Every = 10
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = 100_000
	}
	return c
}

func (e *Eval) validate() error {
	switch {
	case e.NewEnv == nil:
		return fmt.Errorf("%w: eval: NewEnv is nil", ErrConfig)
	case e.Envs < 1 || e.Envs > 4096:
		return fmt.Errorf("%w: eval: envs: want 1..4096, got %d", ErrConfig, e.Envs)
	case e.Episodes < 1:
		return fmt.Errorf("%w: eval: episodes: want >= 1, got %d", ErrConfig, e.Episodes)
	case e.Every < 1:
		return fmt.Errorf("%w: eval: every: want >= 1, got %d", ErrConfig, e.Every)
	case e.MaxSteps < 1:
		return fmt.Errorf("%w: eval: max steps: want >= 1, got %d", ErrConfig, e.MaxSteps)
	case e.Patience < 0:
		return fmt.Errorf("%w: eval: patience: want >= 0, got %d", ErrConfig, e.Patience)
	case !(e.MinDelta >= 0):
		return fmt.Errorf("%w: eval: min delta: want >= 0, got %v", ErrConfig, e.MinDelta)
	case e.StopAtReturn != nil && math.IsNaN(*e.StopAtReturn):
		return fmt.Errorf("%w: eval: stop at return is NaN", ErrConfig)
	}
	return nil
}

// EvalResult is one evaluation.
type EvalResult struct {
	// Update, Version and EnvSteps say which policy was evaluated.
	Update   int64
	Version  uint64
	EnvSteps int64
	// Returns and Lengths hold one entry per episode, in episode order.
	Returns []float64
	Lengths []int
	// MeanReturn, StdReturn (population) and MeanLength summarise them.
	MeanReturn, StdReturn, MeanLength float64
	// Best reports the best mean return of the run so far.
	Best bool
}
