package ppo

import (
	"math"

	"podmedic/policy"
)

// chunkSize is the number of parameters per task of the gradient
// reduction and the Adam step. Fixed, so the norm's partial sums are the
// same on any number of cores.
const chunkSize = 4096

// minibatch holds what one gradient step needs: per shard a workspace and
// buffers, the float64 gradient they are added into, and the tasks the
// Executor runs. Buffers grow to the largest minibatch seen.
type minibatch struct {
	p      *Updater
	shards []shard
	grad   []float64     // the minibatch's gradient, in the order of Net.Params
	chunks [][2]int      // [lo, hi) of each reduction and Adam task
	srcs   [][][]float32 // per chunk: the shards' gradients of the chunk
	sumSq  []float64     // per chunk: sum of the squared gradient

	// The current step, set before the tasks run.
	idx   []int     // batch indices of the minibatch
	adv   []float64 // their (normalised) advantages
	clip  float64
	coefs policy.AdamCoefs
	used  int // shards holding samples: min(Shards, len(idx))

	shardTask, reduceTask, adamTask func(int)
}

// shard is one part of a minibatch's gradient.
type shard struct {
	ws               *policy.Workspace
	obs              []float32
	dLogits, dValues []float32
	logp, prob, ent  []float64 // per sample: log-probabilities, probabilities (×actions), entropy
	row              []float64 // one sample's logit gradient
	stats            mbStats   // sums over the shard's samples
}

// mbStats are the loss terms of a minibatch (of a shard: sums, not means).
type mbStats struct {
	loss, pg, vl, ent, approxKL, clipFrac, maxRatioDev float64
	gradNorm                                           float64
}

func (m *minibatch) init(p *Updater) {
	m.p = p
	n := p.net.NumParams()
	m.grad = make([]float64, n)
	for lo := 0; lo < n; lo += chunkSize {
		m.chunks = append(m.chunks, [2]int{lo, min(n, lo+chunkSize)})
	}
	m.sumSq = make([]float64, len(m.chunks))
	m.srcs = make([][][]float32, len(m.chunks))
	m.shards = make([]shard, p.cfg.shards())
	m.shardTask, m.reduceTask, m.adamTask = m.runShard, m.reduce, m.adamChunk
}

// grow makes room for minibatches of n samples.
func (m *minibatch) grow(n int) {
	if len(m.adv) >= n {
		return
	}
	m.adv = make([]float64, n)
	per := (n + len(m.shards) - 1) / len(m.shards)
	d, na := m.p.d, m.p.na
	for s := range m.shards {
		m.shards[s] = shard{ws: m.p.net.NewWorkspace(per), obs: make([]float32, per*d),
			dLogits: make([]float32, per*na), dValues: make([]float32, per),
			logp: make([]float64, per*na), prob: make([]float64, per*na), ent: make([]float64, per), row: make([]float64, na)}
	}
	for c, ch := range m.chunks {
		m.srcs[c] = m.srcs[c][:0]
		for s := range m.shards {
			m.srcs[c] = append(m.srcs[c], m.shards[s].ws.Grads()[ch[0]:ch[1]])
		}
	}
}

// gradient computes the PPO loss on batch samples idx and its gradient
// with respect to the parameters into m.grad, and the gradient's norm.
//
// loss = pg - EntCoef*entropy + VFCoef*0.5*mean((V-R)^2), with
// pg = mean(max(-A r, -A clip(r, 1-c, 1+c))), r = exp(logp - logp_old).
func (p *Updater) gradient(idx []int, clip float64) mbStats {
	m := &p.mb
	B := len(idx)
	m.idx, m.clip = idx, clip
	adv := m.adv[:B]
	for j, i := range idx {
		adv[j] = p.batch.adv[i]
	}
	if p.cfg.NormAdv && B > 1 {
		normalizeAdvantages(adv)
	}
	m.used = min(len(m.shards), B)
	p.exec.Run(m.used, m.shardTask)
	var s mbStats
	for k := range m.used {
		t := &m.shards[k].stats
		s.pg += t.pg
		s.vl += t.vl
		s.ent += t.ent
		s.approxKL += t.approxKL
		s.clipFrac += t.clipFrac
		s.maxRatioDev = math.Max(s.maxRatioDev, t.maxRatioDev)
	}
	fb := float64(B)
	s.pg /= fb
	s.vl /= fb
	s.ent /= fb
	s.approxKL /= fb
	s.clipFrac /= fb
	s.loss = s.pg - p.cfg.EntCoef*s.ent + p.cfg.VFCoef*s.vl
	p.exec.Run(len(m.chunks), m.reduceTask)
	ss := 0.0
	for _, v := range m.sumSq {
		ss += v
	}
	s.gradNorm = math.Sqrt(ss)
	return s
}

