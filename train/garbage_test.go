package train_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"podmedic/learner"
	"podmedic/protocol"
)

// validRollout returns a well-formed rollout for the test env shape.
func validRollout(t *testing.T, spec learner.EnvSpec, actorID string, seq, version, epoch uint64) *protocol.Rollout {
	t.Helper()
	const k, h = 2, 4
	n := k * h
	r := &protocol.Rollout{
		ActorID: actorID, Incarnation: 7, Seq: seq, PolicyVersion: version, PolicyEpoch: epoch,
		NumEnvs: k, Horizon: h, ObsSize: spec.ObsSize, NumActions: spec.NumActions,
		Obs: make([]float32, n*spec.ObsSize), Actions: make([]int32, n), LogProbs: make([]float64, n),
		Values: make([]float64, n), Rewards: make([]float64, n), Terminated: make([]bool, n),
		Truncated: make([]bool, n), BootstrapValues: make([]float64, n), LastValues: make([]float64, k),
	}
	for i := range r.LogProbs {
		r.LogProbs[i] = -math.Log(float64(spec.NumActions))
	}
	return r
}

func encode(t *testing.T, r *protocol.Rollout) []byte {
	t.Helper()
	b, err := protocol.EncodeRollout(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutate re-encodes a valid message with one field changed, through the
// generic msgpack library, to produce what a buggy or hostile peer sends.
func mutate(t *testing.T, valid []byte, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := msgpack.Unmarshal(valid, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := msgpack.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGarbageOnEverySubject(t *testing.T) {
	port := freePort(t)
	ns := startNATS(t, port)
	defer stopNATS(ns)
	ecfg := testEnvConfig(t)
	spec := testSpec(t, ecfg)
	l := startLearner(t, natsURL(port), testServiceConfig(protocol.ModeAsync), spec)
	a := startActor(t, natsURL(port), "actor-0", protocol.ModeAsync, 1, ecfg)
	waitFor(t, 20*time.Second, "version 2", func() bool { return l.version() >= 2 })

	subj, err := protocol.NewSubjects(testRun)
	if err != nil {
		t.Fatal(err)
	}
	nc := connect(t, natsURL(port))
	w := latestWeights(t, nc)
	valid := encode(t, validRollout(t, spec, "evil", 1, w.Version, w.Epoch))
	nan := math.Float64bits(math.NaN())
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	cases := []struct {
		name   string
		data   []byte
		reason protocol.Reason
	}{
		{"random bytes", random, protocol.ReasonMalformed},
		{"truncated msgpack", valid[:len(valid)/2], protocol.ReasonMalformed},
		{"empty", nil, protocol.ReasonMalformed},
		{"schema version 2", mutate(t, valid, func(m map[string]any) { m["v"] = 2 }), protocol.ReasonSchemaVersion},
		{"wrong obs size", encode(t, func() *protocol.Rollout {
			r := validRollout(t, spec, "evil", 2, w.Version, w.Epoch)
			r.ObsSize--
			r.Obs = r.Obs[:len(r.Obs)-r.NumEnvs*r.Horizon]
			return r
		}()), protocol.ReasonShape},
		{"arrays not matching dims", mutate(t, valid, func(m map[string]any) { m["horizon"] = 5 }), protocol.ReasonShape},
		{"NaN reward", mutate(t, valid, func(m map[string]any) {
			b := append([]byte(nil), m["rewards"].([]byte)...)
			for i := 0; i < 8; i++ {
				b[i] = byte(nan >> (8 * i))
			}
			m["rewards"] = b
		}), protocol.ReasonNonFinite},
		{"Inf obs", mutate(t, valid, func(m map[string]any) {
			b := append([]byte(nil), m["obs"].([]byte)...)
			inf := math.Float32bits(float32(math.Inf(1)))
			for i := 0; i < 4; i++ {
				b[i] = byte(inf >> (8 * i))
			}
			m["obs"] = b
		}), protocol.ReasonNonFinite},
		{"action out of range", mutate(t, valid, func(m map[string]any) {
			b := append([]byte(nil), m["actions"].([]byte)...)
			b[0] = 200
			m["actions"] = b
		}), protocol.ReasonActionRange},
		{"huge declared arrays", mutate(t, valid, func(m map[string]any) { m["num_envs"] = 1 << 20; m["horizon"] = 4096 }), protocol.ReasonTooLarge},
		{"stale version", encode(t, validRollout(t, spec, "evil", 3, 0, w.Epoch)), protocol.ReasonStaleVersion},
		{"other learner's epoch", encode(t, validRollout(t, spec, "evil", 4, w.Version, w.Epoch+1)), protocol.ReasonStaleVersion},
		{"duplicated sequence number", encode(t, validRollout(t, spec, "evil", 4, w.Version, w.Epoch)), protocol.ReasonDuplicateSeq},
	}
	before := map[protocol.Reason]float64{}
	for _, c := range cases {
		before[c.reason] = l.rejected(c.reason)
	}
	want := map[protocol.Reason]float64{}
	for _, c := range cases {
		want[c.reason]++
		if err := nc.Publish(subj.Rollouts, c.data); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		// Every other subject gets the same garbage: the learner and the
		// actor must shrug it off.
		for _, s := range []string{subj.Weights, subj.Hello, subj.Heartbeat, subj.WeightsLatest, subj.PolicyLatest} {
			if err := nc.Publish(s, c.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for reason, n := range want {
		waitFor(t, 5*time.Second, "rejections counted as "+string(reason), func() bool {
			return l.rejected(reason)-before[reason] >= n
		})
	}
	v := l.version()
	waitFor(t, 20*time.Second, "the learner to keep learning", func() bool { return l.version() >= v+3 })
	if testutilValue(a.m.WeightsRejected) == 0 {
		t.Fatal("the actor counted no rejected weights although garbage was broadcast")
	}
	assertFinite(t, latestWeights(t, nc))
}
