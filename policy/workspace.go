package policy

import "fmt"

// Workspace holds the buffers of a batched forward and backward pass of a
// Net for up to MaxBatch samples. It is not safe for concurrent use, and
// Backward writes the net's gradients: use one Workspace per goroutine and
// one goroutine per Net.
type Workspace struct {
	net  *Net
	max  int
	n    int
	relu bool
	x0   []float64   // max × ObsSize, the float64 copy of the input
	acts [][]float64 // per layer, max × out: layer outputs after activation
	dz   [][]float64 // per layer, max × out: gradients
	dtmp []float64   // max × trunk width: value tower's trunk gradient
	sc   backScratch
}

// NewWorkspace allocates a workspace for batches of up to maxBatch samples.
func (n *Net) NewWorkspace(maxBatch int) *Workspace {
	if maxBatch < 1 {
		panic(fmt.Sprintf("policy: NewWorkspace(%d): maxBatch must be >= 1", maxBatch))
	}
	w := &Workspace{net: n, max: maxBatch, relu: n.arch.Activation == ActivationReLU}
	w.x0 = make([]float64, maxBatch*n.arch.ObsSize)
	maxW, maxIn := 0, 0
	for _, l := range n.layers {
		w.acts = append(w.acts, make([]float64, maxBatch*l.out))
		w.dz = append(w.dz, make([]float64, maxBatch*l.out))
		maxW, maxIn = max(maxW, l.in*l.out), max(maxIn, l.in)
	}
	w.sc = backScratch{wT: make([]float64, maxW), zeros: make([]float64, maxIn), one: []float64{1}}
	if n.nTrunk > 0 {
		w.dtmp = make([]float64, maxBatch*n.layers[n.nTrunk-1].out)
	}
	return w
}

// MaxBatch returns the largest batch the workspace accepts.
func (w *Workspace) MaxBatch() int { return w.max }

// input returns the input of layer j for the current batch.
func (w *Workspace) input(j int) []float64 {
	nt, np := w.net.nTrunk, w.net.nPi
	if j == 0 || ((j == nt || j == nt+np) && nt == 0) {
		return w.x0
	}
	if j == nt || j == nt+np {
		return w.acts[nt-1]
	}
	return w.acts[j-1]
}

// Forward runs the network on n observations (row-major n×ObsSize, already
// normalised). Results are available from Logits and Values until the next
// call. Panics if n is outside [1, MaxBatch] or obs is too short.
func (w *Workspace) Forward(obs []float32, n int) {
	d := w.net.arch.ObsSize
	if n < 1 || n > w.max || len(obs) < n*d {
		panic(fmt.Sprintf("policy: Forward with n=%d (max %d), len(obs)=%d, obs size %d", n, w.max, len(obs), d))
	}
	w.n = n
	x0 := w.x0[:n*d]
	for i, v := range obs[:n*d] {
		x0[i] = float64(v)
	}
	for j := range w.net.layers {
		denseForward(&w.net.layers[j], w.input(j), w.acts[j], n, w.relu)
	}
}

// Logits returns the n×NumActions logits of the last Forward.
func (w *Workspace) Logits() []float64 {
	return w.acts[w.net.nTrunk+w.net.nPi-1][:w.n*w.net.arch.NumActions]
}

// Values returns the n state values of the last Forward.
func (w *Workspace) Values() []float64 {
	return w.acts[len(w.acts)-1][:w.n]
}

// Backward accumulates into the net's gradients the gradient of a loss
// whose derivatives with respect to the last Forward's logits (n×NumActions)
// and values (n) are dLogits and dValues. The inputs are not modified.
func (w *Workspace) Backward(dLogits, dValues []float64) {
	net, n := w.net, w.n
	nt, np := net.nTrunk, net.nPi
	if len(dLogits) < n*net.arch.NumActions || len(dValues) < n {
		panic(fmt.Sprintf("policy: Backward with %d logit and %d value gradients for batch %d", len(dLogits), len(dValues), n))
	}
	var dTrunk []float64
	if nt > 0 {
		dTrunk = w.dz[nt-1]
	}
	towers := [2]struct {
		first, last int
		seed        []float64
		dTop        []float64
	}{
		{nt, nt + np - 1, dLogits, dTrunk},
		{nt + np, len(net.layers) - 1, dValues, w.dtmp},
	}
	for _, t := range towers {
		copy(w.dz[t.last], t.seed[:n*net.layers[t.last].out])
		for j := t.last; j >= t.first; j-- {
			l := &net.layers[j]
			dz := w.dz[j][:n*l.out]
			if l.act {
				activationGrad(w.acts[j], dz, w.relu)
			}
			var dx []float64
			switch {
			case j > t.first:
				dx = w.dz[j-1]
			case nt > 0:
				dx = t.dTop
			}
			denseBackward(l, w.input(j), dz, dx, n, &w.sc)
		}
	}
	if nt == 0 {
		return
	}
	dt := dTrunk[:n*net.layers[nt-1].out]
	for i, v := range w.dtmp[:len(dt)] {
		dt[i] += v
	}
	for j := nt - 1; j >= 0; j-- {
		l := &net.layers[j]
		dz := w.dz[j][:n*l.out]
		activationGrad(w.acts[j], dz, w.relu)
		var dx []float64
		if j > 0 {
			dx = w.dz[j-1]
		}
		denseBackward(l, w.input(j), dz, dx, n, &w.sc)
	}
}