// runShard computes shard k's part of the loss and its gradient (float32,
// in the shard's workspace): samples [k*B/S, (k+1)*B/S) of the minibatch.
func (m *minibatch) runShard(k int) {
	p, sh := m.p, &m.shards[k]
	B := len(m.idx)
	lo, hi := k*B/m.used, (k+1)*B/m.used
	n, d, na := hi-lo, p.d, p.na
	b, cfg := &p.batch, &p.cfg
	idx, adv := m.idx[lo:hi], m.adv[lo:hi]
	for j, i := range idx {
		copy(sh.obs[j*d:j*d+d], b.obs[i*d:i*d+d])
	}
	sh.ws.Forward(sh.obs[:n*d], n)
	logits, values := sh.ws.Logits(), sh.ws.Values()
	dl, dv := sh.dLogits[:n*na], sh.dValues[:n]
	fb, clip := float64(B), m.clip
	policy.LogSoftmaxRows(logits, n, na, sh.logp, sh.prob, sh.ent)
	var s mbStats
	for j, i := range idx {
		lrow, prow, h, g := sh.logp[j*na:j*na+na], sh.prob[j*na:j*na+na], sh.ent[j], sh.row
		a := int(b.actions[i])
		logRatio := lrow[a] - b.oldLogp[i]
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
		s.ent += h
		for k, lp := range lrow {
			pk := prow[k]
			g[k] = -dlp*pk + cfg.EntCoef*pk*(lp+h) // d logp_a / d z_k = [k==a] - p_k
		}
		g[a] += dlp
		for k := range g {
			dl[j*na+k] = float32(g[k] / fb)
		}

		v, R := float64(values[j]), b.ret[i]
		dvj := v - R
		l := dvj * dvj
		if cfg.ClipRangeVF > 0 {
			old := b.oldV[i]
			vc := old + math.Max(-cfg.ClipRangeVF, math.Min(v-old, cfg.ClipRangeVF))
			if lc := (vc - R) * (vc - R); lc > l {
				l, dvj = lc, 0
			}
		}
		s.vl += 0.5 * l
		dv[j] = float32(cfg.VFCoef * dvj / fb)
	}
	sh.ws.Backward(dl, dv)
	sh.stats = s
}

// reduce adds the shards' gradients of chunk c into m.grad in shard order
// and sums their squares.
func (m *minibatch) reduce(c int) {
	lo, hi := m.chunks[c][0], m.chunks[c][1]
	m.sumSq[c] = policy.SumGrads(m.grad[lo:hi], m.srcs[c][:m.used])
}

// adamChunk applies the Adam step to chunk c of the parameters (which
// refreshes the network's float32 copy of it; step then refreshes the
// transposed weights on one goroutine).
func (m *minibatch) adamChunk(c int) {
	lo, hi := m.chunks[c][0], m.chunks[c][1]
	a := m.p.adam
	m.p.net.AdamStepPart(lo, hi, a.M[lo:hi], a.V[lo:hi], m.grad[lo:hi], m.coefs)
}

// normalizeAdvantages rescales adv (len >= 2) to mean 0 and unit standard
// deviation (with Bessel's correction, plus 1e-8).
func normalizeAdvantages(adv []float64) {
	m := mean(adv)
	ss := 0.0
	for _, a := range adv {
		ss += (a - m) * (a - m)
	}
	sd := math.Sqrt(ss / (float64(len(adv)) - 1))
	for j := range adv {
		adv[j] = (adv[j] - m) / (sd + 1e-8)
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
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
