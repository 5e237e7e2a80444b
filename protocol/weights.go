package protocol

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"unicode/utf8"
)

// Weights is a policy snapshot: everything inference needs. It is
// broadcast on Subjects.Weights after every update, answers
// Subjects.WeightsLatest and Subjects.PolicyLatest, and is the content of
// snapshot files (WriteSnapshotFile).
type Weights struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders read versions
	// OldestWeightsVersion..SchemaVersion and set it to SchemaVersion.
	V uint16
	// Version is the policy version (number of updates applied).
	Version uint64
	// Epoch identifies the learner process that produced the weights
	// (random per start; 0 in files written by other tools). A restarted
	// learner resumes at its checkpoint's version, which may be lower than
	// the last one actors saw: a new Epoch tells them to accept it anyway.
	Epoch uint64
	// Arch describes the network the parameters belong to.
	Arch Arch
	// Params is the flat parameter vector in the policy package's layout.
	// float64 on the wire, so actors and the learner compute bitwise
	// identical log-probabilities. Finite, 1..Limits.MaxParams entries.
	Params []float64
	// Norm is the observation normaliser the policy was trained with.
	Norm Norm
	// Checksum is the CRC-32C of the content (see the protocol docs). The
	// decoder verifies it and stores it here; encoders ignore this field
	// and always write the checksum of what they encode.
	Checksum uint32
	// Run is the run name (empty, or valid for NewSubjects).
	Run string
	// CreatedUnixNano is when the snapshot was taken, in ns since 1970.
	CreatedUnixNano int64
	// Meta holds free-form metadata (env spec, scenario, update count, env
	// steps): at most MaxMetaEntries, keys 1..MaxIDLen printable ASCII,
	// values valid UTF-8 of at most Limits.MaxMetaValueLen bytes.
	Meta map[string]string
}

// Arch mirrors policy.Arch on the wire.
type Arch struct {
	// ObsSize is the observation length (>= 1).
	ObsSize int
	// NumActions is the number of discrete actions (>= 2).
	NumActions int
	// Hidden lists the hidden layer widths (each 1..MaxHiddenWidth, at
	// most MaxHiddenLayers layers).
	Hidden []int
	// Activation names the hidden activation ("tanh", "relu", ...):
	// 1..32 printable ASCII bytes.
	Activation string
	// SharedTrunk is true when the policy and value heads share layers.
	SharedTrunk bool
}

// Norm is an observation normaliser: x' = clip((x-Mean)/sqrt(Var+Epsilon),
// -Clip, Clip).
type Norm struct {
	// Count is the number of observations behind the statistics (>= 0).
	Count float64
	// Mean holds ObsSize means.
	Mean []float64
	// Var holds ObsSize variances (>= 0).
	Var []float64
	// Clip bounds normalised values (> 0).
	Clip float64
	// Epsilon is added to the variance (>= 0).
	Epsilon float64
}

// CheckShape reports (ReasonShape) weights for a different environment
// specification than want (only ObsSize and NumActions are checked).
func (w *Weights) CheckShape(want Shape) error {
	return Shape{ObsSize: want.ObsSize, NumActions: want.NumActions}.check(w.Arch.ObsSize, w.Arch.NumActions, 0, 0)
}

