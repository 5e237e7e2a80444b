package actor

import (
	"fmt"
	mrand "math/rand/v2"
	"time"

	"podmedic/envsim"
	"podmedic/internal/policywire"
	"podmedic/policy"
	"podmedic/protocol"
)

// collector steps a VecEnv with the local policy and fills one reusable
// Rollout per call. It is owned by the actor's loop goroutine.
type collector struct {
	vec                       *envsim.VecEnv
	k, t, obsSize, numActions int
	net                       *policy.Net
	inf                       *policy.Inference
	norm                      *policy.Normalizer
	rng                       *mrand.Rand
	metrics                   *Metrics
	r                         protocol.Rollout
	stats                     policy.Welford // raw observations of the current rollout, for the learner's normaliser
	actions                   []int
	logp, values              []float64
	normRow                   []float32 // K×d scratch for bootstrap and last values
	bootIdx                   []int
	bootVals                  []float64
	eps                       []episode
}

// newCollector builds a collector over envs with horizon T. Its random
// streams derive from seed alone.
func newCollector(envs []envsim.Env, horizon int, seed uint64, m *Metrics) *collector {
	k, d, na := len(envs), envs[0].ObservationSize(), envs[0].NumActions()
	c := &collector{
		vec: envsim.NewVecEnv(envs, seed), k: k, t: horizon, obsSize: d, numActions: na,
		rng:     mrand.New(mrand.NewPCG(seed, 0x5851f42d4c957f2d)),
		metrics: m,
		stats:   policy.NewWelford(d),
		actions: make([]int, k), logp: make([]float64, k), values: make([]float64, k),
		normRow: make([]float32, k*d), bootIdx: make([]int, 0, k), bootVals: make([]float64, k),
		eps: make([]episode, k),
	}
	n := k * horizon
	c.r = protocol.Rollout{
		NumEnvs: k, Horizon: horizon, ObsSize: d, NumActions: na,
		Obs: make([]float32, n*d), Actions: make([]int32, n), LogProbs: make([]float64, n),
		Values: make([]float64, n), Rewards: make([]float64, n), Terminated: make([]bool, n),
		Truncated: make([]bool, n), BootstrapValues: make([]float64, n), LastValues: make([]float64, k),
	}
	for i := range c.eps {
		c.eps[i] = newEpisode(na)
	}
	// Book each step before the VecEnv auto-resets (which overwrites the
	// cluster's info).
	c.vec.AfterStep = func(k int, e envsim.Env) {
		c.eps[k].step(e, c.actions[k], c.vec.Rewards[k])
	}
	return c
}

func (c *collector) numEnvs() int { return c.k }

func (c *collector) shape() protocol.Shape {
	return protocol.Shape{ObsSize: c.obsSize, NumActions: c.numActions}
}

func (c *collector) reset() {
	c.vec.Reset()
	for i := range c.eps {
		c.eps[i].reset(c.vec.Env(i))
	}
}

// setWeights loads parameters and normaliser statistics, rebuilding the
// network only when the architecture changed.
func (c *collector) setWeights(w *protocol.Weights) error {
	arch := policywire.Arch(w.Arch)
	if c.net == nil || !c.net.Arch().Equal(arch) {
		net, err := policy.NewFromParams(arch, w.Params)
		if err != nil {
			return fmt.Errorf("build network: %w", err)
		}
		c.net, c.inf = net, net.NewInference(c.k)
	} else if err := c.net.SetParams(w.Params); err != nil {
		return fmt.Errorf("set parameters: %w", err)
	}
	norm := policy.NewNormalizer(c.obsSize)
	if err := norm.Restore(policywire.NormState(w.Norm)); err != nil {
		return fmt.Errorf("normaliser: %w", err)
	}
	c.norm = norm
	return nil
}

// collect runs Horizon steps in every env with the current weights and
// returns the rollout, valid until the next call.
func (c *collector) collect(version uint64) *protocol.Rollout {
	k, d := c.k, c.obsSize
	r := &c.r
	r.V, r.PolicyVersion = protocol.SchemaVersion, version
	r.Episodes = r.Episodes[:0]
	c.stats.Reset()
	clear(r.BootstrapValues)
	var inferTime, envTime time.Duration
	for t := 0; t < c.t; t++ {
		base := t * k
		obs := r.Obs[base*d : (base+k)*d]
		c.stats.Add(c.vec.Obs, k)
		for i := 0; i < k; i++ {
			c.norm.Normalize(c.vec.Obs[i*d:(i+1)*d], obs[i*d:(i+1)*d])
		}
		start := time.Now()
		c.inf.Act(obs, k, c.rng, false, c.actions, c.logp, c.values)
		inferTime += time.Since(start)
		for i := 0; i < k; i++ {
			r.Actions[base+i] = int32(c.actions[i])
		}
		copy(r.LogProbs[base:base+k], c.logp)
		copy(r.Values[base:base+k], c.values)
		start = time.Now()
		c.vec.Step(c.actions)
		envTime += time.Since(start)
		copy(r.Rewards[base:base+k], c.vec.Rewards)
		copy(r.Terminated[base:base+k], c.vec.Terminated)
		copy(r.Truncated[base:base+k], c.vec.Truncated)
		c.bootIdx = c.bootIdx[:0]
		for i := 0; i < k; i++ {
			if c.vec.Truncated[i] {
				c.norm.Normalize(c.vec.FinalObs[i*d:(i+1)*d], c.normRow[len(c.bootIdx)*d:(len(c.bootIdx)+1)*d])
				c.bootIdx = append(c.bootIdx, i)
			}
			if c.vec.Terminated[i] || c.vec.Truncated[i] {
				r.Episodes = append(r.Episodes, c.eps[i].summary(c.vec.Terminated[i]))
				c.eps[i].reset(c.vec.Env(i))
			}
		}
		if len(c.bootIdx) > 0 {
			start := time.Now()
			c.inf.Values(c.normRow, len(c.bootIdx), c.bootVals)
			inferTime += time.Since(start)
			for j, i := range c.bootIdx {
				r.BootstrapValues[base+i] = c.bootVals[j]
			}
		}
	}
	for i := 0; i < k; i++ {
		c.norm.Normalize(c.vec.Obs[i*d:(i+1)*d], c.normRow[i*d:(i+1)*d])
	}
	c.inf.Values(c.normRow, k, r.LastValues)
	r.ObsStats = protocol.ObsStats{Count: c.stats.Count, Mean: c.stats.Mean, M2: c.stats.M2}
	c.metrics.EnvSteps.Add(float64(k * c.t))
	c.metrics.InferenceSeconds.Add(inferTime.Seconds())
	c.metrics.EnvSeconds.Add(envTime.Seconds())
	return r
}
