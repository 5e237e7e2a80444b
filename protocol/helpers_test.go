package protocol

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// testRollout builds a valid rollout of k envs, t steps, obs size d and a
// actions, with a few finished episodes.
func testRollout(rng *rand.Rand, k, t, d, a int) *Rollout {
	n := k * t
	r := &Rollout{
		V: SchemaVersion, ActorID: "actor-1", Incarnation: rng.Uint64() | 1, Seq: 1 + rng.Uint64N(1000), MemberToken: 0x7e57,
		PolicyVersion: rng.Uint64N(100), PolicyEpoch: rng.Uint64(), NumEnvs: k, Horizon: t, ObsSize: d, NumActions: a,
		Obs: make([]float32, n*d), Actions: make([]int32, n), LogProbs: make([]float64, n),
		Values: make([]float64, n), Rewards: make([]float64, n), Terminated: make([]bool, n),
		Truncated: make([]bool, n), BootstrapValues: make([]float64, n), LastValues: make([]float64, k),
		ObsStats: ObsStats{Count: float64(n), Mean: make([]float64, d), M2: make([]float64, d)},
	}
	for i := range r.Obs {
		r.Obs[i] = float32(rng.NormFloat64())
	}
	for i := 0; i < n; i++ {
		r.Actions[i] = int32(rng.IntN(a))
		r.LogProbs[i] = -rng.ExpFloat64()
		r.Values[i] = rng.NormFloat64()
		r.Rewards[i] = rng.NormFloat64()
		switch rng.IntN(20) {
		case 0:
			r.Terminated[i] = true
		case 1:
			r.Truncated[i] = true
			r.BootstrapValues[i] = rng.NormFloat64()
		}
	}
	for i := range r.LastValues {
		r.LastValues[i] = rng.NormFloat64()
	}
	for i := 0; i < d; i++ {
		r.ObsStats.Mean[i] = rng.NormFloat64()
		r.ObsStats.M2[i] = rng.ExpFloat64() * 10
	}
	for i := 0; i < 3; i++ {
		length := 1 + rng.IntN(200)
		counts := make([]uint32, a)
		for j := 0; j < length; j++ {
			counts[rng.IntN(a)]++
		}
		r.Episodes = append(r.Episodes, EpisodeSummary{
			Return: rng.NormFloat64() * 50, Length: length, Scenario: "pod-delete",
			Terminated: i == 0, RecoverySteps: []int32{int32(rng.IntN(length + 1))},
			ActionCounts: counts, SLOSteps: rng.IntN(length + 1), HealthyFraction: rng.Float64(),
		})
	}
	return r
}

func testWeights(rng *rand.Rand, d, a int) *Weights {
	w := &Weights{
		V: SchemaVersion, Version: 7, Epoch: 0xfeedface12345678,
		Arch:   Arch{ObsSize: d, NumActions: a, Hidden: []int{64, 64}, Activation: "tanh"},
		Params: make([]float64, 1000),
		Norm:   Norm{Count: 1234, Mean: make([]float64, d), Var: make([]float64, d), Clip: 10, Epsilon: 1e-8},
		Run:    "run-1", CreatedUnixNano: 1_700_000_000_000_000_000,
		Meta: map[string]string{"scenario": "suite", "env_steps": "123456"},
	}
	for i := range w.Params {
		w.Params[i] = rng.NormFloat64()
	}
	for i := 0; i < d; i++ {
		w.Norm.Mean[i] = rng.NormFloat64()
		w.Norm.Var[i] = rng.ExpFloat64()
	}
	return w
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x70d)) }

// mustEncode encodes a valid rollout or fails the test.
func mustEncode(t testing.TB, r *Rollout) []byte {
	t.Helper()
	b, err := EncodeRollout(r, 0)
	if err != nil {
		t.Fatalf("EncodeRollout: %v", err)
	}
	return b
}

// asMap decodes a message with the msgpack library into a generic map.
func asMap(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := msgpack.Unmarshal(b, &m); err != nil {
		t.Fatalf("msgpack.Unmarshal: %v", err)
	}
	return m
}

// fromMap encodes a generic map with the msgpack library.
func fromMap(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(m)
	if err != nil {
		t.Fatalf("msgpack.Marshal: %v", err)
	}
	return b
}

// wantReason fails unless err is a *DecodeError with reason want that
// matches want's sentinel.
func wantReason(t testing.TB, err error, want Reason) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *DecodeError, want reason %s", err, err, want)
	}
	if de.Reason != want {
		t.Fatalf("reason %s, want %s (error: %v)", de.Reason, want, err)
	}
	if !errors.Is(err, want.Sentinel()) {
		t.Fatalf("errors.Is(%v, %v) false", err, want.Sentinel())
	}
}

func putF64(b []byte, i int, v float64) []byte {
	c := append([]byte(nil), b...)
	u := math.Float64bits(v)
	for j := 0; j < 8; j++ {
		c[8*i+j] = byte(u >> (8 * j))
	}
	return c
}

func putF32(b []byte, i int, v float32) []byte {
	c := append([]byte(nil), b...)
	u := math.Float32bits(v)
	for j := 0; j < 4; j++ {
		c[4*i+j] = byte(u >> (8 * j))
	}
	return c
}

// wire builds a hand-made, possibly hostile, message with the library's
// Encoder (compact integers, as the codec writes them).
func wire(t testing.TB, build func(e *msgpack.Encoder) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	e.UseCompactInts(true)
	if err := build(e); err != nil {
		t.Fatalf("build a test message: %v", err)
	}
	return buf.Bytes()
}

// nested builds {"v": 1, key: [[[...0...]]]} with depth arrays.
func nested(t testing.TB, key string, depth int) []byte {
	return wire(t, func(e *msgpack.Encoder) error {
		err := errors.Join(e.EncodeMapLen(2), e.EncodeString("v"), e.EncodeUint(SchemaVersion), e.EncodeString(key))
		for range depth {
			err = errors.Join(err, e.EncodeArrayLen(1))
		}
		return errors.Join(err, e.EncodeUint(0))
	})
}
