package policy

import (
	"math"
	"math/rand/v2"
)

// Categorical distribution over logits. All functions work on one row of
// logits and allocate nothing; they are numerically stable for any finite
// logits (the maximum is subtracted before exponentiating).

// LogSoftmax writes log p = z - logsumexp(z) into out (len(z)), in
// float64. Actors and the learner both call it on the network's float32
// logits, so equal logits give equal log-probabilities: the exponentials
// (exp64) have vector paths that agree bitwise with the Go one.
func LogSoftmax(z []float32, out []float64) {
	lse, _ := expShifted(z, out)
	for i, v := range z {
		out[i] = float64(v) - lse
	}
}

// LogSoftmaxProbs is LogSoftmax (bitwise the same logp) that also writes
// the probabilities p, computed from the same exponentials, and returns
// the entropy -sum p·logp.
func LogSoftmaxProbs(z []float32, logp, p []float64) float64 {
	lse, s := expShifted(z, p)
	inv := 1 / s
	h := 0.0
	for i, v := range z {
		lp := float64(v) - lse
		logp[i] = lp
		p[i] *= inv
		h -= p[i] * lp
	}
	return h
}

// LogSoftmaxRows is LogSoftmaxProbs on each of the n rows of k logits in
// z: it writes n×k log-probabilities and probabilities and n entropies,
// bitwise the same as row by row, with the exponentials of all rows
// computed in one vector pass. ent[r] holds the row's maximum logit
// until the end.
func LogSoftmaxRows(z []float32, n, k int, logp, p, ent []float64) {
	z, logp, p, ent = z[:n*k], logp[:n*k], p[:n*k], ent[:n]
	for r := range n {
		row := z[r*k : r*k+k]
		m := row[0]
		for _, v := range row[1:] {
			if v > m {
				m = v
			}
		}
		mf := float64(m)
		e := p[r*k : r*k+k]
		for i, v := range row {
			e[i] = float64(v) - mf
		}
		ent[r] = mf
	}
	expSlice(p)
	for r := range n {
		row, e, lp := z[r*k:r*k+k], p[r*k:r*k+k], logp[r*k:r*k+k]
		sum := 0.0
		for _, v := range e {
			sum += v
		}
		lse := ent[r] + math.Log(sum)
		inv := 1 / sum
		h := 0.0
		for i, v := range row {
			l := float64(v) - lse
			lp[i] = l
			e[i] *= inv
			h -= e[i] * l
		}
		ent[r] = h
	}
}

// expShifted writes e[i] = exp(z[i] - max z) and returns logsumexp(z)
// and the sum of the e[i].
func expShifted(z []float32, e []float64) (lse, sum float64) {
	m := z[0]
	for _, v := range z[1:] {
		if v > m {
			m = v
		}
	}
	mf := float64(m)
	e = e[:len(z)]
	for i, v := range z {
		e[i] = float64(v) - mf // exact: both are float32
	}
	expSlice(e)
	for _, v := range e {
		sum += v
	}
	return mf + math.Log(sum), sum
}

// Entropy returns -sum p log p for log-probabilities logp.
func Entropy(logp []float64) float64 {
	h := 0.0
	for _, lp := range logp {
		h -= math.Exp(lp) * lp
	}
	return h
}

// Sample draws an action from log-probabilities logp by inverting the CDF
// at one uniform variate from rng.
func Sample(logp []float64, rng *rand.Rand) int {
	u := rng.Float64()
	c := 0.0
	for a, lp := range logp {
		c += math.Exp(lp)
		if u < c {
			return a
		}
	}
	return len(logp) - 1 // rounding left u above the total mass
}

// Argmax returns the most probable action (the lowest index among ties).
func Argmax(logp []float64) int {
	best := 0
	for a, lp := range logp {
		if lp > logp[best] {
			best = a
		}
	}
	return best
}
