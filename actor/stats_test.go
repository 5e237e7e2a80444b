package actor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestObsStatsMatchesTwoPass(t *testing.T) {
	const n, d = 500, 3
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]float32, n*d)
	for i := range rows {
		rows[i] = float32(rng.NormFloat64()*3 + float64(i%d))
	}
	s := newObsStats(d)
	s.add(rows[:100*d], 100)
	s.add(rows[100*d:], n-100)
	for j := 0; j < d; j++ {
		var mean, m2 float64
		for r := 0; r < n; r++ {
			mean += float64(rows[r*d+j])
		}
		mean /= n
		for r := 0; r < n; r++ {
			dv := float64(rows[r*d+j]) - mean
			m2 += dv * dv
		}
		if math.Abs(s.mean[j]-mean) > 1e-9 || math.Abs(s.m2[j]-m2)/m2 > 1e-9 {
			t.Fatalf("feature %d: got mean %v m2 %v, want %v %v", j, s.mean[j], s.m2[j], mean, m2)
		}
	}
	if s.count != n {
		t.Fatalf("count %v, want %d", s.count, n)
	}
	s.reset()
	if s.count != 0 || s.mean[0] != 0 || s.m2[0] != 0 {
		t.Fatal("reset left state behind")
	}
}
