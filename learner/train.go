package learner

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"

	"podmedic/envsim"
	"podmedic/policy"
)

// TrainConfig configures the in-process training loop.
type TrainConfig struct {
	// NumEnvs is the number of environments stepped together, in
	// [1, 4096]. Default 8.
	NumEnvs int `yaml:"num_envs" json:"num_envs" msgpack:"num_envs"`
	// Horizon is the number of steps per env per update, in [1, 1<<16].
	// Default 128.
	Horizon int `yaml:"horizon" json:"horizon" msgpack:"horizon"`
	// TotalSteps is the env-step budget (all envs together), >= 1; the
	// run makes max(1, TotalSteps/(NumEnvs*Horizon)) updates. Default
	// 100000.
	TotalSteps int64 `yaml:"total_steps" json:"total_steps" msgpack:"total_steps"`
	// Seed makes the run reproducible. Default 1.
	Seed uint64 `yaml:"seed" json:"seed" msgpack:"seed"`
	// Hidden lists the hidden layer widths. Default [64, 64].
	Hidden []int `yaml:"hidden" json:"hidden" msgpack:"hidden"`
	// Activation is "tanh" (default) or "relu".
	Activation string `yaml:"activation" json:"activation" msgpack:"activation"`
	// SharedTrunk shares the hidden layers between policy and value.
	// Default false.
	SharedTrunk bool `yaml:"shared_trunk" json:"shared_trunk" msgpack:"shared_trunk"`
	// NormalizeObs turns on the running observation normaliser. Default
	// true.
	NormalizeObs bool `yaml:"normalize_obs" json:"normalize_obs" msgpack:"normalize_obs"`
	// PPO holds the update hyperparameters.
	PPO PPOConfig `yaml:"ppo" json:"ppo" msgpack:"ppo"`
}

// DefaultTrainConfig returns the defaults documented on TrainConfig.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{NumEnvs: 8, Horizon: 128, TotalSteps: 100000, Seed: 1, Hidden: []int{64, 64},
		Activation: policy.ActivationTanh, NormalizeObs: true, PPO: DefaultPPOConfig()}
}

// Validate reports the first invalid field.
func (c TrainConfig) Validate() error {
	switch {
	case c.NumEnvs < 1 || c.NumEnvs > 4096:
		return bad("num_envs", c.NumEnvs, "[1, 4096]")
	case c.Horizon < 1 || c.Horizon > 1<<16:
		return bad("horizon", c.Horizon, "[1, 65536]")
	case c.TotalSteps < 1:
		return bad("total_steps", c.TotalSteps, ">= 1")
	}
	arch := policy.Arch{ObsSize: 1, NumActions: 1, Hidden: c.Hidden, Activation: c.Activation, SharedTrunk: c.SharedTrunk}
	if err := arch.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.PPO.Validate(); err != nil {
		return fmt.Errorf("ppo: %w", err)
	}
	return nil
}

// Updates returns the number of PPO updates the config makes.
func (c TrainConfig) Updates() int {
	return int(max(1, c.TotalSteps/int64(c.NumEnvs*c.Horizon)))
}

// DecodeTrainConfig reads a YAML or JSON document over DefaultTrainConfig,
// refusing unknown fields, and validates it.
func DecodeTrainConfig(r io.Reader) (TrainConfig, error) {
	c := DefaultTrainConfig()
	if err := decodeStrict(r, &c); err != nil {
		return TrainConfig{}, fmt.Errorf("decode train config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return TrainConfig{}, fmt.Errorf("decode train config: %w", err)
	}
	return c, nil
}

// TrainResult is the outcome of Train.
type TrainResult struct {
	// Net is the trained network; Normalizer its observation statistics.
	Net        *policy.Net
	Normalizer *policy.Normalizer
	// PPO is the learner, for checkpoints or further updates.
	PPO *PPO
	// Stats holds one entry per update.
	Stats []UpdateStats
	// Episodes lists every finished episode in order.
	Episodes []EpisodeStat
	// EnvSteps is the number of env steps taken.
	EnvSteps int64
}

// Snapshot returns the policy snapshot of the result.
func (r *TrainResult) Snapshot(meta map[string]string) policy.Snapshot {
	return policy.NewSnapshot(r.Net, r.Normalizer, r.PPO.Version(), meta)
}

// Train runs PPO on NumEnvs environments built by newEnv and returns the
// trained policy. It is deterministic for a seed. progress, if not nil, is
// called after every update. On cancellation it returns the result so far
// with ctx's error.
func Train(ctx context.Context, cfg TrainConfig, newEnv func(i int) (envsim.Env, error), progress func(UpdateStats)) (*TrainResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	envs := make([]envsim.Env, cfg.NumEnvs)
	for i := range envs {
		e, err := newEnv(i)
		if err != nil {
			return nil, fmt.Errorf("train: create env %d: %w", i, err)
		}
		envs[i] = e
	}
	arch := policy.Arch{ObsSize: envs[0].ObservationSize(), NumActions: envs[0].NumActions(),
		Hidden: cfg.Hidden, Activation: cfg.Activation, SharedTrunk: cfg.SharedTrunk}
	net, err := policy.New(arch, rand.New(rand.NewPCG(cfg.Seed, 1)))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	norm := policy.NewIdentityNormalizer(arch.ObsSize)
	if cfg.NormalizeObs {
		norm = policy.NewNormalizer(arch.ObsSize)
	}
	updates := cfg.Updates()
	ppo, err := NewPPO(net, cfg.PPO, updates, rand.New(rand.NewPCG(cfg.Seed, 2)))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	col, err := NewCollector(envs, net, norm, rand.New(rand.NewPCG(cfg.Seed, 3)))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	norm.Update(col.CurrentObs(), cfg.NumEnvs)
	res := &TrainResult{Net: net, Normalizer: norm, PPO: ppo, Stats: make([]UpdateStats, 0, updates)}
	segs := make([]Segment, 1)
	for u := 0; u < updates; u++ {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("train: %w", err)
		}
		col.Collect(&segs[0], cfg.Horizon)
		norm.Update(col.RawObs(), cfg.NumEnvs*cfg.Horizon)
		st, err := ppo.Update(segs)
		if err != nil {
			return res, fmt.Errorf("train: update %d: %w", u, err)
		}
		res.Stats = append(res.Stats, st)
		res.Episodes = col.DrainEpisodes(res.Episodes)
		res.EnvSteps = col.Steps()
		if progress != nil {
			progress(st)
		}
	}
	return res, nil
}
