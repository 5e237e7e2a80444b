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

// Collector steps K environments with a policy network and fills
// Segments: it normalises observations, samples actions, auto-resets
// finished episodes (with fresh seeds from its rng), and records the value
// of the final observation of truncated episodes so the learner can
// bootstrap. Observation statistics are not updated here: the caller merges
// RawObs into its Normalizer after each segment, so one segment is
// normalised with one set of statistics, as on a distributed actor.
// Not safe for concurrent use.
type Collector struct {
	envs  []envsim.Env
	d, na int
	norm  *policy.Normalizer
	inf   *policy.Inference
	rng   *rand.Rand

	raw, nobs  []float32 // K×d current raw and normalised observations
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

// NewCollector resets every env (seeds drawn from rng) and returns a
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
	c := &Collector{envs: envs, d: d, na: arch.NumActions, norm: norm, inf: net.NewInference(K), rng: rng,
		raw: make([]float32, K*d), nobs: make([]float32, K*d), rowN: make([]float32, d),
		actions: make([]int, K), logp: make([]float64, K), vals: make([]float64, K),
		epRet: make([]float64, K), epLen: make([]int, K)}
	for k, e := range envs {
		e.Reset(rng.Uint64(), c.raw[k*d:k*d+d])
	}
	return c, nil
}

// NumEnvs returns K.
func (c *Collector) NumEnvs() int { return len(c.envs) }

// CurrentObs returns the live K×d raw observations the next step acts on.
func (c *Collector) CurrentObs() []float32 { return c.raw }

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
	K, d := len(c.envs), c.d
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
		copy(c.rawSeg[base*d:], c.raw)
		c.norm.Normalize(c.raw, c.nobs)
		copy(seg.Obs[base*d:], c.nobs)
		c.inf.Act(c.nobs, K, c.rng, false, c.actions, c.logp, c.vals)
		for k, e := range c.envs {
			i := base + k
			row := c.raw[k*d : k*d+d]
			r, term, trunc := e.Step(c.actions[k], row)
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
				c.norm.Normalize(row, c.rowN)
				c.inf.Values(c.rowN, 1, c.one[:])
				seg.BootstrapValues[i] = c.one[0]
			}
			c.episodes = append(c.episodes, EpisodeStat{Env: k, Return: c.epRet[k], Length: c.epLen[k], Terminated: term})
			c.epRet[k], c.epLen[k] = 0, 0
			e.Reset(c.rng.Uint64(), row)
		}
		c.steps += int64(K)
	}
	c.norm.Normalize(c.raw, c.nobs)
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
