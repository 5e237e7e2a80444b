// Package ppo is proximal policy optimisation for the actor-critic
// network of package policy: GAE, the clipped-surrogate update with Adam,
// their configuration, and the state a checkpoint must hold to resume an
// update sequence exactly.
//
// The package is pure: it never starts goroutines, performs I/O, reads the
// clock or uses a global random number generator (its imports prove it).
// Callers (the learner service) own transport, time, files and threads:
// they serialise State and may give the updater an Executor that runs its
// independent tasks (gradient shards, reduction and optimiser chunks) on
// several cores, which changes nothing in the results.
package ppo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"podmedic/policy"
)

// ErrNoData reports an update called without samples.
var ErrNoData = errors.New("ppo: no samples")

// UpdateStats are the diagnostics of one PPO update. Loss-type fields are
// means over the minibatches that were applied.
type UpdateStats struct {
	// Version is the policy version after the update (unchanged when
	// Skipped).
	Version uint64
	// Samples is the number of samples in the batch.
	Samples int
	// Minibatches is the number of gradient steps applied.
	Minibatches int
	// Epochs is the number of epochs started (fewer than configured after
	// a target-KL stop).
	Epochs int
	// EarlyStop reports a target-KL stop.
	EarlyStop bool
	// PolicyLoss is the clipped surrogate loss.
	PolicyLoss float64
	// ValueLoss is 0.5*mean((V-R)^2) (clipped variant if enabled).
	ValueLoss float64
	// Entropy is the mean policy entropy (nats).
	Entropy float64
	// ApproxKL is mean((r-1) - log r), an unbiased estimator of
	// KL(old||new) (Schulman's k3).
	ApproxKL float64
	// ClipFraction is the fraction of samples with |r-1| > clip range.
	ClipFraction float64
	// ExplainedVariance is 1 - Var(R-V)/Var(R) of the behaviour values;
	// NaN when the returns have zero variance.
	ExplainedVariance float64
	// GradNorm is the mean global gradient norm before clipping.
	GradNorm float64
	// LearningRate and ClipRange are the annealed values used.
	LearningRate, ClipRange float64
	// FirstRatioDev is max |r-1| over the first minibatch; exactly 0 when
	// the data is on-policy and computed with the same network.
	FirstRatioDev float64
	// AdvantageMean and ReturnMean describe the batch before
	// normalisation.
	AdvantageMean, ReturnMean float64
	// Skipped reports that the update was discarded by the NaN/Inf guard;
	// SkipReason says why. Parameters and optimiser state are unchanged.
	Skipped    bool
	SkipReason string
}

// Updater performs PPO updates on a Net. It owns its buffers, which grow
// to the largest batch seen and are then reused. Not safe for concurrent
// use; its Executor runs parts of an update concurrently.
//
// Each minibatch's gradient is computed in Config.Shards shards, each on
// a float32 workspace of its own, and added in shard order into a float64
// gradient; the norm, the clip and the Adam step work on the float64
// master parameters in fixed chunks. So results are bitwise the same
// whichever Executor runs the tasks, on however many cores.
type Updater struct {
	net          *policy.Net
	cfg          Config
	totalUpdates int
	seed         uint64
	updates      int64   // updates attempted, drives annealing and shuffling
	progress     float64 // SetProgress's fraction, or -1 to anneal by updates
	version      uint64
	adam         *Adam
	d, na        int // observation size, number of actions

	pcg *rand.PCG
	rng *rand.Rand

	batch batch
	exec  Executor
	mb    minibatch

	// NaN guard backups
	bParams, bM, bV []float64
	bAdamT          int64
}

// New returns an updater for net. totalUpdates (>= 1) is the horizon of
// the learning-rate and clip-range annealing. rng seeds the minibatch
// shuffling: one draw is taken here, and update u shuffles with a PCG
// seeded by (that draw, u), so a run resumed from its State shuffles as
// the uninterrupted one would.
func New(net *policy.Net, cfg Config, totalUpdates int, rng *rand.Rand) (*Updater, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new ppo: %w", err)
	}
	if totalUpdates < 1 {
		return nil, fmt.Errorf("new ppo: %w: total updates %d, want >= 1", ErrConfig, totalUpdates)
	}
	n := net.NumParams()
	p := &Updater{net: net, cfg: cfg, totalUpdates: totalUpdates, seed: rng.Uint64(), progress: -1,
		adam: NewAdam(n, cfg.AdamBeta1, cfg.AdamBeta2, cfg.AdamEps), exec: Sequential{},
		pcg: rand.NewPCG(0, 0), bParams: make([]float64, n), bM: make([]float64, n), bV: make([]float64, n)}
	p.rng = rand.New(p.pcg)
	arch := net.Arch()
	p.d, p.na = arch.ObsSize, arch.NumActions
	p.mb.init(p)
	p.mb.grow(2*cfg.MinibatchSize - 1)
	return p, nil
}

