package learner

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"podmedic/envsim"
	"podmedic/policy"
)

// ErrEnv reports environments that do not fit the policy or each other.
var ErrEnv = errors.New("learner: incompatible environments")

// EpisodeStat describes one finished episode.
type EpisodeStat struct {
	// Env is the index of the environment.
	Env int
	// Return is the undiscounted sum of rewards.
	Return float64
	// Length is the number of steps.
	Length int
	// Terminated is true when the episode ended inside the task rather
	// than by truncation.
	Terminated bool
}

// Collector steps K environments (an envsim.VecEnv, which auto-resets
// finished episodes) with a policy network and fills Segments: it
// normalises observations, samples actions, and records the value of the
// final observation of truncated episodes so the learner can bootstrap. Observation statistics are not updated here: the caller merges
// RawObs into its Normalizer after each segment, so one segment is
// normalised with one set of statistics, as on a distributed actor.
// Not safe for concurrent use.
type Collector struct {
	vec   *envsim.VecEnv
	d, na int
	norm  *policy.Normalizer
	inf   *policy.Inference
	rng   *rand.Rand

	nobs       []float32 // K×d normalised current observations
	rawSeg     []float32 // T×K×d raw observations of the last segment
	rowN       []float32 // one normalised row
	actions    []int
	logp, vals []float64
	one        [1]float64
	epRet      []float64
	epLen      []int
	episodes   []EpisodeStat
	steps      int64
}

// NewCollector resets every env (episode seeds derive from one draw of
// rng) and returns a
// collector acting with net and normalising with norm. Both are shared, not
// copied: parameter and statistic updates are seen by the next Collect.
func NewCollector(envs []envsim.Env, net *policy.Net, norm *policy.Normalizer, rng *rand.Rand) (*Collector, error) {
	arch := net.Arch()
	if len(envs) == 0 {
		return nil, fmt.Errorf("new collector: %w: no environments", ErrEnv)
	}
	for i, e := range envs {
		if e.ObservationSize() != arch.ObsSize || e.NumActions() != arch.NumActions {
			return nil, fmt.Errorf("new collector: %w: env %d has obs %d actions %d, policy %d and %d",
				ErrEnv, i, e.ObservationSize(), e.NumActions(), arch.ObsSize, arch.NumActions)
		}
	}
	if norm.Size() != arch.ObsSize {
		return nil, fmt.Errorf("new collector: %w: normalizer size %d, obs size %d", ErrEnv, norm.Size(), arch.ObsSize)
	}
	K, d := len(envs), arch.ObsSize
	c := &Collector{vec: envsim.NewVecEnv(envs, rng.Uint64()), d: d, na: arch.NumActions, norm: norm,
		inf: net.NewInference(K), rng: rng, nobs: make([]float32, K*d), rowN: make([]float32, d),
		actions: make([]int, K), logp: make([]float64, K), vals: make([]float64, K),
		epRet: make([]float64, K), epLen: make([]int, K)}
	c.vec.Reset()
	return c, nil
}

// NumEnvs returns K.
func (c *Collector) NumEnvs() int { return c.vec.NumEnvs() }

// CurrentObs returns the live K×d raw observations the next step acts on.
func (c *Collector) CurrentObs() []float32 { return c.vec.Obs }

// RawObs returns the raw observations of the last segment (T×K×d), valid
// until the next Collect.
func (c *Collector) RawObs() []float32 { return c.rawSeg }

// Steps returns the number of env steps taken so far (K per step).
func (c *Collector) Steps() int64 { return c.steps }

// DrainEpisodes appends the episodes finished since the last drain to dst
// and forgets them.
func (c *Collector) DrainEpisodes(dst []EpisodeStat) []EpisodeStat {
	dst = append(dst, c.episodes...)
	c.episodes = c.episodes[:0]
	return dst
}

// Collect steps every env horizon times and writes the rollout into seg,
// reusing seg's slices when large enough.
func (c *Collector) Collect(seg *Segment, horizon int) {
	K, d := c.vec.NumEnvs(), c.d
	n := K * horizon
	seg.NumEnvs, seg.Horizon = K, horizon
	seg.Obs = growF32(seg.Obs, n*d)
	seg.Actions = growI32(seg.Actions, n)
	seg.LogProbs, seg.Values = growF64(seg.LogProbs, n), growF64(seg.Values, n)
	seg.Rewards, seg.BootstrapValues = growF64(seg.Rewards, n), growF64(seg.BootstrapValues, n)
	seg.Terminated, seg.Truncated = growBool(seg.Terminated, n), growBool(seg.Truncated, n)
	seg.LastValues = growF64(seg.LastValues, K)
	c.rawSeg = growF32(c.rawSeg, n*d)
	for t := 0; t < horizon; t++ {
		base := t * K
		copy(c.rawSeg[base*d:], c.vec.Obs)
		c.norm.Normalize(c.vec.Obs, c.nobs)
		copy(seg.Obs[base*d:], c.nobs)
		c.inf.Act(c.nobs, K, c.rng, false, c.actions, c.logp, c.vals)
		c.vec.Step(c.actions)
		for k := 0; k < K; k++ {
			i := base + k
			r, term, trunc := c.vec.Rewards[k], c.vec.Terminated[k], c.vec.Truncated[k]
			seg.Actions[i] = int32(c.actions[k])
			seg.LogProbs[i], seg.Values[i], seg.Rewards[i] = c.logp[k], c.vals[k], r
			seg.Terminated[i], seg.Truncated[i] = term, trunc
			seg.BootstrapValues[i] = 0
			c.epRet[k] += r
			c.epLen[k]++
			if !term && !trunc {
				continue
			}
			if trunc && !term {
				c.norm.Normalize(c.vec.FinalObs[k*d:k*d+d], c.rowN)
				c.inf.Values(c.rowN, 1, c.one[:])
				seg.BootstrapValues[i] = c.one[0]
			}
			c.episodes = append(c.episodes, EpisodeStat{Env: k, Return: c.epRet[k], Length: c.epLen[k], Terminated: term})
			c.epRet[k], c.epLen[k] = 0, 0
		}
		c.steps += int64(K)
	}
	c.norm.Normalize(c.vec.Obs, c.nobs)
	c.inf.Values(c.nobs, K, seg.LastValues)
}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func growI32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func growBool(s []bool, n int) []bool {
	if cap(s) < n {
		return make([]bool, n)
	}
	return s[:n]
}