// Validate checks the snapshot's self-consistency against lim. It does not
// check the checksum (the decoder does) nor that len(Params) matches Arch
// (the policy package owns the layout).
func (w *Weights) Validate(lim Limits) error {
	if w.V != SchemaVersion && w.V != 0 {
		return fail(ReasonSchemaVersion, "v", "version %d, want %d", w.V, SchemaVersion)
	}
	a := &w.Arch
	if err := checkDim("arch.obs_size", a.ObsSize, 1, lim.MaxObsSize); err != nil {
		return err
	}
	if err := checkDim("arch.num_actions", a.NumActions, 2, lim.MaxActions); err != nil {
		return err
	}
	if len(a.Hidden) > MaxHiddenLayers {
		return fail(ReasonTooLarge, "arch.hidden", "%d layers > max %d", len(a.Hidden), MaxHiddenLayers)
	}
	for i, h := range a.Hidden {
		if h < 1 || h > MaxHiddenWidth {
			return fail(ReasonShape, "arch.hidden", "layer %d width %d not in [1, %d]", i, h, MaxHiddenWidth)
		}
	}
	if len(a.Activation) > 32 {
		return fail(ReasonBadValue, "arch.activation", "length %d > 32", len(a.Activation))
	}
	if err := checkActorID("arch.activation", a.Activation); err != nil {
		return fail(ReasonBadValue, "arch.activation", "%q is not 1..32 printable ASCII bytes", a.Activation)
	}
	if err := checkDim("params", len(w.Params), 1, lim.MaxParams); err != nil {
		return err
	}
	if i := firstNonFinite(w.Params); i >= 0 {
		return fail(ReasonNonFinite, "params", "index %d is %g", i, w.Params[i])
	}
	if err := w.Norm.validate(a.ObsSize); err != nil {
		return err
	}
	if w.Run != "" {
		if err := ValidateRunName(w.Run); err != nil {
			return &DecodeError{Reason: ReasonBadID, Field: "run", Err: err}
		}
	}
	if len(w.Meta) > MaxMetaEntries {
		return fail(ReasonTooLarge, "meta", "%d entries > max %d", len(w.Meta), MaxMetaEntries)
	}
	for k, v := range w.Meta {
		if err := checkActorID("meta", k); err != nil {
			return err
		}
		if len(v) > lim.MaxMetaValueLen || !utf8.ValidString(v) {
			return fail(ReasonBadValue, "meta."+k, "value of %d bytes: over %d or not UTF-8", len(v), lim.MaxMetaValueLen)
		}
	}
	return nil
}

func (n *Norm) validate(d int) error {
	scalars := [...]struct {
		name string
		v    float64
		ok   bool
	}{
		{"norm.count", n.Count, n.Count >= 0},
		{"norm.clip", n.Clip, n.Clip > 0},
		{"norm.epsilon", n.Epsilon, n.Epsilon >= 0},
	}
	for _, s := range scalars {
		if math.IsNaN(s.v) || math.IsInf(s.v, 0) {
			return fail(ReasonNonFinite, s.name, "is %g", s.v)
		}
		if !s.ok {
			return fail(ReasonBadValue, s.name, "%g out of range", s.v)
		}
	}
	for _, a := range [...]struct {
		name string
		v    []float64
	}{{"norm.mean", n.Mean}, {"norm.var", n.Var}} {
		if len(a.v) != d {
			return fail(ReasonShape, a.name, "length %d, want obs_size %d", len(a.v), d)
		}
		if i := firstNonFinite(a.v); i >= 0 {
			return fail(ReasonNonFinite, a.name, "index %d is %g", i, a.v[i])
		}
	}
	for i, v := range n.Var {
		if v < 0 {
			return fail(ReasonBadValue, "norm.var", "index %d is %g < 0", i, v)
		}
	}
	return nil
}

// checksumWeights is the CRC-32C (Castagnoli) of, in order: the version,
// obs size, number of actions, number of hidden layers, each width, the
// shared-trunk flag (each as little-endian uint64), the activation bytes,
// the norm count, clip and epsilon (float64 bits, little-endian), then the
// packed little-endian bytes of params, norm mean and norm var (each
// preceded by its byte length as little-endian uint64).
func checksumWeights(w *Weights, params, mean, variance []byte) uint32 {
	tab := crc32.MakeTable(crc32.Castagnoli)
	var buf [8]byte
	var crc uint32
	u := func(v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		crc = crc32.Update(crc, tab, buf[:])
	}
	u(w.Version)
	u(uint64(w.Arch.ObsSize))
	u(uint64(w.Arch.NumActions))
	u(uint64(len(w.Arch.Hidden)))
	for _, h := range w.Arch.Hidden {
		u(uint64(h))
	}
	if w.Arch.SharedTrunk {
		u(1)
	} else {
		u(0)
	}
	u(uint64(len(w.Arch.Activation)))
	crc = crc32.Update(crc, tab, []byte(w.Arch.Activation))
	u(math.Float64bits(w.Norm.Count))
	u(math.Float64bits(w.Norm.Clip))
	u(math.Float64bits(w.Norm.Epsilon))
	for _, p := range [...][]byte{params, mean, variance} {
		u(uint64(len(p)))
		crc = crc32.Update(crc, tab, p)
	}
	return crc
}
