package policy

import "fmt"

// Workspace holds the buffers of a batched forward and backward pass of a
// Net for up to MaxBatch samples, including a gradient vector of its own.
// It is not safe for concurrent use; several Workspaces of one Net may
// work at once (one per goroutine) while the parameters stay unchanged.
type Workspace struct {
	net   *Net
	max   int
	n     int
	relu  bool
	x0    []float32   // the input of the last Forward (the caller's)
	acts  [][]float32 // per layer, max × out: layer outputs after activation
	dz    [][]float32 // per layer, max × out: gradients
	dtmp  []float32   // max × trunk width: value tower's trunk gradient
	grads []float32   // NumParams: the gradient of the last Backward
	gw    [][]float32 // per layer: views into grads
	gb    [][]float32
}

// NewWorkspace allocates a workspace for batches of up to maxBatch samples.
func (n *Net) NewWorkspace(maxBatch int) *Workspace {
	if maxBatch < 1 {
		panic(fmt.Sprintf("policy: NewWorkspace(%d): maxBatch must be >= 1", maxBatch))
	}
	w := &Workspace{net: n, max: maxBatch, relu: n.arch.Activation == ActivationReLU,
		grads: make([]float32, len(n.params))}
	for _, l := range n.layers {
		w.acts = append(w.acts, make([]float32, maxBatch*l.out))
		w.dz = append(w.dz, make([]float32, maxBatch*l.out))
		nw := l.in * l.out
		w.gw = append(w.gw, w.grads[l.off:l.off+nw:l.off+nw])
		w.gb = append(w.gb, w.grads[l.off+nw:l.off+nw+l.out:l.off+nw+l.out])
	}
	if n.nTrunk > 0 {
		w.dtmp = make([]float32, maxBatch*n.layers[n.nTrunk-1].out)
	}
	return w
}

// MaxBatch returns the largest batch the workspace accepts.
func (w *Workspace) MaxBatch() int { return w.max }

// input returns the input of layer j for the current batch.
func (w *Workspace) input(j int) []float32 {
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
// normalised). obs must not change until Backward has run. Results are
// available from Logits and Values until the next call. Panics if n is
// outside [1, MaxBatch] or obs is too short.
func (w *Workspace) Forward(obs []float32, n int) {
	d := w.net.arch.ObsSize
	if n < 1 || n > w.max || len(obs) < n*d {
		panic(fmt.Sprintf("policy: Forward with n=%d (max %d), len(obs)=%d, obs size %d", n, w.max, len(obs), d))
	}
	w.n = n
	w.x0 = obs[:n*d]
	for j := range w.net.layers {
		denseForward(&w.net.layers[j], w.input(j), w.acts[j], n, w.relu)
	}
}

// Logits returns the n×NumActions logits of the last Forward.
func (w *Workspace) Logits() []float32 {
	return w.acts[w.net.nTrunk+w.net.nPi-1][:w.n*w.net.arch.NumActions]
}

// Values returns the n state values of the last Forward.
func (w *Workspace) Values() []float32 {
	return w.acts[len(w.acts)-1][:w.n]
}

// Grads returns the gradient vector written by the last Backward, in the
// layout of Net.Params.
func (w *Workspace) Grads() []float32 { return w.grads }

// Backward writes into Grads the gradient, summed over the last Forward's
// samples in sample order, of a loss whose derivatives with respect to
// that Forward's logits (n×NumActions) and values (n) are dLogits and
// dValues. Every element of Grads is overwritten; the inputs are not
// modified.
func (w *Workspace) Backward(dLogits, dValues []float32) {
	net, n := w.net, w.n
	nt, np := net.nTrunk, net.nPi
	if len(dLogits) < n*net.arch.NumActions || len(dValues) < n {
		panic(fmt.Sprintf("policy: Backward with %d logit and %d value gradients for batch %d", len(dLogits), len(dValues), n))
	}
	var dTrunk []float32
	if nt > 0 {
		dTrunk = w.dz[nt-1]
	}
	towers := [2]struct {
		first, last int
		seed        []float32
		dTop        []float32
	}{
		{nt, nt + np - 1, dLogits, dTrunk},
		{nt + np, len(net.layers) - 1, dValues, w.dtmp},
	}
	for _, t := range towers {
		copy(w.dz[t.last], t.seed[:n*net.layers[t.last].out])
		for j := t.last; j >= t.first; j-- {
			w.layerBackward(j, t.first, t.dTop)
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
		w.layerBackward(j, 0, nil)
	}
}

// layerBackward back-propagates through layer j, whose gradient is in
// dz[j]; first is the first layer of its tower and dTop receives the
// gradient of the tower's input when the tower sits on the trunk.
func (w *Workspace) layerBackward(j, first int, dTop []float32) {
	l := &w.net.layers[j]
	dz := w.dz[j][:w.n*l.out]
	if l.act {
		activationGrad(w.acts[j], dz, w.relu)
	}
	var dx []float32
	switch {
	case j > first:
		dx = w.dz[j-1]
	case w.net.nTrunk > 0 && j == first && first > 0:
		dx = dTop
	}
	denseBackward(l, w.input(j), dz, dx, w.gw[j], w.gb[j], w.n)
}
