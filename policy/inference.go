package policy

import (
	"fmt"
	"math/rand/v2"
)

// Inference selects actions for batches of normalised observations without
// allocating. It shares the Net's parameters (a later SetParams is seen by
// the next call) and is not safe for concurrent use.
type Inference struct {
	ws   *Workspace
	logp []float64 // NumActions scratch row
}

// NewInference allocates buffers for batches of up to maxBatch observations.
func (n *Net) NewInference(maxBatch int) *Inference {
	return &Inference{ws: n.NewWorkspace(maxBatch), logp: make([]float64, n.arch.NumActions)}
}

// MaxBatch returns the largest batch accepted.
func (f *Inference) MaxBatch() int { return f.ws.max }

// Act runs the network on n normalised observations (row-major n×ObsSize)
// and writes, per observation, the chosen action, its log-probability and
// the state value. With deterministic set it takes the most probable
// action and rng may be nil; otherwise it samples with one rng.Float64 per
// observation, in order. The results for one observation do not depend on
// the batch it is in.
func (f *Inference) Act(obs []float32, n int, rng *rand.Rand, deterministic bool, actions []int, logp, values []float64) {
	if len(actions) < n || len(logp) < n || len(values) < n {
		panic(fmt.Sprintf("policy: Act with output lengths %d/%d/%d for batch %d", len(actions), len(logp), len(values), n))
	}
	f.ws.Forward(obs, n)
	na := len(f.logp)
	logits, v := f.ws.Logits(), f.ws.Values()
	for s := 0; s < n; s++ {
		LogSoftmax(logits[s*na:s*na+na], f.logp)
		var a int
		if deterministic {
			a = Argmax(f.logp)
		} else {
			a = Sample(f.logp, rng)
		}
		actions[s], logp[s], values[s] = a, f.logp[a], float64(v[s])
	}
}

// Values writes the state values of n normalised observations into out.
func (f *Inference) Values(obs []float32, n int, out []float64) {
	f.ws.Forward(obs, n)
	for i, v := range f.ws.Values() {
		out[i] = float64(v)
	}
}
