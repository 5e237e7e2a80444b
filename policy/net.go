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

// layer is a dense layer. W is stored input-major (in×out, row i holds
// the weights from input i to every output), followed by the out biases,
// at offset off of the flat vectors. w and b are views into the float32
// copy the network computes with; wT is the out×in transpose of w, which
// the input gradient reads row by row (nil for layers reading the
// observation, whose input gradient nobody needs).
type layer struct {
	layerShape
	off  int
	w, b []float32
	wT   []float32
}

// Net is an actor-critic MLP. Its parameters live in one contiguous
// []float64, the master copy an optimiser updates and checkpoints store;
// the network computes in float32 with those parameters rounded to
// nearest (see the README, "Precision"). Gradients are computed into
// Workspaces.
//
// Parameter layout: layers in the order trunk, policy, value (see Arch);
// each layer is its in×out weight matrix (input-major) then its biases.
//
// A Net is not safe for concurrent modification; any number of
// Workspaces and Inferences may compute with it at once while nothing
// changes its parameters.
type Net struct {
	arch   Arch
	params []float64 // master parameters
	p32    []float32 // params rounded to float32, same layout
	t32    []float32 // every layer's transposed weights
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
		orthogonal(n.params[l.off:l.off+l.in*l.out], l.in, l.out, gain, rng)
	}
	n.SyncParams()
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
	n := &Net{arch: arch, params: make([]float64, np), p32: make([]float32, np), t32: make([]float32, np)}
	n.nTrunk, n.nPi, _ = arch.towerSizes()
	off := 0
	for j, s := range arch.layerShapes() {
		nw := s.in * s.out
		l := layer{layerShape: s, off: off}
		l.w = n.p32[off : off+nw : off+nw]
		if j != 0 && (n.nTrunk > 0 || j != n.nPi) {
			// The input gradient of layers not reading the observation
			// reads the weights transposed.
			l.wT = n.t32[off : off+nw : off+nw]
		}
		l.b = n.p32[off+nw : off+nw+s.out : off+nw+s.out]
		off += nw + s.out
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

// Params returns the live master parameter vector. The network computes
// with the float32 copy: after writing to Params call SyncParams (or
// SyncParamRange for the part written) before the next forward pass.
func (n *Net) Params() []float64 { return n.params }

// SyncParams refreshes the float32 copy the network computes with from
// Params.
func (n *Net) SyncParams() { n.SyncParamRange(0, len(n.params)) }

// SyncParamRange refreshes the float32 copy of Params()[lo:hi]. Calls on
// disjoint ranges may run concurrently.
func (n *Net) SyncParamRange(lo, hi int) {
	if lo < 0 || hi > len(n.params) || lo > hi {
		panic(fmt.Sprintf("policy: SyncParamRange(%d, %d) of %d parameters", lo, hi, len(n.params)))
	}
	narrow(n.p32[lo:hi], n.params[lo:hi])
	n.syncTransposed(lo, hi)
}

// SyncTransposed refreshes the transposed copies of the weights (which
// the input gradients read) from the float32 weights, after
// AdamStepPart.
func (n *Net) SyncTransposed() { n.syncTransposed(0, len(n.params)) }

// syncTransposed copies the float32 weights in [lo, hi) into the
// transposed copies of the layers that have one.
func (n *Net) syncTransposed(lo, hi int) {
	for li := range n.layers {
		l := &n.layers[li]
		if l.wT == nil {
			continue
		}
		a, b := max(lo, l.off)-l.off, min(hi, l.off+l.in*l.out)-l.off
		if a >= b {
			continue
		}
		in, out := l.in, l.out
		for i := a / out; i*out < b; i++ {
			row := l.w[i*out : i*out+out]
			o0, o1 := max(a-i*out, 0), min(b-i*out, out)
			wT := l.wT[i:]
			for o := o0; o < o1; o++ {
				wT[o*in] = row[o]
			}
		}
	}
}

// SetParams copies p into the network after checking its length and that
// every value is finite in float32 (|v| <= math.MaxFloat32); on error the
// network is unchanged.
func (n *Net) SetParams(p []float64) error {
	if len(p) != len(n.params) {
		return fmt.Errorf("%w: length %d, want %d", ErrParams, len(p), len(n.params))
	}
	for i, v := range p {
		if !(math.Abs(v) <= math.MaxFloat32) {
			return fmt.Errorf("%w: params[%d] = %v", ErrParams, i, v)
		}
	}
	copy(n.params, p)
	n.SyncParams()
	return nil
}

// Clone returns a deep copy.
func (n *Net) Clone() *Net {
	c, err := NewFromParams(n.arch, n.params)
	if err != nil {
		panic(fmt.Sprintf("policy: clone of a valid net failed: %v", err))
	}
	return c
}
