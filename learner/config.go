// Package learner is the learner service: it ingests rollouts from NATS,
// assembles batches (sync, pipelined or async, with policy-lag handling), runs PPO
// updates (learner/ppo), broadcasts weights, answers latest-weights and
// policy requests, writes checkpoints and resumes from them, and exports
// Prometheus metrics, progress rows and a status.
//
// It knows environments only through EnvSpec (sizes and names), never
// imports envsim, and holds no PPO numerics of its own.
package learner

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"time"

	"go.yaml.in/yaml/v3"

	"podmedic/learner/ppo"
	"podmedic/protocol"
)

// ServiceConfig configures the learner service. Start from
// DefaultServiceConfig; Validate names the first bad field.
type ServiceConfig struct {
	// Run names the training run; subjects are podmedic.<run>.*.
	Run string `yaml:"run" json:"run"`
	// Mode is "sync" (exact on-policy, reproducible), "pipelined" (one
	// version behind, reproducible, actors collect during updates) or
	// "async" (see protocol.Mode).
	Mode protocol.Mode `yaml:"mode" json:"mode"`
	// MaxPolicyLag is, in async mode, the oldest policy version accepted,
	// as versions behind the current one (0..1000). Default 4.
	MaxPolicyLag int `yaml:"max_policy_lag" json:"max_policy_lag"`
	// MinActors is how many actors' rollouts an update waits for at least
	// (sync), or the smallest batch in rollouts (async). Default 1.
	MinActors int `yaml:"min_actors" json:"min_actors"`
	// RolloutsPerUpdate is, in async mode, the rollouts per update; 0 means
	// one per live actor.
	RolloutsPerUpdate int `yaml:"rollouts_per_update" json:"rollouts_per_update"`
	// TotalSteps is the env-step budget; 0 trains until stopped. The
	// learner updates until it has consumed at least TotalSteps env steps:
	// the last update's batch may take it past the budget, never short of
	// it (with equal batches of B steps that is ceil(TotalSteps/B)
	// updates, as Stable-Baselines3 rounds). It also sets the
	// learning-rate schedule.
	TotalSteps int64 `yaml:"total_steps" json:"total_steps"`
	// StepsPerUpdate is the expected env steps per update (actors x envs x
	// horizon), used with TotalSteps to anneal the learning rate.
	StepsPerUpdate int64 `yaml:"steps_per_update" json:"steps_per_update"`
	// CheckpointDir holds checkpoints; "" disables them (unless Store is
	// set). A directory holding checkpoints none of which is valid stops
	// NewService (ErrNoValidCheckpoint) unless Fresh is set.
	CheckpointDir string `yaml:"checkpoint_dir" json:"checkpoint_dir"`
	// SnapshotPath is where the policy snapshot (protocol.EncodeSnapshot:
	// what /v1/policy serves) is written at every checkpoint; "" writes
	// none.
	SnapshotPath string `yaml:"snapshot_path" json:"snapshot_path"`
	// Store, if set, holds the checkpoints and the snapshot instead of
	// CheckpointDir and SnapshotPath (DirStore is what those build).
	Store CheckpointStore `yaml:"-" json:"-"`
	// Fresh starts from fresh parameters even if the store holds
	// checkpoints; they are moved aside first (valid ones as *.superseded,
	// broken ones as *.corrupt), so pruning never mistakes them for newer
	// ones.
	Fresh bool `yaml:"fresh" json:"fresh"`
	// CheckpointEvery writes a checkpoint every this many updates (>= 1).
	// Default 10. A checkpoint is also written on shutdown.
	CheckpointEvery int `yaml:"checkpoint_every" json:"checkpoint_every"`
	// KeepCheckpoints is how many checkpoints to keep (>= 1). Default 3.
	KeepCheckpoints int `yaml:"keep_checkpoints" json:"keep_checkpoints"`
	// HeartbeatTimeout drops a member silent for this long (a stopping
	// actor says goodbye and leaves at once). Default 10s.
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout" json:"heartbeat_timeout"`
	// BatchWait bounds, in async mode with RolloutsPerUpdate 0, how long
	// an update waits for a rollout of every active member (one that sent
	// a rollout within HeartbeatTimeout: a member that only said hello
	// holds up nothing) once the batch's first rollout has arrived; then
	// it proceeds with what it has (at least MinActors rollouts). A member
	// that crashed without a goodbye thus slows updates to one per
	// BatchWait until the heartbeat timeout drops it, instead of stopping
	// them. 0 waits for every active member. Default 1s. Sync mode always
	// waits for every active member (exactness).
	BatchWait time.Duration `yaml:"batch_wait" json:"batch_wait"`
	// StallTimeout: /healthz reports training stalled (503, with the
	// reason) when no update happened for this long while actors send
	// rollouts (active members) and training has not finished. 0
	// disables. Default 60s.
	StallTimeout time.Duration `yaml:"stall_timeout" json:"stall_timeout"`
	// MaxActors bounds the members of the run (1..65536); further hellos
	// are refused (members_full). Default 1024.
	MaxActors int `yaml:"max_actors" json:"max_actors"`
	// JoinRate and JoinBurst rate-limit joins (a new actor or a restarted
	// one): a token bucket of JoinBurst (>= 1) joins refilled at JoinRate
	// per second (> 0); hellos over it are refused (rate_limited) with the
	// time to retry. Defaults 20/s, burst 64.
	JoinRate  float64 `yaml:"join_rate" json:"join_rate"`
	JoinBurst int     `yaml:"join_burst" json:"join_burst"`
	// QueueCapacity bounds valid rollouts waiting for the update loop;
	// excess ones are dropped and counted (queue_full). Default 64.
	QueueCapacity int `yaml:"queue_capacity" json:"queue_capacity"`
	// Seed fixes initial parameters and minibatch shuffling.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Hidden layer widths of the policy and value networks. Default [64 64].
	Hidden []int `yaml:"hidden" json:"hidden"`
	// NormalizeObs keeps running observation statistics and normalises
	// with them (default true); false feeds raw observations to the
	// network. A resumed run keeps its checkpoint's choice.
	NormalizeObs bool `yaml:"normalize_obs" json:"normalize_obs"`
	// PPO holds the update's hyperparameters.
	PPO ppo.Config `yaml:"ppo" json:"ppo"`
	// ProgressPath is where one CSV row per update goes; "" disables it.
	ProgressPath string `yaml:"progress_path" json:"progress_path"`
	// Epoch identifies this learner's term: it travels with the weights,
	// and rollouts collected with another epoch's weights are refused. 0
	// draws a random one (a restarted process is a new term). Under a
	// lease (podmedic learner --store jetstream) it is the lease epoch,
	// which rises with every takeover.
	Epoch uint64 `yaml:"-" json:"-"`
	// Fence, if set, is asked before every broadcast, latest reply,
	// checkpoint and snapshot: while it reports false the service sends
	// and writes nothing (a learner that lost its lease must not publish
	// while another may), and Close writes no final checkpoint.
	Fence func() bool `yaml:"-" json:"-"`
	// Workers is the number of goroutines an update runs on (its
	// gradient shards and optimiser chunks, see ppo.Config.Shards);
	// 0 means GOMAXPROCS. Results do not depend on it.
	Workers int `yaml:"workers" json:"workers"`
}

