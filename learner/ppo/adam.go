package ppo

import (
	"math"

	"podmedic/policy"
)

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

// Step applies one update with learning rate lr to net's parameters given
// grads (one per parameter).
func (a *Adam) Step(net *policy.Net, grads []float64, lr float64) {
	n := net.NumParams()
	net.AdamStep(0, n, a.M[:n], a.V[:n], grads[:n], a.next(lr, 1))
}

// next counts a step and returns its constants, with the gradients to be
// multiplied by scale; the caller applies them with Net.AdamStep,
// possibly in parts.
func (a *Adam) next(lr, scale float64) policy.AdamCoefs {
	a.T++
	c1 := 1 - math.Pow(a.Beta1, float64(a.T))
	c2 := 1 - math.Pow(a.Beta2, float64(a.T))
	return policy.AdamCoefs{Beta1: a.Beta1, Beta2: a.Beta2, Scale: scale, StepSize: lr / c1, SqrtC2: math.Sqrt(c2), Eps: a.Eps}
}
