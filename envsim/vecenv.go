package envsim

import "fmt"

// VecEnv steps K environments in lock-step with auto-reset, writing into
// preallocated batch buffers. After Step, for every k with Terminated[k]
// or Truncated[k], FinalObs row k holds the last observation of the
// finished episode (bootstrap from it on truncation) and Obs row k already
// holds the first observation of the next episode. Episode bookkeeping
// (returns, lengths) is the caller's job. To read per-step details such as
// a Cluster's Info, set AfterStep: it runs after each env's Step and
// before its auto-reset (which overwrites a Cluster's Info).
//
// Episode seeds derive from (seed, env index, episode counter) alone, so a
// VecEnv run is reproducible. A VecEnv is not safe for concurrent use.
type VecEnv struct {
	envs     []Env
	seed     uint64
	episodes []uint64
	obsSize  int
	actions  int

	// Obs holds the current observation of every env, row-major K x d.
	Obs []float32
	// Rewards holds the rewards of the last Step.
	Rewards []float64
	// Terminated and Truncated hold the end flags of the last Step.
	Terminated, Truncated []bool
	// FinalObs row k is the final observation of the episode env k ended
	// in the last Step; other rows are stale.
	FinalObs []float32
	// AfterStep, if set, is called with k and env k right after env k's
	// Step and before any auto-reset. It must not step or reset the env.
	AfterStep func(k int, e Env)
}

// NewVecEnv wraps envs, which must share observation size and action
// count (a programmer error otherwise: it panics). Call Reset first.
func NewVecEnv(envs []Env, seed uint64) *VecEnv {
	if len(envs) == 0 {
		panic("envsim: NewVecEnv: no environments")
	}
	d, a := envs[0].ObservationSize(), envs[0].NumActions()
	for i, e := range envs {
		if e.ObservationSize() != d || e.NumActions() != a {
			panic(fmt.Sprintf("envsim: NewVecEnv: env %d has shape (%d, %d), env 0 (%d, %d)",
				i, e.ObservationSize(), e.NumActions(), d, a))
		}
	}
	k := len(envs)
	return &VecEnv{
		envs: envs, seed: seed, episodes: make([]uint64, k), obsSize: d, actions: a,
		Obs: make([]float32, k*d), Rewards: make([]float64, k),
		Terminated: make([]bool, k), Truncated: make([]bool, k),
		FinalObs: make([]float32, k*d),
	}
}

// NumEnvs returns K.
func (v *VecEnv) NumEnvs() int { return len(v.envs) }

// ObservationSize returns d, the length of one observation row.
func (v *VecEnv) ObservationSize() int { return v.obsSize }

// NumActions returns the size of the shared action space.
func (v *VecEnv) NumActions() int { return v.actions }

// Env returns environment k.
func (v *VecEnv) Env(k int) Env { return v.envs[k] }

// EpisodeSeed is the seed of episode n of env k: a SplitMix64 hash of
// (seed, k, n).
func EpisodeSeed(seed uint64, k int, n uint64) uint64 {
	x := seed ^ (uint64(k)+1)*0x9e3779b97f4a7c15 ^ (n+1)*0xbf58476d1ce4e5b9
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Reset starts a fresh episode in every env and clears the step buffers.
func (v *VecEnv) Reset() {
	for k, e := range v.envs {
		e.Reset(EpisodeSeed(v.seed, k, v.episodes[k]), v.row(v.Obs, k))
		v.episodes[k]++
		v.Rewards[k], v.Terminated[k], v.Truncated[k] = 0, false, false
	}
}

// Step applies actions[k] to env k and auto-resets the envs whose episode
// ended. len(actions) must be NumEnvs.
func (v *VecEnv) Step(actions []int) {
	if len(actions) != len(v.envs) {
		panic(fmt.Sprintf("envsim: VecEnv.Step: %d actions for %d envs", len(actions), len(v.envs)))
	}
	for k, e := range v.envs {
		obs := v.row(v.Obs, k)
		r, term, trunc := e.Step(actions[k], obs)
		v.Rewards[k], v.Terminated[k], v.Truncated[k] = r, term, trunc
		if v.AfterStep != nil {
			v.AfterStep(k, e)
		}
		if term || trunc {
			copy(v.row(v.FinalObs, k), obs)
			e.Reset(EpisodeSeed(v.seed, k, v.episodes[k]), obs)
			v.episodes[k]++
		}
	}
}

func (v *VecEnv) row(buf []float32, k int) []float32 {
	return buf[k*v.obsSize : (k+1)*v.obsSize]
}
