package ppo

import (
	"errors"
	"fmt"
	"math"
)

// ErrConfig reports an invalid configuration field.
var ErrConfig = errors.New("ppo: invalid config")

// Config holds the PPO hyperparameters. Defaults follow the reference
// implementations (REFERENCE.md, "PPO details that matter"); see the
// README ("Policy network and PPO") for the reasons. Field tags give the
// snake_case names of config files and checkpoints.
type Config struct {
	// Gamma is the discount factor, in [0, 1]. Default 0.99.
	Gamma float64 `yaml:"gamma" json:"gamma" msgpack:"gamma"`
	// GAELambda is the GAE(lambda) parameter, in [0, 1]. Default 0.95.
	GAELambda float64 `yaml:"gae_lambda" json:"gae_lambda" msgpack:"gae_lambda"`
	// ClipRange is the surrogate clipping epsilon, in (0, 1). Default 0.2.
	ClipRange float64 `yaml:"clip_range" json:"clip_range" msgpack:"clip_range"`
	// AnnealClip decays ClipRange linearly to 0 over the total updates.
	// Default false.
	AnnealClip bool `yaml:"anneal_clip" json:"anneal_clip" msgpack:"anneal_clip"`
	// ClipRangeVF clips the value change per update to +-ClipRangeVF
	// around the old value; 0 disables value clipping (default), which
	// studies found no worse.
	ClipRangeVF float64 `yaml:"clip_range_vf" json:"clip_range_vf" msgpack:"clip_range_vf"`
	// EntCoef weighs the entropy bonus, >= 0. Default 0.01.
	EntCoef float64 `yaml:"ent_coef" json:"ent_coef" msgpack:"ent_coef"`
	// VFCoef weighs the value loss 0.5*(V-R)^2, >= 0. Default 0.5.
	VFCoef float64 `yaml:"vf_coef" json:"vf_coef" msgpack:"vf_coef"`
	// LearningRate is Adam's step size at the first update, in (0, 1].
	// Default 3e-4.
	LearningRate float64 `yaml:"learning_rate" json:"learning_rate" msgpack:"learning_rate"`
	// AnnealLR decays the learning rate linearly to 0 over the total
	// updates. Default true.
	AnnealLR bool `yaml:"anneal_lr" json:"anneal_lr" msgpack:"anneal_lr"`
	// Epochs is the number of passes over each batch, in [1, 1000].
	// Default 10.
	Epochs int `yaml:"epochs" json:"epochs" msgpack:"epochs"`
	// MinibatchSize is the number of samples per gradient step, in
	// [2, 1<<20]. Default 64. A batch of N samples is cut into
	// max(1, N/MinibatchSize) near-equal minibatches.
	MinibatchSize int `yaml:"minibatch_size" json:"minibatch_size" msgpack:"minibatch_size"`
	// MaxGradNorm clips the global gradient L2 norm; 0 disables. Default
	// 0.5.
	MaxGradNorm float64 `yaml:"max_grad_norm" json:"max_grad_norm" msgpack:"max_grad_norm"`
	// TargetKL stops the epochs of an update early when a minibatch's
	// approximate KL exceeds 1.5*TargetKL (that step is not applied); 0
	// disables (default).
	TargetKL float64 `yaml:"target_kl" json:"target_kl" msgpack:"target_kl"`
	// AdamEps is Adam's denominator epsilon, > 0. Default 1e-5 (not
	// PyTorch's 1e-8).
	AdamEps float64 `yaml:"adam_eps" json:"adam_eps" msgpack:"adam_eps"`
	// AdamBeta1 and AdamBeta2 are Adam's moment decay rates, in [0, 1).
	// Defaults 0.9 and 0.999.
	AdamBeta1 float64 `yaml:"adam_beta1" json:"adam_beta1" msgpack:"adam_beta1"`
	AdamBeta2 float64 `yaml:"adam_beta2" json:"adam_beta2" msgpack:"adam_beta2"`
	// NormAdv normalises advantages to mean 0, std 1 per minibatch.
	// Default true.
	NormAdv bool `yaml:"norm_adv" json:"norm_adv" msgpack:"norm_adv"`
	// Shards is the number of parts each minibatch's gradient is split
	// into; the parts are computed in parallel (by the updater's
	// Executor) and added in a fixed order, so the result depends on
	// Shards but not on the number of cores. In [1, 256]; 0 means
	// DefaultShards (also in files and checkpoints written before the
	// field existed).
	Shards int `yaml:"shards" json:"shards" msgpack:"shards"`
}

