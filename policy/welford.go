package policy

// Welford holds running per-element statistics of observation rows: the
// number of rows seen, the mean of each element and the sum of squared
// deviations from that mean (M2; the population variance is M2/Count).
// Add folds rows in one at a time (Welford 1962); Merge folds in the
// statistics of another set of rows with the parallel formula of Chan,
// Golub and LeVeque (1979), so an actor's statistics of one rollout and
// the learner's running statistics combine exactly as if every row had
// been added to one Welford. It is the one implementation of these
// statistics: the actor accumulates one per rollout, the Normalizer keeps
// its running state in one.
//
// Mean and M2 have one entry per observation element and are owned by the
// Welford; Add, Merge and Reset allocate nothing. Statistics are float64
// even though observations are float32, so that millions of rows do not
// lose precision. Not safe for concurrent use.
type Welford struct {
	// Count is the number of rows seen (a pseudo-count may be fractional).
	Count float64
	// Mean is the running mean per element.
	Mean []float64
	// M2 is the running sum of squared deviations per element.
	M2 []float64
}

// NewWelford returns empty statistics for rows of size elements.
func NewWelford(size int) Welford {
	return Welford{Mean: make([]float64, size), M2: make([]float64, size)}
}

// Size returns the number of elements per row.
func (w *Welford) Size() int { return len(w.Mean) }

// Reset forgets every row, keeping the buffers.
func (w *Welford) Reset() {
	w.Count = 0
	clear(w.Mean)
	clear(w.M2)
}

// Add folds n rows of raw observations (row-major, n×Size) into the
// statistics. raw must hold at least n×Size values.
func (w *Welford) Add(raw []float32, n int) {
	d := len(w.Mean)
	mean, m2 := w.Mean, w.M2
	for r := 0; r < n; r++ {
		w.Count++
		inv := 1 / w.Count
		row := raw[r*d : r*d+d]
		for i, x := range row {
			v := float64(x)
			delta := v - mean[i]
			mean[i] += delta * inv
			m2[i] += delta * (v - mean[i])
		}
	}
}

// Merge folds in the statistics of count rows with per-element mean and
// sum of squared deviations m2 (Chan et al.). A non-positive (or NaN)
// count is ignored; mean and m2 must have Size entries (the caller
// validates input from the wire).
func (w *Welford) Merge(count float64, mean, m2 []float64) {
	if !(count > 0) {
		return
	}
	na := w.Count
	tot := na + count
	wa, wb := count/tot, na*count/tot
	for i := range w.Mean {
		delta := mean[i] - w.Mean[i]
		w.Mean[i] += delta * wa
		w.M2[i] += m2[i] + delta*delta*wb
	}
	w.Count = tot
}
