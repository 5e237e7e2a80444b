package learner

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"podmedic/policy"
)

// ErrNoData reports an update called without samples.
var ErrNoData = errors.New("learner: no samples")

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

// PPO performs proximal policy optimisation updates on a Net. It owns its
// buffers, which grow to the largest batch seen and are then reused. Not
// safe for concurrent use.
type PPO struct {
	net          *policy.Net
	cfg          PPOConfig
	totalUpdates int
	seed         uint64
	updates      int64   // updates attempted, drives annealing and shuffling
	progress     float64 // SetProgress's fraction, or -1 to anneal by updates
	version      uint64
	adam         *Adam
	d, na        int // observation size, number of actions

	pcg *rand.PCG
	rng *rand.Rand

	// batch
	obs                     []float32
	actions                 []int32
	oldLogp, oldV, adv, ret []float64
	perm                    []int

	// minibatch
	ws               *policy.Workspace
	mbObs            []float32
	mbAdv            []float64
	dLogits, dValues []float64
	lrow             []float64

	// NaN guard backups
	bParams, bM, bV []float64
}

// NewPPO returns a learner for net. totalUpdates (>= 1) is the horizon of
// the learning-rate and clip-range annealing. rng seeds the minibatch
// shuffling: one draw is taken here, and update u shuffles with a PCG
// seeded by (that draw, u), so a run resumed from a checkpoint shuffles as
// the uninterrupted one would.
func NewPPO(net *policy.Net, cfg PPOConfig, totalUpdates int, rng *rand.Rand) (*PPO, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new ppo: %w", err)
	}
	if totalUpdates < 1 {
		return nil, fmt.Errorf("new ppo: %w: total updates %d, want >= 1", ErrConfig, totalUpdates)
	}
	n := net.NumParams()
	p := &PPO{net: net, cfg: cfg, totalUpdates: totalUpdates, seed: rng.Uint64(), progress: -1,
		adam: NewAdam(n, cfg.AdamBeta1, cfg.AdamBeta2, cfg.AdamEps),
		pcg:  rand.NewPCG(0, 0), bParams: make([]float64, n), bM: make([]float64, n), bV: make([]float64, n)}
	p.rng = rand.New(p.pcg)
	arch := net.Arch()
	p.d, p.na = arch.ObsSize, arch.NumActions
	p.lrow = make([]float64, arch.NumActions)
	p.growMinibatch(2*cfg.MinibatchSize - 1)
	return p, nil
}

// Net returns the network being trained.
func (p *PPO) Net() *policy.Net { return p.net }

// Config returns the configuration.
func (p *PPO) Config() PPOConfig { return p.cfg }

// Version returns the policy version: the number of updates applied.
func (p *PPO) Version() uint64 { return p.version }

// Updates returns the number of updates attempted (applied or skipped).
func (p *PPO) Updates() int64 { return p.updates }

func (p *PPO) growMinibatch(n int) {
	if p.ws != nil && p.ws.MaxBatch() >= n {
		return
	}
	arch := p.net.Arch()
	p.ws = p.net.NewWorkspace(n)
	p.mbObs = make([]float32, n*arch.ObsSize)
	p.mbAdv = make([]float64, n)
	p.dLogits = make([]float64, n*arch.NumActions)
	p.dValues = make([]float64, n)
}

