// Package train trains a policy with PPO on any environment that
// implements envsim.Env (discrete actions, Gymnasium semantics). It runs an
// embedded NATS server on loopback, the learner service and N actors,
// each actor with its own NATS connection, so every rollout and every
// weight broadcast crosses the wire exactly as in a run spread over
// machines: there is no in-process shortcut. `podmedic train` is built on
// it.
//
// Callbacks (Callbacks) follow training as it happens: every finished
// episode, every update with its PPO statistics, periodic evaluation of
// the current policy on environments of their own, and early stopping on
// a return threshold or a plateau. Checkpoints are the learner's
// (Config.Learner.CheckpointDir, CheckpointEvery).
package train

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"podmedic/actor"
	"podmedic/envsim"
	"podmedic/learner"
	"podmedic/protocol"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("train: config")

// EnvFactory builds training environment i, 0 <= i < Actors*EnvsPerActor;
// actor a steps environments a*EnvsPerActor ... (a+1)*EnvsPerActor-1. All
// must share one observation size and action count. Each is used by one
// goroutine only.
type EnvFactory func(i int) (envsim.Env, error)

// Config configures a run. Start from DefaultConfig.
type Config struct {
	// Learner configures the learner service: run name, mode, seed,
	// network, PPO, the env-step budget (TotalSteps: the run makes updates
	// until it has consumed at least this many env steps, so with equal
	// batches ceil(TotalSteps / (Actors*EnvsPerActor*Horizon)) updates;
	// 0 trains until stopped), checkpoints and the progress file.
	// StepsPerUpdate, and MinActors in sync mode, are set by New.
	Learner learner.ServiceConfig
	// Actors is the number of actors, each a goroutine with its own NATS
	// connection (1..256). Default 2.
	Actors int
	// EnvsPerActor is the number of environments each actor steps
	// together (1..1024). Default 8.
	EnvsPerActor int
	// Horizon is the number of steps per environment per rollout
	// (1..4096). Default 64.
	Horizon int
	// Actor is the template of every actor's configuration (timing,
	// backpressure); New sets its ID, Run, Mode, Horizon and Seed (actor i
	// gets Learner.Seed*1000003+i).
	Actor actor.Config
	// ActionNames and ObsNames, if set (one per action, one per
	// observation element), label metrics and travel in snapshot
	// metadata.
	ActionNames, ObsNames []string
	// Log receives the parts' logs; nil discards them.
	Log hclog.Logger
	// Registry receives the learner's and actors' metrics; nil makes a
	// private one (Trainer.Registry).
	Registry *prometheus.Registry
}

// DefaultConfig returns a config for a sync-mode run named "train": two
// actors of 8 environments, 64-step rollouts (1024 env steps per update)
// and the learner's defaults, without a step budget.
func DefaultConfig() Config {
	lc := learner.DefaultServiceConfig()
	lc.Run, lc.Mode = "train", protocol.ModeSync
	return Config{Learner: lc, Actors: 2, EnvsPerActor: 8, Horizon: 64, Actor: actor.DefaultConfig()}
}

// StepsPerUpdate returns the env steps of one update's batch in sync mode
// (one rollout per actor), Actors*EnvsPerActor*Horizon.
func (c Config) StepsPerUpdate() int64 {
	return int64(c.Actors) * int64(c.EnvsPerActor) * int64(c.Horizon)
}

// resolved returns the learner and actor configs New uses, validated.
func (c Config) resolved() (learner.ServiceConfig, error) {
	switch {
	case c.Actors < 1 || c.Actors > 256:
		return learner.ServiceConfig{}, fmt.Errorf("%w: actors: want 1..256, got %d", ErrConfig, c.Actors)
	case c.EnvsPerActor < 1 || c.EnvsPerActor > 1024:
		return learner.ServiceConfig{}, fmt.Errorf("%w: envs per actor: want 1..1024, got %d", ErrConfig, c.EnvsPerActor)
	case c.Horizon < 1 || c.Horizon > 4096:
		return learner.ServiceConfig{}, fmt.Errorf("%w: horizon: want 1..4096, got %d", ErrConfig, c.Horizon)
	}
	lc := c.Learner
	lc.StepsPerUpdate = c.StepsPerUpdate()
	if lc.Mode.Lockstep() {
		lc.MinActors = c.Actors
	}
	if err := lc.Validate(); err != nil {
		return lc, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	a := c.actorConfig(0)
	if err := a.Validate(); err != nil {
		return lc, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return lc, nil
}

// actorConfig returns actor i's configuration.
func (c Config) actorConfig(i int) actor.Config {
	a := c.Actor
	a.ID, a.Run, a.Mode = fmt.Sprintf("actor-%d", i), c.Learner.Run, c.Learner.Mode
	a.Horizon, a.Seed = c.Horizon, c.Learner.Seed*1_000_003+uint64(i)
	return a
}