// SetExecutor makes the updater run its parallel parts with e (nil: the
// calling goroutine, Sequential). Results do not depend on it.
func (p *Updater) SetExecutor(e Executor) {
	if e == nil {
		e = Sequential{}
	}
	p.exec = e
}

// Net returns the network being trained.
func (p *Updater) Net() *policy.Net { return p.net }

// Config returns the configuration.
func (p *Updater) Config() Config { return p.cfg }

// Version returns the policy version: the number of updates applied.
func (p *Updater) Version() uint64 { return p.version }

// Updates returns the number of updates attempted (applied or skipped).
func (p *Updater) Updates() int64 { return p.updates }

// schedule returns the annealing fraction for the current update: 1 at the
// first update, falling linearly to 1/totalUpdates at the last and staying
// there afterwards.
func (p *Updater) schedule() float64 {
	done := float64(p.updates) / float64(p.totalUpdates)
	if p.progress >= 0 {
		done = p.progress
	}
	return math.Max(1-done, 1/float64(p.totalUpdates))
}

// SetProgress makes the annealing follow the caller's measure of progress
// (for the distributed learner: env steps consumed over the budget, since
// its batches vary in size) instead of the update count. done is clamped
// to [0, 1]; a negative value restores the update-count schedule.
func (p *Updater) SetProgress(done float64) {
	if done < 0 || math.IsNaN(done) {
		p.progress = -1
		return
	}
	p.progress = math.Min(done, 1)
}

// Update runs GAE over segs and Epochs passes of shuffled minibatches, and
// bumps Version. Segments are validated first; an invalid one fails the
// update before anything changes. If a gradient or the resulting
// parameters are not finite the update is discarded (stats.Skipped).
func (p *Updater) Update(segs []Segment) (UpdateStats, error) {
	total := 0
	for i := range segs {
		if err := segs[i].Validate(p.d, p.na); err != nil {
			return UpdateStats{}, fmt.Errorf("ppo update: segment %d: %w", i, err)
		}
		total += segs[i].Len()
	}
	if total == 0 {
		return UpdateStats{}, fmt.Errorf("ppo update: %w", ErrNoData)
	}
	p.batch.load(segs, total, p.d, p.cfg.Gamma, p.cfg.GAELambda)
	st := p.startStats(total)
	p.backup()

	p.pcg.Seed(p.seed, uint64(p.updates))
	p.updates++
	numMB := max(1, total/p.cfg.MinibatchSize)
	p.mb.grow((total + numMB - 1) / numMB)
	perm := p.batch.identityPerm()
	var sum lossSums
	for epoch := 0; epoch < p.cfg.Epochs && !st.EarlyStop; epoch++ {
		st.Epochs++
		p.shuffle(perm)
		for b := 0; b < numMB; b++ {
			idx := perm[b*total/numMB : (b+1)*total/numMB]
			mb := p.gradient(idx, st.ClipRange)
			if epoch == 0 && b == 0 {
				st.FirstRatioDev = mb.maxRatioDev
			}
			if p.cfg.TargetKL > 0 && mb.approxKL > 1.5*p.cfg.TargetKL {
				st.EarlyStop = true
				break
			}
			if !finite(mb.gradNorm) {
				sum.mean(&st)
				return p.skip(st, "non-finite gradient"), nil
			}
			p.step(mb.gradNorm, st.LearningRate)
			sum.add(mb, mb.gradNorm)
		}
	}
	sum.mean(&st)
	for _, v := range p.net.Params() {
		if !(math.Abs(v) <= math.MaxFloat32) { // NaN, or not finite once rounded to float32
			return p.skip(st, "non-finite parameters"), nil
		}
	}
	p.version++
	st.Version = p.version
	return st, nil
}

