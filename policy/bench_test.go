package policy

import "testing"

var sinkF64 float64

// BenchmarkInference measures Act at batch 64 for the reference shape:
// obs 20, two separate 2x64 tanh networks, 7 actions.
func BenchmarkInference(b *testing.B) {
	for _, batch := range []int{1, 8, 64} {
		b.Run(map[int]string{1: "batch1", 8: "batch8", 64: "batch64"}[batch], func(b *testing.B) {
			net, _ := New(DefaultArch(20, 7), testRNG(30))
			inf := net.NewInference(batch)
			rng := testRNG(31)
			obs := randObs(rng, batch, 20)
			acts := make([]int, batch)
			lp, v := make([]float64, batch), make([]float64, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				inf.Act(obs, batch, rng, false, acts, lp, v)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "obs/s")
			sinkF64 = lp[0]
		})
	}
}

var sinkTanh float32

// BenchmarkTanh: the scalar tanh32 in a dependent chain, and the vector
// path on a hidden layer's 64 outputs for a minibatch of 256.
func BenchmarkTanh(b *testing.B) {
	b.Run("scalar", func(b *testing.B) {
		x := float32(0)
		for i := 0; i < b.N; i++ {
			sinkTanh += tanh32(x)
			x += 1e-3
		}
	})
	b.Run("slice16k", func(b *testing.B) {
		x := randF32(256*64, 2, 1)
		b.SetBytes(int64(4 * len(x)))
		for i := 0; i < b.N; i++ {
			tanhSlice(x)
			x[0] = float32(i)
		}
		b.ReportMetric(float64(b.N*len(x))/b.Elapsed().Seconds()/1e9, "Gtanh/s")
	})
}
