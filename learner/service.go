//go:build draft

package learner

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"podmedic/policy"
	"podmedic/protocol"
)

// ServiceConfig configures the distributed learner. Zero values take the
// defaults of DefaultServiceConfig when passed through Validate's caller.
type ServiceConfig struct {
	// Run names the training run; subjects are podmedic.<run>.*.
	Run string `yaml:"run" json:"run"`
	// Mode is "sync" (exact on-policy, reproducible) or "async".
	Mode Mode `yaml:"mode" json:"mode"`
	// MaxPolicyLag is, in async mode, the oldest policy version accepted,
	// as versions behind the current one (0..1000). Default 4.
	MaxPolicyLag int `yaml:"max_policy_lag" json:"max_policy_lag"`
	// MinActors is how many actors' rollouts an update waits for at least
	// (sync), or the smallest batch in rollouts (async). Default 1.
	MinActors int `yaml:"min_actors" json:"min_actors"`
	// RolloutsPerUpdate is, in async mode, the rollouts per update; 0 means
	// one per live actor.
	RolloutsPerUpdate int `yaml:"rollouts_per_update" json:"rollouts_per_update"`
	// TotalSteps stops updating once this many env steps were consumed;
	// 0 trains until stopped. It also sets the learning-rate schedule.
	TotalSteps int64 `yaml:"total_steps" json:"total_steps"`
	// StepsPerUpdate is the expected env steps per update (actors x envs x
	// horizon), used with TotalSteps to anneal the learning rate.
	StepsPerUpdate int64 `yaml:"steps_per_update" json:"steps_per_update"`
	// CheckpointDir holds checkpoints; "" disables them.
	CheckpointDir string `yaml:"checkpoint_dir" json:"checkpoint_dir"`
	// CheckpointEvery writes a checkpoint every this many updates (>= 1).
	// Default 10. A checkpoint is also written on shutdown.
	CheckpointEvery int `yaml:"checkpoint_every" json:"checkpoint_every"`
	// KeepCheckpoints is how many checkpoints to keep (>= 1). Default 3.
	KeepCheckpoints int `yaml:"keep_checkpoints" json:"keep_checkpoints"`
	// HeartbeatTimeout drops an actor silent for this long. Default 10s.
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout" json:"heartbeat_timeout"`
	// QueueCapacity bounds valid rollouts waiting for the update loop;
	// excess ones are dropped and counted (queue_full). Default 64.
	QueueCapacity int `yaml:"queue_capacity" json:"queue_capacity"`
	// Seed fixes initial parameters and minibatch shuffling.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Hidden layer widths of the policy and value networks. Default [64 64].
	Hidden []int `yaml:"hidden" json:"hidden"`
	// PPO holds the update's hyperparameters.
	PPO PPOConfig `yaml:"ppo" json:"ppo"`
	// ProgressPath is where one CSV row per update goes; "" disables it.
	ProgressPath string `yaml:"progress_path" json:"progress_path"`
}

// DefaultServiceConfig returns the documented defaults.
func DefaultServiceConfig() ServiceConfig {
	return ServiceConfig{
		Run: "default", Mode: ModeAsync, MaxPolicyLag: 4, MinActors: 1,
		CheckpointEvery: 10, KeepCheckpoints: 3, HeartbeatTimeout: 10 * time.Second,
		QueueCapacity: 64, Seed: 1, Hidden: []int{64, 64}, PPO: DefaultPPOConfig(),
	}
}

// Validate names the first bad field.
func (c ServiceConfig) Validate() error {
	switch {
	case protocol.ValidateRunName(c.Run) != nil:
		return fmt.Errorf("learner: config: run: %w", protocol.ValidateRunName(c.Run))
	case c.Mode != ModeSync && c.Mode != ModeAsync:
		return fmt.Errorf("learner: config: mode: want sync or async, got %q", c.Mode)
	case c.MaxPolicyLag < 0 || c.MaxPolicyLag > 1000:
		return fmt.Errorf("learner: config: max_policy_lag: want 0..1000, got %d", c.MaxPolicyLag)
	case c.MinActors < 1:
		return fmt.Errorf("learner: config: min_actors: want >= 1, got %d", c.MinActors)
	case c.RolloutsPerUpdate < 0:
		return fmt.Errorf("learner: config: rollouts_per_update: want >= 0, got %d", c.RolloutsPerUpdate)
	case c.TotalSteps < 0:
		return fmt.Errorf("learner: config: total_steps: want >= 0, got %d", c.TotalSteps)
	case c.TotalSteps > 0 && c.StepsPerUpdate <= 0:
		return fmt.Errorf("learner: config: steps_per_update: want > 0 with total_steps, got %d", c.StepsPerUpdate)
	case c.CheckpointEvery < 1:
		return fmt.Errorf("learner: config: checkpoint_every: want >= 1, got %d", c.CheckpointEvery)
	case c.KeepCheckpoints < 1:
		return fmt.Errorf("learner: config: keep_checkpoints: want >= 1, got %d", c.KeepCheckpoints)
	case c.HeartbeatTimeout <= 0:
		return fmt.Errorf("learner: config: heartbeat_timeout: want > 0, got %s", c.HeartbeatTimeout)
	case c.QueueCapacity < 1:
		return fmt.Errorf("learner: config: queue_capacity: want >= 1, got %d", c.QueueCapacity)
	}
	if err := c.PPO.Validate(); err != nil {
		return fmt.Errorf("learner: config: ppo: %w", err)
	}
	return nil
}

// EnvSpec is what the learner must know of the environment the actors run.
type EnvSpec struct {
	ObsSize     int
	NumActions  int
	ActionNames []string
	// ObsNames travel in snapshot metadata so evaluate can refuse a policy
	// trained on another observation layout.
	ObsNames []string
}