// DefaultServiceConfig returns the documented defaults. Its PPO settings
// differ from ppo.DefaultConfig (the reference implementations' 10 epochs
// of minibatch 64) in two places: 4 epochs of minibatch 256. The learner
// spent 96% of its wall time in updates with the reference settings, so a
// run of fixed wall time saw 5x fewer env steps; with these it reaches a
// better policy in the same minutes (see the README's evaluation).
func DefaultServiceConfig() ServiceConfig {
	p := ppo.DefaultConfig()
	p.Epochs, p.MinibatchSize = 4, 256
	return ServiceConfig{
		Run: "default", Mode: protocol.ModeAsync, MaxPolicyLag: 4, MinActors: 1,
		CheckpointEvery: 10, KeepCheckpoints: 3, HeartbeatTimeout: 10 * time.Second,
		BatchWait: time.Second, StallTimeout: time.Minute, MaxActors: 1024, JoinRate: 20, JoinBurst: 64,
		QueueCapacity: 64, Seed: 1, Hidden: []int{64, 64}, NormalizeObs: true, PPO: p,
	}
}

// Validate names the first bad field.
func (c ServiceConfig) Validate() error {
	switch {
	case protocol.ValidateRunName(c.Run) != nil:
		return fmt.Errorf("learner: config: run: %w", protocol.ValidateRunName(c.Run))
	case c.Mode.Validate() != nil:
		return fmt.Errorf("learner: config: %w", c.Mode.Validate())
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
	case c.Workers < 0 || c.Workers > 1024:
		return fmt.Errorf("learner: config: workers: want 0..1024 (0 = GOMAXPROCS), got %d", c.Workers)
	case c.BatchWait < 0:
		return fmt.Errorf("learner: config: batch_wait: want >= 0, got %s", c.BatchWait)
	case c.StallTimeout < 0:
		return fmt.Errorf("learner: config: stall_timeout: want >= 0, got %s", c.StallTimeout)
	case c.MaxActors < 1 || c.MaxActors > 1<<16:
		return fmt.Errorf("learner: config: max_actors: want 1..65536, got %d", c.MaxActors)
	case !(c.JoinRate > 0) || math.IsInf(c.JoinRate, 0):
		return fmt.Errorf("learner: config: join_rate: want > 0 joins per second, got %g", c.JoinRate)
	case c.JoinBurst < 1:
		return fmt.Errorf("learner: config: join_burst: want >= 1, got %d", c.JoinBurst)
	}
	for _, h := range c.Hidden {
		if h < 1 {
			return fmt.Errorf("learner: config: hidden: widths must be >= 1, got %v", c.Hidden)
		}
	}
	if err := c.PPO.Validate(); err != nil {
		return fmt.Errorf("learner: config: ppo: %w", err)
	}
	return nil
}

