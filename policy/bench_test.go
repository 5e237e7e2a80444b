package policy

import (
	"fmt"
	"testing"
)

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

// netMACs returns the multiply-adds per sample of a forward and backward
// pass (weight, bias and input gradients; none for the input layer).
func netMACs(net *Net) int {
	m := 0
	for _, l := range net.layers {
		m += 2*l.in*l.out + l.out // forward, weight gradient, bias gradient
		if l.wT != nil {
			m += l.in * l.out // input gradient
		}
	}
	return m
}

// BenchmarkNetPass measures a forward and backward pass of make run's
// network (obs 52, 17 actions, two 2x64 tanh towers) on one core, per
// kernel path, and reports GFLOP/s counting 2 flops per multiply-add of
// the dense layers (activations and the softmax are extra work). This
// machine's peak, float32: 2 FMA pipes x 16 lanes x 2 flops x 2.6 GHz =
// 166 GFLOP/s per core.
func BenchmarkNetPass(b *testing.B) {
	saved := kernelPath
	defer func() { kernelPath = saved }()
	for _, path := range AvailableKernels() {
		for _, batch := range []int{16, 64} {
			b.Run(fmt.Sprintf("%s/batch=%d", path, batch), func(b *testing.B) {
				if err := SetKernels(path); err != nil {
					b.Fatal(err)
				}
				net, _ := New(DefaultArch(52, 17), testRNG(32))
				ws := net.NewWorkspace(batch)
				obs := randObs(testRNG(33), batch, 52)
				dl, dv := randF32(batch*17, 0.1, 34), randF32(batch, 0.1, 35)
				b.ReportAllocs()
				for b.Loop() {
					ws.Forward(obs, batch)
					ws.Backward(dl, dv)
				}
				flops := 2 * float64(netMACs(net)) * float64(batch) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

// BenchmarkDense measures the three products of one 64x64 layer on a
// shard of 64 samples: forward (y = xW + b, 4x6 register blocks of 16
// lanes), weight gradient (Xᵀ·dZ) and input gradient (dZ·Wᵀ).
func BenchmarkDense(b *testing.B) {
	const n, in, out = 64, 64, 64
	x, dz, w, bias := randF32(n*in, 1, 1), randF32(n*out, 1, 2), randF32(in*out, 1, 3), randF32(out, 1, 4)
	y, gw, dx := make([]float32, n*out), make([]float32, in*out), make([]float32, n*in)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"forward", func() { gemm(n, out, in, x, in, 1, w, out, y, out, bias) }},
		{"weightgrad", func() { gemm(in, out, n, x, 1, in, dz, out, gw, out, nil) }},
		{"inputgrad", func() { gemm(n, in, out, dz, out, 1, w, in, dx, in, nil) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(2*n*in*out*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkAdamStep measures one optimiser step over make run's network
// (16,274 parameters): Adam on the float64 master, the float32 copy and
// the transposed weights the input gradients read.
func BenchmarkAdamStep(b *testing.B) {
	net, _ := New(DefaultArch(52, 17), testRNG(36))
	n := net.NumParams()
	m, v, g := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range g {
		g[i] = float64(i%7) * 1e-3
	}
	c := AdamCoefs{Beta1: 0.9, Beta2: 0.999, Scale: 1, StepSize: 1e-4, SqrtC2: 0.1, Eps: 1e-5}
	b.Run("adam+sync", func(b *testing.B) {
		for b.Loop() {
			net.AdamStep(0, n, m, v, g, c)
		}
	})
	b.Run("transpose", func(b *testing.B) {
		for b.Loop() {
			net.syncTransposed(0, n)
		}
	})
}
