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
// (float64, merged with the parallel algorithm of Chan et al.) and maps raw
// observations to clip((x-mean)/sqrt(var+eps)), rounded to float32 since the
// network consumes float32 inputs. Not safe for concurrent use.
type Normalizer struct {
	st    NormalizerState
	scale []float64 // 1/sqrt(var+eps), refreshed on every change
	bmean []float64 // scratch for Update
	bm2   []float64
}

// NewNormalizer returns a normaliser for observations of the given size,
// starting at mean 0 and variance 1 with a tiny pseudo-count.
func NewNormalizer(size int) *Normalizer {
	st := NormalizerState{Count: normInitCount, Mean: make([]float64, size), M2: make([]float64, size),
		Clip: DefaultNormClip, Eps: DefaultNormEps}
	for i := range st.M2 {
		st.M2[i] = normInitCount
	}
	z := &Normalizer{st: st}
	z.alloc()
	z.refresh()
	return z
}

// NewIdentityNormalizer returns a normaliser that passes observations
// through unchanged (except for float32 rounding) and ignores updates: for
// training without observation normalisation.
func NewIdentityNormalizer(size int) *Normalizer {
	z := NewNormalizer(size)
	z.st.Disabled = true
	z.refresh()
	return z
}

func (z *Normalizer) alloc() {
	n := len(z.st.Mean)
	z.scale, z.bmean, z.bm2 = make([]float64, n), make([]float64, n), make([]float64, n)
}

func (z *Normalizer) refresh() {
	if z.st.Disabled {
		for i := range z.scale {
			z.scale[i] = 1
		}
		return
	}
	for i, m2 := range z.st.M2 {
		z.scale[i] = 1 / math.Sqrt(m2/z.st.Count+z.st.Eps)
	}
}

// Size returns the observation length.
func (z *Normalizer) Size() int { return len(z.st.Mean) }

// Count returns the number of observations merged so far.
func (z *Normalizer) Count() float64 { return z.st.Count }

// Update merges the statistics of n raw observations (row-major n×Size).
func (z *Normalizer) Update(raw []float32, n int) {
	if z.st.Disabled || n < 1 {
		return
	}
	d := len(z.st.Mean)
	clear(z.bmean)
	clear(z.bm2)
	for s := 0; s < n; s++ {
		row := raw[s*d : s*d+d]
		c := float64(s + 1)
		for i, v := range row {
			delta := float64(v) - z.bmean[i]
			z.bmean[i] += delta / c
			z.bm2[i] += delta * (float64(v) - z.bmean[i])
		}
	}
	z.Merge(float64(n), z.bmean, z.bm2)
}

// Merge folds in statistics of count observations with per-element mean and
// sum of squared deviations m2 (Chan et al. parallel algorithm), as sent by
// actors. Non-positive counts are ignored; the caller validates shapes.
func (z *Normalizer) Merge(count float64, mean, m2 []float64) {
	if z.st.Disabled || !(count > 0) {
		return
	}
	na := z.st.Count
	tot := na + count
	for i := range z.st.Mean {
		delta := mean[i] - z.st.Mean[i]
		z.st.Mean[i] += delta * count / tot
		z.st.M2[i] += m2[i] + delta*delta*na*count/tot
	}
	z.st.Count = tot
	z.refresh()
}

// Normalize writes the normalised, clipped, float32-rounded form of raw into
// out (same length, a multiple of Size). It allocates nothing.
func (z *Normalizer) Normalize(raw []float32, out []float32) {
	d := len(z.st.Mean)
	mean, scale, clip := z.st.Mean, z.scale, z.st.Clip
	if z.st.Disabled {
		for i, v := range raw {
			out[i] = v
		}
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
	s := z.st
	s.Mean = append([]float64(nil), s.Mean...)
	s.M2 = append([]float64(nil), s.M2...)
	return s
}

// Restore replaces the state with a validated copy of s.
func (z *Normalizer) Restore(s NormalizerState) error {
	if err := s.Validate(len(z.st.Mean)); err != nil {
		return fmt.Errorf("restore normalizer: %w", err)
	}
	z.st = s
	z.st.Mean = append([]float64(nil), s.Mean...)
	z.st.M2 = append([]float64(nil), s.M2...)
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
	c := &Normalizer{st: z.Snapshot()}
	c.alloc()
	copy(c.scale, z.scale)
	return c
}