// DefaultShards is the number of gradient shards per minibatch when
// Config.Shards is 0: enough to keep a few cores busy and balanced, few
// enough that minibatches of 64 still give shards of 16 samples.
const DefaultShards = 4

// shards returns the number of gradient shards in use.
func (c Config) shards() int {
	if c.Shards == 0 {
		return DefaultShards
	}
	return c.Shards
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Gamma: 0.99, GAELambda: 0.95, ClipRange: 0.2, EntCoef: 0.01, VFCoef: 0.5,
		LearningRate: 3e-4, AnnealLR: true, Epochs: 10, MinibatchSize: 64, MaxGradNorm: 0.5,
		AdamEps: 1e-5, AdamBeta1: 0.9, AdamBeta2: 0.999, NormAdv: true,
	}
}

func bad(field string, v any, want string) error {
	return fmt.Errorf("%w: %s = %v, want %s", ErrConfig, field, v, want)
}

func in01(v float64) bool { return v >= 0 && v <= 1 }

// Validate reports the first invalid field by its config-file name.
func (c Config) Validate() error {
	switch {
	case !in01(c.Gamma):
		return bad("gamma", c.Gamma, "[0, 1]")
	case !in01(c.GAELambda):
		return bad("gae_lambda", c.GAELambda, "[0, 1]")
	case !(c.ClipRange > 0 && c.ClipRange < 1):
		return bad("clip_range", c.ClipRange, "(0, 1)")
	case !(c.ClipRangeVF >= 0 && c.ClipRangeVF <= math.MaxFloat64):
		return bad("clip_range_vf", c.ClipRangeVF, ">= 0 (0 = off)")
	case !(c.EntCoef >= 0 && c.EntCoef <= 1e3):
		return bad("ent_coef", c.EntCoef, "[0, 1000]")
	case !(c.VFCoef >= 0 && c.VFCoef <= 1e3):
		return bad("vf_coef", c.VFCoef, "[0, 1000]")
	case !(c.LearningRate > 0 && c.LearningRate <= 1):
		return bad("learning_rate", c.LearningRate, "(0, 1]")
	case c.Epochs < 1 || c.Epochs > 1000:
		return bad("epochs", c.Epochs, "[1, 1000]")
	case c.MinibatchSize < 2 || c.MinibatchSize > 1<<20:
		return bad("minibatch_size", c.MinibatchSize, "[2, 1048576]")
	case !(c.MaxGradNorm >= 0 && c.MaxGradNorm <= math.MaxFloat64):
		return bad("max_grad_norm", c.MaxGradNorm, ">= 0 (0 = off)")
	case !(c.TargetKL >= 0 && c.TargetKL <= math.MaxFloat64):
		return bad("target_kl", c.TargetKL, ">= 0 (0 = off)")
	case !(c.AdamEps > 0 && c.AdamEps < 1):
		return bad("adam_eps", c.AdamEps, "(0, 1)")
	case !(c.AdamBeta1 >= 0 && c.AdamBeta1 < 1):
		return bad("adam_beta1", c.AdamBeta1, "[0, 1)")
	case !(c.AdamBeta2 >= 0 && c.AdamBeta2 < 1):
		return bad("adam_beta2", c.AdamBeta2, "[0, 1)")
	case c.Shards < 0 || c.Shards > 256:
		return bad("shards", c.Shards, "[1, 256] (0 = default)")
	}
	return nil
}
