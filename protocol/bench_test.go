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

var rolloutSizes = []struct{ k, t, d int }{{1, 128, 20}, {8, 128, 20}, {64, 256, 20}}

func BenchmarkEncodeRollout(b *testing.B) {
	for _, s := range rolloutSizes {
		b.Run(fmt.Sprintf("%dx%dx%d", s.k, s.t, s.d), func(b *testing.B) {
			r := testRollout(newRNG(1), s.k, s.t, s.d, 9)
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
			data := mustEncode(b, testRollout(newRNG(1), s.k, s.t, s.d, 9))
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

func BenchmarkDecodeWeights(b *testing.B) {
	w := testWeights(newRNG(1), 20, 9)
	w.Params = make([]float64, 6000)
	data, err := EncodeWeights(w, 0)
	if err != nil {
		b.Fatal(err)
	}
	lim := DefaultLimits()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeWeightsInto(&sinkWeights, data, lim); err != nil {
			b.Fatal(err)
		}
	}
}
