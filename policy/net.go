package policy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// ErrParams reports a parameter vector of the wrong length or with
// non-finite values.
var ErrParams = errors.New("policy: invalid parameters")

// Init gains from the PPO reference implementations (REFERENCE.md, "PPO
// details that matter"): orthogonal weights scaled by sqrt(2) in hidden
// layers, 0.01 for the policy head and 1 for the value head; zero biases.
const (
	gainHidden = math.Sqrt2
	gainPolicy = 0.01
	gainValue  = 1.0
)

// layer is a dense layer whose weights and gradients are views into the
// net's flat vectors. W is stored input-major (in×out, row i holds the
// weights from input i to every output), followed by the out biases.
type layer struct {
	layerShape
	w, b   []float64
	gw, gb []float64
}

// Net is an actor-critic MLP whose parameters live in one contiguous
// []float64 and whose gradients live in another of the same length.
//
// Parameter layout: layers in the order trunk, policy, value (see Arch);
// each layer is its in×out weight matrix (input-major) then its biases.
//
// A Net is not safe for concurrent use; Workspaces and Inferences built from
// it read its parameters and write its gradients.
type Net struct {
	arch   Arch
	params []float64
	grads  []float64
	layers []layer
	// nTrunk and nPi split layers into trunk, policy and value towers.
	nTrunk, nPi int
}

// New builds a network with orthogonal initialisation drawn from rng.
func New(arch Arch, rng *rand.Rand) (*Net, error) {
	n, err := newZero(arch)
	if err != nil {
		return nil, err
	}
	for li := range n.layers {
		l := &n.layers[li]
		gain := gainHidden
		if !l.act {
			gain = gainPolicy
			if li == len(n.layers)-1 {
				gain = gainValue
			}
		}
		orthogonal(l.w, l.in, l.out, gain, rng)
	}
	return n, nil
}

// NewFromParams builds a network with the given parameters (copied).
func NewFromParams(arch Arch, params []float64) (*Net, error) {
	n, err := newZero(arch)
	if err != nil {
		return nil, err
	}
	if err := n.SetParams(params); err != nil {
		return nil, err
	}
	return n, nil
}

func newZero(arch Arch) (*Net, error) {
	if err := arch.Validate(); err != nil {
		return nil, fmt.Errorf("new net: %w", err)
	}
	arch = arch.clone()
	np := arch.NumParams()
	n := &Net{arch: arch, params: make([]float64, np), grads: make([]float64, np)}
	n.nTrunk, n.nPi, _ = arch.towerSizes()
	off := 0
	for _, s := range arch.layerShapes() {
		nw := s.in * s.out
		l := layer{layerShape: s}
		l.w, l.gw = n.params[off:off+nw:off+nw], n.grads[off:off+nw:off+nw]
		off += nw
		l.b, l.gb = n.params[off:off+s.out:off+s.out], n.grads[off:off+s.out:off+s.out]
		off += s.out
		n.layers = append(n.layers, l)
	}
	return n, nil
}

// orthogonal fills w (in×out) with a gain-scaled (semi-)orthogonal matrix
// from the QR decomposition of a Gaussian matrix, signs fixed by R's
// diagonal so the distribution is uniform (Saxe et al. 2013).
func orthogonal(w []float64, in, out int, gain float64, rng *rand.Rand) {
	rows, cols := in, out
	if rows < cols {
		rows, cols = cols, rows
	}
	g := mat.NewDense(rows, cols, nil)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := q.At(i, j) * gain
			if r.At(j, j) < 0 {
				v = -v
			}
			if in >= out {
				w[i*out+j] = v
			} else {
				w[j*out+i] = v
			}
		}
	}
}

// Arch returns a copy of the architecture.
func (n *Net) Arch() Arch { return n.arch.clone() }

// NumParams returns the length of Params.
func (n *Net) NumParams() int { return len(n.params) }

// Params returns the live parameter vector. Writes change the network.
func (n *Net) Params() []float64 { return n.params }

// Grads returns the live gradient vector, accumulated by Workspace.Backward.
func (n *Net) Grads() []float64 { return n.grads }

// ZeroGrads clears the gradient vector.
func (n *Net) ZeroGrads() { clear(n.grads) }

// SetParams copies p into the network after checking its length and that
// every value is finite; on error the network is unchanged.
func (n *Net) SetParams(p []float64) error {
	if len(p) != len(n.params) {
		return fmt.Errorf("%w: length %d, want %d", ErrParams, len(p), len(n.params))
	}
	for i, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: params[%d] = %v", ErrParams, i, v)
		}
	}
	copy(n.params, p)
	return nil
}

// Clone returns a deep copy with zero gradients.
func (n *Net) Clone() *Net {
	c, err := NewFromParams(n.arch, n.params)
	if err != nil {
		panic(fmt.Sprintf("policy: clone of a valid net failed: %v", err))
	}
	return c
}
