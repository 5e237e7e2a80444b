package ppo

import (
	"math"

	"podmedic/policy"
)

// minibatch holds the buffers of one gradient step; they grow to the
// largest minibatch seen.
type minibatch struct {
	ws               *policy.Workspace
	obs              []float32
	adv              []float64
	dLogits, dValues []float64
	lrow             []float64 // log-probabilities of one sample
}

// grow makes room for minibatches of n samples of net.
func (m *minibatch) grow(net *policy.Net, n int) {
	if m.ws != nil && m.ws.MaxBatch() >= n {
		return
	}
	arch := net.Arch()
	m.ws = net.NewWorkspace(n)
	m.obs = make([]float32, n*arch.ObsSize)
	m.adv = make([]float64, n)
	m.dLogits = make([]float64, n*arch.NumActions)
	m.dValues = make([]float64, n)
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
func (p *Updater) minibatch(idx []int, clip float64) mbStats {
	cfg := p.cfg
	d, na := p.d, p.na
	b, m := &p.batch, &p.mb
	B := len(idx)
	fb := float64(B)
	adv := m.adv[:B]
	for j, i := range idx {
		copy(m.obs[j*d:j*d+d], b.obs[i*d:i*d+d])
		adv[j] = b.adv[i]
	}
	if cfg.NormAdv && B > 1 {
		normalizeAdvantages(adv)
	}
	m.ws.Forward(m.obs[:B*d], B)
	logits, values := m.ws.Logits(), m.ws.Values()
	dl, dv := m.dLogits[:B*na], m.dValues[:B]
	lrow := m.lrow
	var s mbStats
	for j, i := range idx {
		z := logits[j*na : j*na+na]
		g := dl[j*na : j*na+na]
		policy.LogSoftmax(z, lrow)
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
		h := policy.Entropy(lrow)
		s.ent += h
		for k, lp := range lrow {
			pk := math.Exp(lp)
			gk := -dlp * pk // d logp_a / d z_k = [k==a] - p_k
			gk += cfg.EntCoef * pk * (lp + h)
			g[k] = gk / fb
		}
		g[a] += dlp / fb

		v, R := values[j], b.ret[i]
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
		dv[j] = cfg.VFCoef * dvj / fb
	}
	s.pg /= fb
	s.vl /= fb
	s.ent /= fb
	s.approxKL /= fb
	s.clipFrac /= fb
	s.loss = s.pg - cfg.EntCoef*s.ent + cfg.VFCoef*s.vl
	m.ws.Backward(dl, dv)
	return s
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
