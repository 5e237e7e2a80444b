package policy

import (
	"errors"
	"fmt"
	"math"
)

// ErrNormalizer reports invalid normaliser state.
var ErrNormalizer = errors.New("policy: invalid normalizer state")

// Normaliser defaults, as in Stable-Baselines3's VecNormalize.
const (
	// DefaultNormClip bounds normalised observations to [-10, 10].
	DefaultNormClip = 10.0
	// DefaultNormEps is added to the variance before the square root.
	DefaultNormEps = 1e-8
	// normInitCount is the pseudo-count of the initial (mean 0, variance
	// 1) statistics, so the first normalisations are near identity.
	normInitCount = 1e-4
)

// NormalizerState is the plain-data state of a Normalizer, for the wire,
// snapshots and checkpoints.
type NormalizerState struct {
	// Count is the (pseudo-)number of observations seen (> 0).
	Count float64 `msgpack:"count" json:"count"`
	// Mean is the running mean per observation element.
	Mean []float64 `msgpack:"mean" json:"mean"`
	// M2 is the running sum of squared deviations per element
	// (variance = M2/Count).
	M2 []float64 `msgpack:"m2" json:"m2"`
	// Clip bounds normalised values to [-Clip, Clip] (> 0).
	Clip float64 `msgpack:"clip" json:"clip"`
	// Eps is added to the variance before the square root (> 0).
	Eps float64 `msgpack:"eps" json:"eps"`
	// Disabled marks an identity normaliser: observations pass through
	// unchanged and updates are ignored.
	Disabled bool `msgpack:"disabled" json:"disabled"`
}

// Validate checks shapes and finiteness against the observation size.
func (s NormalizerState) Validate(size int) error {
	switch {
	case len(s.Mean) != size || len(s.M2) != size:
		return fmt.Errorf("%w: mean/m2 lengths %d/%d, want %d", ErrNormalizer, len(s.Mean), len(s.M2), size)
	case !(s.Count > 0) || math.IsInf(s.Count, 0):
		return fmt.Errorf("%w: count %v", ErrNormalizer, s.Count)
	case !(s.Clip > 0) || !(s.Eps > 0) || math.IsInf(s.Clip, 0):
		return fmt.Errorf("%w: clip %v eps %v", ErrNormalizer, s.Clip, s.Eps)
	}
	for i := range s.Mean {
		if !finite(s.Mean[i]) || !finite(s.M2[i]) || s.M2[i] < 0 {
			return fmt.Errorf("%w: element %d mean %v m2 %v", ErrNormalizer, i, s.Mean[i], s.M2[i])
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Normalizer keeps running per-element mean and variance of observations
// (a Welford, merged with the parallel algorithm of Chan et al.) and maps
// raw observations to clip((x-mean)/sqrt(var+eps)), rounded to float32
// since the network consumes float32 inputs. Not safe for concurrent use.
type Normalizer struct {
	stats    Welford
	clip     float64
	eps      float64
	disabled bool
	scale    []float64 // 1/sqrt(var+eps), refreshed on every change
	batch    Welford   // scratch for Update
}

// NewNormalizer returns a normaliser for observations of the given size,
// starting at mean 0 and variance 1 with a tiny pseudo-count.
func NewNormalizer(size int) *Normalizer {
	z := &Normalizer{stats: NewWelford(size), clip: DefaultNormClip, eps: DefaultNormEps}
	z.stats.Count = normInitCount
	for i := range z.stats.M2 {
		z.stats.M2[i] = normInitCount
	}
	z.alloc()
	z.refresh()
	return z
}

// NewIdentityNormalizer returns a normaliser that passes observations
// through unchanged (except for float32 rounding) and ignores updates: for
// training without observation normalisation.
func NewIdentityNormalizer(size int) *Normalizer {
	z := NewNormalizer(size)
	z.disabled = true
	z.refresh()
	return z
}

func (z *Normalizer) alloc() {
	n := z.stats.Size()
	z.scale, z.batch = make([]float64, n), NewWelford(n)
}

func (z *Normalizer) refresh() {
	if z.disabled {
		for i := range z.scale {
			z.scale[i] = 1
		}
		return
	}
	for i, m2 := range z.stats.M2 {
		z.scale[i] = 1 / math.Sqrt(m2/z.stats.Count+z.eps)
	}
}

// Size returns the observation length.
func (z *Normalizer) Size() int { return z.stats.Size() }

// Count returns the number of observations merged so far.
func (z *Normalizer) Count() float64 { return z.stats.Count }

// Update merges the statistics of n raw observations (row-major n×Size).
// It allocates nothing.
func (z *Normalizer) Update(raw []float32, n int) {
	if z.disabled || n < 1 {
		return
	}
	z.batch.Reset()
	z.batch.Add(raw, n)
	z.Merge(z.batch.Count, z.batch.Mean, z.batch.M2)
}

// Merge folds in statistics of count observations with per-element mean and
// sum of squared deviations m2 (Chan et al. parallel algorithm), as sent by
// actors. Non-positive counts are ignored; the caller validates shapes. It
// allocates nothing.
func (z *Normalizer) Merge(count float64, mean, m2 []float64) {
	if z.disabled || !(count > 0) {
		return
	}
	z.stats.Merge(count, mean, m2)
	z.refresh()
}

// Normalize writes the normalised, clipped, float32-rounded form of raw into
// out (same length, a multiple of Size). It allocates nothing.
func (z *Normalizer) Normalize(raw []float32, out []float32) {
	d := z.stats.Size()
	mean, scale, clip := z.stats.Mean, z.scale, z.clip
	if z.disabled {
		copy(out, raw)
		return
	}
	for s := 0; s+d <= len(raw); s += d {
		r, o := raw[s:s+d], out[s:s+d]
		for i, v := range r {
			x := (float64(v) - mean[i]) * scale[i]
			if x > clip {
				x = clip
			} else if x < -clip {
				x = -clip
			}
			o[i] = float32(x)
		}
	}
}

// Snapshot returns a deep copy of the state.
func (z *Normalizer) Snapshot() NormalizerState {
	return NormalizerState{Count: z.stats.Count, Mean: append([]float64(nil), z.stats.Mean...),
		M2: append([]float64(nil), z.stats.M2...), Clip: z.clip, Eps: z.eps, Disabled: z.disabled}
}

// Restore replaces the state with a validated copy of s.
func (z *Normalizer) Restore(s NormalizerState) error {
	if err := s.Validate(z.stats.Size()); err != nil {
		return fmt.Errorf("restore normalizer: %w", err)
	}
	z.stats.Count = s.Count
	copy(z.stats.Mean, s.Mean)
	copy(z.stats.M2, s.M2)
	z.clip, z.eps, z.disabled = s.Clip, s.Eps, s.Disabled
	z.refresh()
	return nil
}

// NormalizerFromState builds a normaliser from validated state.
func NormalizerFromState(s NormalizerState) (*Normalizer, error) {
	z := NewNormalizer(len(s.Mean))
	if err := z.Restore(s); err != nil {
		return nil, err
	}
	return z, nil
}

// Clone returns an independent copy.
func (z *Normalizer) Clone() *Normalizer {
	c := &Normalizer{stats: NewWelford(z.stats.Size()), clip: z.clip, eps: z.eps, disabled: z.disabled}
	c.stats.Count = z.stats.Count
	copy(c.stats.Mean, z.stats.Mean)
	copy(c.stats.M2, z.stats.M2)
	c.alloc()
	copy(c.scale, z.scale)
	return c
}