// EnvSpec is what the learner must know of the environment the actors run.
type EnvSpec struct {
	// ObsSize is the observation length (>= 1) and NumActions the size of
	// the discrete action space (>= 2).
	ObsSize    int
	NumActions int
	// ActionNames label the action counter (podmedic_actions_total); empty
	// or one per action.
	ActionNames []string
	// ObsNames travel in snapshot metadata so evaluate can refuse a policy
	// trained on another observation layout; empty or one per element.
	ObsNames []string
}

// Validate checks sizes against the wire limits and the name counts.
func (s EnvSpec) Validate() error {
	lim := protocol.DefaultLimits()
	switch {
	case s.ObsSize < 1 || s.ObsSize > lim.MaxObsSize:
		return fmt.Errorf("learner: env spec: observation size %d, want 1..%d", s.ObsSize, lim.MaxObsSize)
	case s.NumActions < 2 || s.NumActions > lim.MaxActions:
		// The wire carries categorical policies of at least two actions.
		return fmt.Errorf("learner: env spec: %d actions, want 2..%d", s.NumActions, lim.MaxActions)
	case len(s.ActionNames) != 0 && len(s.ActionNames) != s.NumActions:
		return fmt.Errorf("learner: env spec: %d action names for %d actions", len(s.ActionNames), s.NumActions)
	case len(s.ObsNames) != 0 && len(s.ObsNames) != s.ObsSize:
		return fmt.Errorf("learner: env spec: %d observation names for observations of %d", len(s.ObsNames), s.ObsSize)
	}
	return nil
}

// DecodePPOConfig reads a YAML (or JSON, a YAML subset) document of
// snake_case fields over ppo.DefaultConfig, refuses unknown fields and
// validates the result. An empty document yields the defaults. Errors wrap
// ppo.ErrConfig.
func DecodePPOConfig(r io.Reader) (ppo.Config, error) {
	c := ppo.DefaultConfig()
	data, err := io.ReadAll(r)
	if err != nil {
		return ppo.Config{}, fmt.Errorf("decode ppo config: read: %w", err)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return ppo.Config{}, fmt.Errorf("decode ppo config: %w: %w", ppo.ErrConfig, err)
		}
	}
	if err := c.Validate(); err != nil {
		return ppo.Config{}, fmt.Errorf("decode ppo config: %w", err)
	}
	return c, nil
}
