package policy

import (
	"errors"
	"fmt"
)

// ErrArch reports an invalid architecture description.
var ErrArch = errors.New("policy: invalid architecture")

// Activation names accepted by Arch.Activation.
const (
	ActivationTanh = "tanh"
	ActivationReLU = "relu"
)

// Arch describes an actor-critic MLP. The zero value is invalid; start from
// DefaultArch.
type Arch struct {
	// ObsSize is the observation length (>= 1).
	ObsSize int `yaml:"obs_size" json:"obs_size" msgpack:"obs_size"`
	// NumActions is the number of discrete actions (>= 1).
	NumActions int `yaml:"num_actions" json:"num_actions" msgpack:"num_actions"`
	// Hidden lists the hidden layer widths (each 1..4096, at most 8
	// layers). Default [64, 64].
	Hidden []int `yaml:"hidden" json:"hidden" msgpack:"hidden"`
	// Activation is "tanh" (default) or "relu".
	Activation string `yaml:"activation" json:"activation" msgpack:"activation"`
	// SharedTrunk makes the policy and value heads share the hidden layers.
	// Default false: two separate networks of the same shape.
	SharedTrunk bool `yaml:"shared_trunk" json:"shared_trunk" msgpack:"shared_trunk"`
}

// DefaultArch returns the default architecture for the given sizes: two
// separate tanh networks with hidden layers of 64.
func DefaultArch(obsSize, numActions int) Arch {
	return Arch{ObsSize: obsSize, NumActions: numActions, Hidden: []int{64, 64}, Activation: ActivationTanh}
}

// Validate reports the first invalid field, wrapping ErrArch.
func (a Arch) Validate() error {
	switch {
	case a.ObsSize < 1 || a.ObsSize > 1<<20:
		return fmt.Errorf("%w: obs_size %d out of range [1, 2^20]", ErrArch, a.ObsSize)
	case a.NumActions < 1 || a.NumActions > 1<<16:
		return fmt.Errorf("%w: num_actions %d out of range [1, 65536]", ErrArch, a.NumActions)
	case len(a.Hidden) > 8:
		return fmt.Errorf("%w: hidden has %d layers, at most 8", ErrArch, len(a.Hidden))
	case a.Activation != ActivationTanh && a.Activation != ActivationReLU:
		return fmt.Errorf("%w: activation %q, want tanh or relu", ErrArch, a.Activation)
	case a.SharedTrunk && len(a.Hidden) == 0:
		return fmt.Errorf("%w: shared_trunk needs at least one hidden layer", ErrArch)
	}
	for i, h := range a.Hidden {
		if h < 1 || h > 4096 {
			return fmt.Errorf("%w: hidden[%d] = %d out of range [1, 4096]", ErrArch, i, h)
		}
	}
	return nil
}

// NumParams returns the length of the flat parameter vector. It assumes a
// valid Arch.
func (a Arch) NumParams() int {
	n := 0
	for _, l := range a.layerShapes() {
		n += l.in*l.out + l.out
	}
	return n
}

// Equal reports whether two architectures describe the same network.
func (a Arch) Equal(b Arch) bool {
	if a.ObsSize != b.ObsSize || a.NumActions != b.NumActions || a.Activation != b.Activation ||
		a.SharedTrunk != b.SharedTrunk || len(a.Hidden) != len(b.Hidden) {
		return false
	}
	for i := range a.Hidden {
		if a.Hidden[i] != b.Hidden[i] {
			return false
		}
	}
	return true
}

// layerShape is one dense layer of the parameter layout.
type layerShape struct {
	in, out int
	act     bool // apply the hidden activation to the output
}

// layerShapes returns the layers in parameter order: trunk layers, then
// policy layers, then value layers. With SharedTrunk the trunk holds the
// hidden layers and each head is one layer; otherwise the trunk is empty and
// each of the two towers holds its own hidden layers and head.
func (a Arch) layerShapes() []layerShape {
	all := make([]layerShape, 0, 2*len(a.Hidden)+2)
	in := a.ObsSize
	if a.SharedTrunk {
		for _, h := range a.Hidden {
			all = append(all, layerShape{in: in, out: h, act: true})
			in = h
		}
		all = append(all, layerShape{in: in, out: a.NumActions}, layerShape{in: in, out: 1})
		return all
	}
	for tower := 0; tower < 2; tower++ {
		in = a.ObsSize
		for _, h := range a.Hidden {
			all = append(all, layerShape{in: in, out: h, act: true})
			in = h
		}
		out := a.NumActions
		if tower == 1 {
			out = 1
		}
		all = append(all, layerShape{in: in, out: out})
	}
	return all
}

// towerSizes returns the number of trunk, policy and value layers.
func (a Arch) towerSizes() (trunk, pi, v int) {
	if a.SharedTrunk {
		return len(a.Hidden), 1, 1
	}
	return 0, len(a.Hidden) + 1, len(a.Hidden) + 1
}

// clone returns a deep copy.
func (a Arch) clone() Arch {
	a.Hidden = append([]int(nil), a.Hidden...)
	return a
}