func growF64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// schedule returns the annealing fraction for the current update: 1 at the
// first update, falling linearly to 1/totalUpdates at the last and staying
// there afterwards.
func (p *PPO) schedule() float64 {
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
func (p *PPO) SetProgress(done float64) {
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
func (p *PPO) Update(segs []Segment) (UpdateStats, error) {
	d := p.d
	total := 0
	for i := range segs {
		if err := segs[i].Validate(d, p.na); err != nil {
			return UpdateStats{}, fmt.Errorf("ppo update: segment %d: %w", i, err)
		}
		total += segs[i].Len()
	}
	if total == 0 {
		return UpdateStats{}, fmt.Errorf("ppo update: %w", ErrNoData)
	}
	p.loadBatch(segs, total, d)

	cfg := p.cfg
	frac := p.schedule()
	st := UpdateStats{Samples: total, LearningRate: cfg.LearningRate, ClipRange: cfg.ClipRange}
	if cfg.AnnealLR {
		st.LearningRate *= frac
	}
	if cfg.AnnealClip {
		st.ClipRange *= frac
	}
	st.ExplainedVariance = explainedVariance(p.oldV[:total], p.ret[:total])
	st.AdvantageMean, st.ReturnMean = mean(p.adv[:total]), mean(p.ret[:total])

	params := p.net.Params()
	copy(p.bParams, params)
	copy(p.bM, p.adam.M)
	copy(p.bV, p.adam.V)
	adamT := p.adam.T

	p.pcg.Seed(p.seed, uint64(p.updates))
	p.updates++
	numMB := max(1, total/cfg.MinibatchSize)
	p.growMinibatch((total + numMB - 1) / numMB)
	perm := p.perm[:total]
	for i := range perm {
		perm[i] = i
	}
	var gradNorm float64
	first := true
epochs:
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		st.Epochs++
		for i := len(perm) - 1; i > 0; i-- {
			j := p.rng.IntN(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
		for b := 0; b < numMB; b++ {
			idx := perm[b*total/numMB : (b+1)*total/numMB]
			p.net.ZeroGrads()
			mb := p.minibatch(idx, st.ClipRange)
			if first {
				st.FirstRatioDev = mb.maxRatioDev
				first = false
			}
			if cfg.TargetKL > 0 && mb.approxKL > 1.5*cfg.TargetKL {
				st.EarlyStop = true
				break epochs
			}
			g := p.net.Grads()
			norm := l2(g)
			if !finite(norm) {
				return p.skip(st, adamT, "non-finite gradient"), nil
			}
			if cfg.MaxGradNorm > 0 && norm > cfg.MaxGradNorm {
				s := cfg.MaxGradNorm / (norm + 1e-6)
				for i := range g {
					g[i] *= s
				}
			}
			p.adam.Step(params, g, st.LearningRate)
			st.Minibatches++
			st.PolicyLoss += mb.pg
			st.ValueLoss += mb.vl
			st.Entropy += mb.ent
			st.ApproxKL += mb.approxKL
			st.ClipFraction += mb.clipFrac
			gradNorm += norm
		}
	}
	for _, v := range params {
		if !finite(v) {
			return p.skip(st, adamT, "non-finite parameters"), nil
		}
	}
	if m := float64(st.Minibatches); m > 0 {
		st.PolicyLoss /= m
		st.ValueLoss /= m
		st.Entropy /= m
		st.ApproxKL /= m
		st.ClipFraction /= m
		st.GradNorm = gradNorm / m
	}
	p.version++
	st.Version = p.version
	return st, nil
}

// skip restores the state saved at the start of the update.
func (p *PPO) skip(st UpdateStats, adamT int64, reason string) UpdateStats {
	copy(p.net.Params(), p.bParams)
	copy(p.adam.M, p.bM)
	copy(p.adam.V, p.bV)
	p.adam.T = adamT
	st.Skipped, st.SkipReason, st.Version = true, reason, p.version
	return st
}

// loadBatch flattens segs into the batch buffers and computes GAE.
func (p *PPO) loadBatch(segs []Segment, total, d int) {
	if cap(p.obs) < total*d {
		p.obs = make([]float32, total*d)
	}
	if cap(p.actions) < total {
		p.actions = make([]int32, total)
		p.perm = make([]int, total)
	}
	p.obs, p.actions, p.perm = p.obs[:total*d], p.actions[:total], p.perm[:total]
	p.oldLogp, p.oldV = growF64(p.oldLogp, total), growF64(p.oldV, total)
	p.adv, p.ret = growF64(p.adv, total), growF64(p.ret, total)
	off := 0
	for i := range segs {
		s := &segs[i]
		n := s.Len()
		copy(p.obs[off*d:], s.Obs)
		copy(p.actions[off:], s.Actions)
		copy(p.oldLogp[off:], s.LogProbs)
		copy(p.oldV[off:], s.Values)
		GAE(s, p.cfg.Gamma, p.cfg.GAELambda, p.adv[off:off+n], p.ret[off:off+n])
		off += n
	}
}

// mbStats are the per-minibatch loss terms.
type mbStats struct {
	loss, pg, vl, ent, approxKL, clipFrac, maxRatioDev float64
}

// minibatch computes the PPO loss on batch samples idx and accumulates its
// gradient into the net's gradients (which the caller zeroes).
//
// loss = pg - EntCoef*entropy + VFCoef*0.5*mean((V-R)^2), with
// pg = mean(max(-A r, -A clip(r, 1-c, 1+c))), r = exp(logp - logp_old).
func (p *PPO) minibatch(idx []int, clip float64) mbStats {
	cfg := p.cfg
	d, na := p.d, p.na
	B := len(idx)
	fb := float64(B)
	adv := p.mbAdv[:B]
	for j, i := range idx {
		copy(p.mbObs[j*d:j*d+d], p.obs[i*d:i*d+d])
		adv[j] = p.adv[i]
	}
	if cfg.NormAdv && B > 1 {
		m := mean(adv)
		ss := 0.0
		for _, a := range adv {
			ss += (a - m) * (a - m)
		}
		sd := math.Sqrt(ss / (fb - 1))
		for j := range adv {
			adv[j] = (adv[j] - m) / (sd + 1e-8)
		}
	}
	p.ws.Forward(p.mbObs[:B*d], B)
	logits, values := p.ws.Logits(), p.ws.Values()
	dl, dv := p.dLogits[:B*na], p.dValues[:B]
	lrow := p.lrow
	var s mbStats
	for j, i := range idx {
		z := logits[j*na : j*na+na]
		g := dl[j*na : j*na+na]
		policy.LogSoftmax(z, lrow)
		a := int(p.actions[i])
		logRatio := lrow[a] - p.oldLogp[i]
		ratio := math.Exp(logRatio)
		s.maxRatioDev = math.Max(s.maxRatioDev, math.Abs(ratio-1))
		s.approxKL += (ratio - 1) - logRatio
		if math.Abs(ratio-1) > clip {
			s.clipFrac++
		}
		A := adv[j]
		s1 := -A * ratio
		s2 := -A * math.Max(1-clip, math.Min(ratio, 1+clip))
		var dlp float64 // d pg_j / d logp
		if s1 >= s2 {
			s.pg += s1
			dlp = s1
		} else {
			s.pg += s2
		}
		h := policy.Entropy(lrow)
		s.ent += h
		for k, lp := range lrow {
			pk := math.Exp(lp)
			gk := -dlp * pk // d logp_a / d z_k = [k==a] - p_k
			gk += cfg.EntCoef * pk * (lp + h)
			g[k] = gk / fb
		}
		g[a] += dlp / fb

		v, R := values[j], p.ret[i]
		dvj := v - R
		l := dvj * dvj
		if cfg.ClipRangeVF > 0 {
			old := p.oldV[i]
			vc := old + math.Max(-cfg.ClipRangeVF, math.Min(v-old, cfg.ClipRangeVF))
			if lc := (vc - R) * (vc - R); lc > l {
				l, dvj = lc, 0
			}
		}
		s.vl += 0.5 * l
		dv[j] = cfg.VFCoef * dvj / fb
	}
	s.pg /= fb
	s.vl /= fb
	s.ent /= fb
	s.approxKL /= fb
	s.clipFrac /= fb
	s.loss = s.pg - cfg.EntCoef*s.ent + cfg.VFCoef*s.vl
	p.ws.Backward(dl, dv)
	return s
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func l2(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

// explainedVariance returns 1 - Var(y-pred)/Var(y), NaN if Var(y) = 0.
func explainedVariance(pred, y []float64) float64 {
	my := mean(y)
	var vy, vr, mr float64
	for i := range y {
		mr += y[i] - pred[i]
	}
	mr /= float64(len(y))
	for i := range y {
		vy += (y[i] - my) * (y[i] - my)
		r := y[i] - pred[i] - mr
		vr += r * r
	}
	if vy == 0 {
		return math.NaN()
	}
	return 1 - vr/vy
}
