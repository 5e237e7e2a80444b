package actor

// obsStats accumulates Welford statistics of raw observations over one
// rollout; the learner merges them into its normaliser (Chan et al.).
type obsStats struct {
	count float64
	mean  []float64
	m2    []float64
}

func newObsStats(d int) *obsStats {
	return &obsStats{mean: make([]float64, d), m2: make([]float64, d)}
}

func (s *obsStats) reset() {
	s.count = 0
	clear(s.mean)
	clear(s.m2)
}

// add folds n rows of raw observations (row-major, n×d) into the
// statistics.
func (s *obsStats) add(rows []float32, n int) {
	d := len(s.mean)
	for r := 0; r < n; r++ {
		s.count++
		inv := 1 / s.count
		row := rows[r*d : r*d+d]
		for i, x := range row {
			v := float64(x)
			delta := v - s.mean[i]
			s.mean[i] += delta * inv
			s.m2[i] += delta * (v - s.mean[i])
		}
	}
}
