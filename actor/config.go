// Package actor runs the collection loop: a VecEnv stepped with a local
// copy of the policy, rollouts published over NATS with the version of the
// weights that produced them, and weight updates applied between
// rollouts. It never imports the learner.
package actor

import (
	"errors"
	"fmt"
	"time"

	"podmedic/protocol"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("actor: config")

// Config configures an actor.
type Config struct {
	// ID names the actor (1..128 printable ASCII, no spaces); unique per run.
	ID string
	// Run is the run name; subjects are podmedic.<run>.*.
	Run string
	// Mode is sync (wait for the next version after each rollout) or
	// async (collect ahead with the newest weights); it must match the
	// learner's.
	Mode protocol.Mode
	// Horizon is T, steps per environment per rollout (1..4096). Default 64.
	Horizon int
	// Seed fixes the action sampling and the environments' episodes.
	Seed uint64
	// HeartbeatInterval between heartbeats (> 0). Default 1s.
	HeartbeatInterval time.Duration
	// WeightsTimeout bounds one weights.latest request (> 0). Default 2s.
	WeightsTimeout time.Duration
	// SyncWait is how long sync mode waits for the next version before
	// asking weights.latest again (> 0). Default 5s.
	SyncWait time.Duration
	// MaxBuffered is how many rollouts may be published while NATS is
	// disconnected (they wait in the client's reconnect buffer); beyond
	// that the actor pauses collection until it reconnects (>= 1). Default 4.
	MaxBuffered int
	// MaxAhead is, in async mode, how many rollouts the actor publishes
	// with one policy version before it waits for the next (>= 1).
	// Default 2. This is the backpressure that keeps actors from burning
	// CPU on rollouts a busy learner would drop as stale or queue-full.
	MaxAhead int
	// MaxRollouts stops the actor after this many rollouts; 0 runs until
	// the context ends.
	MaxRollouts int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Run: "default", Mode: protocol.ModeAsync, Horizon: 64, Seed: 1,
		HeartbeatInterval: time.Second, WeightsTimeout: 2 * time.Second,
		SyncWait: 5 * time.Second, MaxBuffered: 4, MaxAhead: 2,
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case protocol.ValidateActorID(c.ID) != nil:
		return bad("id", "%v", protocol.ValidateActorID(c.ID))
	case protocol.ValidateRunName(c.Run) != nil:
		return bad("run", "%v", protocol.ValidateRunName(c.Run))
	case c.Mode.Validate() != nil:
		return bad("mode", "want %s, got %q", protocol.Modes, c.Mode)
	case c.Horizon < 1 || c.Horizon > 4096:
		return bad("horizon", "want 1..4096, got %d", c.Horizon)
	case c.HeartbeatInterval <= 0:
		return bad("heartbeat_interval", "want > 0, got %s", c.HeartbeatInterval)
	case c.WeightsTimeout <= 0:
		return bad("weights_timeout", "want > 0, got %s", c.WeightsTimeout)
	case c.SyncWait <= 0:
		return bad("sync_wait", "want > 0, got %s", c.SyncWait)
	case c.MaxBuffered < 1:
		return bad("max_buffered", "want >= 1, got %d", c.MaxBuffered)
	case c.MaxAhead < 1:
		return bad("max_ahead", "want >= 1, got %d", c.MaxAhead)
	case c.MaxRollouts < 0:
		return bad("max_rollouts", "want >= 0, got %d", c.MaxRollouts)
	}
	return nil
}