// startStats returns the stats known before the first gradient step: the
// annealed learning rate and clip range and the batch's descriptions.
func (p *Updater) startStats(total int) UpdateStats {
	cfg := p.cfg
	frac := p.schedule()
	st := UpdateStats{Samples: total, LearningRate: cfg.LearningRate, ClipRange: cfg.ClipRange}
	if cfg.AnnealLR {
		st.LearningRate *= frac
	}
	if cfg.AnnealClip {
		st.ClipRange *= frac
	}
	b := &p.batch
	st.ExplainedVariance = explainedVariance(b.oldV, b.ret)
	st.AdvantageMean, st.ReturnMean = mean(b.adv), mean(b.ret)
	return st
}

// shuffle permutes perm in place (Fisher-Yates) with this update's stream.
func (p *Updater) shuffle(perm []int) {
	for i := len(perm) - 1; i > 0; i-- {
		j := p.rng.IntN(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
}

// step applies one Adam step with learning rate lr to the gradient of the
// last gradient call, whose norm is norm, scaled down to MaxGradNorm when
// it is larger (PyTorch's max/(norm+1e-6)).
func (p *Updater) step(norm, lr float64) {
	scale := 1.0
	if maxNorm := p.cfg.MaxGradNorm; maxNorm > 0 && norm > maxNorm {
		scale = maxNorm / (norm + 1e-6)
	}
	p.mb.coefs = p.adam.next(lr, scale)
	p.exec.Run(len(p.mb.chunks), p.mb.adamTask)
	p.net.SyncTransposed()
}

// backup saves parameters and optimiser state for the NaN/Inf guard.
func (p *Updater) backup() {
	copy(p.bParams, p.net.Params())
	copy(p.bM, p.adam.M)
	copy(p.bV, p.adam.V)
	p.bAdamT = p.adam.T
}

// skip restores the state saved at the start of the update; st keeps the
// diagnostics of the minibatches that were discarded.
func (p *Updater) skip(st UpdateStats, reason string) UpdateStats {
	copy(p.net.Params(), p.bParams)
	p.net.SyncParams()
	copy(p.adam.M, p.bM)
	copy(p.adam.V, p.bV)
	p.adam.T = p.bAdamT
	st.Skipped, st.SkipReason, st.Version = true, reason, p.version
	return st
}

// lossSums accumulates the loss terms of the applied minibatches.
type lossSums struct {
	n                                      int
	pg, vl, ent, approxKL, clipFrac, gnorm float64
}

func (s *lossSums) add(mb mbStats, gradNorm float64) {
	s.n++
	s.pg += mb.pg
	s.vl += mb.vl
	s.ent += mb.ent
	s.approxKL += mb.approxKL
	s.clipFrac += mb.clipFrac
	s.gnorm += gradNorm
}

// mean writes the per-minibatch means into st.
func (s *lossSums) mean(st *UpdateStats) {
	st.Minibatches = s.n
	if s.n == 0 {
		return
	}
	m := float64(s.n)
	st.PolicyLoss = s.pg / m
	st.ValueLoss = s.vl / m
	st.Entropy = s.ent / m
	st.ApproxKL = s.approxKL / m
	st.ClipFraction = s.clipFrac / m
	st.GradNorm = s.gnorm / m
}

// batch holds one update's samples, flattened from its segments, with
// their advantages and returns.
type batch struct {
	obs                     []float32
	actions                 []int32
	oldLogp, oldV, adv, ret []float64
	perm                    []int
}

// load flattens segs (total samples of obsSize d) into the buffers and
// computes GAE per segment.
func (b *batch) load(segs []Segment, total, d int, gamma, lambda float64) {
	b.obs = grow(b.obs, total*d)
	b.actions = grow(b.actions, total)
	b.perm = grow(b.perm, total)
	b.oldLogp, b.oldV = grow(b.oldLogp, total), grow(b.oldV, total)
	b.adv, b.ret = grow(b.adv, total), grow(b.ret, total)
	off := 0
	for i := range segs {
		s := &segs[i]
		n := s.Len()
		copy(b.obs[off*d:], s.Obs)
		copy(b.actions[off:], s.Actions)
		copy(b.oldLogp[off:], s.LogProbs)
		copy(b.oldV[off:], s.Values)
		GAE(s, gamma, lambda, b.adv[off:off+n], b.ret[off:off+n])
		off += n
	}
}

// identityPerm returns the batch's permutation buffer set to 0..n-1.
func (b *batch) identityPerm() []int {
	for i := range b.perm {
		b.perm[i] = i
	}
	return b.perm
}

// grow returns s resliced to n elements, or a new slice if s is too
// small; the contents are not preserved.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
