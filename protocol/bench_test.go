package protocol

import (
	"fmt"
	"testing"
)

// Package-level sinks keep results alive.
var (
	sinkBytes   []byte
	sinkRollout Rollout
	sinkWeights Weights
)

// rolloutSizes are K envs x T steps x obs size d with A actions. 8x64x40
// (16 actions) is the rollout of make run (README, "Learner and actors as
// separate processes or machines"); the others have 9 actions.
var rolloutSizes = []struct{ k, t, d, a int }{{1, 128, 20, 9}, {8, 128, 20, 9}, {64, 256, 20, 9}, {8, 64, 40, 16}}

func BenchmarkEncodeRollout(b *testing.B) {
	for _, s := range rolloutSizes {
		b.Run(fmt.Sprintf("%dx%dx%d", s.k, s.t, s.d), func(b *testing.B) {
			r := testRollout(newRNG(1), s.k, s.t, s.d, s.a)
			buf := mustEncode(b, r)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = AppendRollout(buf[:0], r); err != nil {
					b.Fatal(err)
				}
			}
			sinkBytes = buf
		})
	}
}

func BenchmarkDecodeRollout(b *testing.B) {
	lim := DefaultLimits()
	for _, s := range rolloutSizes {
		b.Run(fmt.Sprintf("%dx%dx%d", s.k, s.t, s.d), func(b *testing.B) {
			data := mustEncode(b, testRollout(newRNG(1), s.k, s.t, s.d, s.a))
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := DecodeRolloutInto(&sinkRollout, data, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchWeights are weights of the size make run broadcasts: obs 40, two
// hidden layers of 64, 16 actions, separate policy and value nets.
func benchWeights(b *testing.B) (*Weights, []byte) {
	w := testWeights(newRNG(1), 40, 16)
	w.Params = make([]float64, 2*(40*64+64+64*64+64)+64*16+16+64+1)
	data, err := EncodeWeights(w, 0)
	if err != nil {
		b.Fatal(err)
	}
	return w, data
}

func BenchmarkEncodeWeights(b *testing.B) {
	w, buf := benchWeights(b)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendWeights(buf[:0], w); err != nil {
			b.Fatal(err)
		}
	}
	sinkBytes = buf
}

func BenchmarkDecodeWeights(b *testing.B) {
	_, data := benchWeights(b)
	lim := DefaultLimits()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeWeightsInto(&sinkWeights, data, lim); err != nil {
			b.Fatal(err)
		}
	}
}
