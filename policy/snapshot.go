package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// ErrSnapshot reports an inconsistent policy snapshot.
var ErrSnapshot = errors.New("policy: invalid snapshot")

// Snapshot is everything inference needs: plain data, encoded by the wire
// and checkpoint code. Snapshots carry the observation-normaliser
// statistics so evaluation sees inputs exactly as training did.
type Snapshot struct {
	// Arch describes the network.
	Arch Arch `msgpack:"arch" json:"arch"`
	// Params is the flat parameter vector (len Arch.NumParams()).
	Params []float64 `msgpack:"params" json:"params"`
	// Normalizer is the observation normaliser state.
	Normalizer NormalizerState `msgpack:"normalizer" json:"normalizer"`
	// Version is the policy version (number of PPO updates applied).
	Version uint64 `msgpack:"version" json:"version"`
	// Meta holds free-form metadata (run name, env steps, ...).
	Meta map[string]string `msgpack:"meta" json:"meta,omitempty"`
}

// Validate checks the snapshot's internal consistency.
func (s *Snapshot) Validate() error {
	if err := s.Arch.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if len(s.Params) != s.Arch.NumParams() {
		return fmt.Errorf("%w: %d params, arch needs %d", ErrSnapshot, len(s.Params), s.Arch.NumParams())
	}
	if err := s.Normalizer.Validate(s.Arch.ObsSize); err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	return nil
}

// NewSnapshot copies the state of a net and its normaliser.
func NewSnapshot(n *Net, z *Normalizer, version uint64, meta map[string]string) Snapshot {
	var m map[string]string
	if meta != nil {
		m = make(map[string]string, len(meta))
		for k, v := range meta {
			m[k] = v
		}
	}
	return Snapshot{Arch: n.Arch(), Params: append([]float64(nil), n.params...), Normalizer: z.Snapshot(), Version: version, Meta: m}
}

// Agent is a trained policy behind the Policy interface: it normalises each
// raw observation with the snapshot's statistics and acts with the network.
// It is not safe for concurrent use.
type Agent struct {
	net           *Net
	norm          *Normalizer
	inf           *Inference
	rng           *rand.Rand
	deterministic bool
	version       uint64
	buf           []float32
	act           [1]int
	logp, val     [1]float64
}

var _ Policy = (*Agent)(nil)

// NewAgent builds an Agent from a snapshot. With deterministic set it takes
// the most probable action and rng may be nil; otherwise it samples with
// rng.
func NewAgent(snap Snapshot, deterministic bool, rng *rand.Rand) (*Agent, error) {
	if err := snap.Validate(); err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	if !deterministic && rng == nil {
		return nil, fmt.Errorf("new agent: %w: stochastic agent needs an rng", ErrSnapshot)
	}
	net, err := NewFromParams(snap.Arch, snap.Params)
	if err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	norm, err := NormalizerFromState(snap.Normalizer)
	if err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	return &Agent{net: net, norm: norm, inf: net.NewInference(1), rng: rng, deterministic: deterministic,
		version: snap.Version, buf: make([]float32, snap.Arch.ObsSize)}, nil
}

// Name returns "trained".
func (a *Agent) Name() string { return "trained" }

// Version returns the snapshot's policy version.
func (a *Agent) Version() uint64 { return a.version }

// Reset does nothing: the network is stateless.
func (a *Agent) Reset() {}

// Act normalises obs (length ObsSize) and returns the chosen action.
func (a *Agent) Act(obs []float32) int {
	a.norm.Normalize(obs, a.buf)
	a.inf.Act(a.buf, 1, a.rng, a.deterministic, a.act[:], a.logp[:], a.val[:])
	return a.act[0]
}

// ActValue is Act that also returns the log-probability and value.
func (a *Agent) ActValue(obs []float32) (action int, logp, value float64) {
	a.Act(obs)
	return a.act[0], a.logp[0], a.val[0]
}
