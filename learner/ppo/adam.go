package ppo

import "math"

// Adam is the Adam optimiser (Kingma and Ba 2015) with PyTorch's update
// rule: bias-corrected moments and eps added to the square root. Its state
// is exported for checkpoints.
type Adam struct {
	// M and V are the first and second moment estimates, one per
	// parameter.
	M, V []float64
	// T is the number of steps taken.
	T int64
	// Beta1, Beta2 and Eps are the hyperparameters.
	Beta1, Beta2, Eps float64
}

// NewAdam returns an optimiser for n parameters.
func NewAdam(n int, beta1, beta2, eps float64) *Adam {
	return &Adam{M: make([]float64, n), V: make([]float64, n), Beta1: beta1, Beta2: beta2, Eps: eps}
}

// Step applies one update with learning rate lr to params given grads.
func (a *Adam) Step(params, grads []float64, lr float64) {
	a.T++
	b1, b2 := a.Beta1, a.Beta2
	c1 := 1 - math.Pow(b1, float64(a.T))
	c2 := 1 - math.Pow(b2, float64(a.T))
	stepSize := lr / c1
	sc2 := math.Sqrt(c2)
	m, v := a.M[:len(params)], a.V[:len(params)]
	grads = grads[:len(params)]
	for i, g := range grads {
		mi := b1*m[i] + (1-b1)*g
		vi := b2*v[i] + (1-b2)*g*g
		m[i], v[i] = mi, vi
		params[i] -= stepSize * mi / (math.Sqrt(vi)/sc2 + a.Eps)
	}
}
