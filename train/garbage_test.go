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

// validRollout returns a well-formed rollout for the test env shape, of
// incarnation 7 of actorID with member token tok.
func validRollout(t *testing.T, spec learner.EnvSpec, actorID string, tok, seq, version, epoch uint64) *protocol.Rollout {
	t.Helper()
	const k, h = 2, 4
	n := k * h
	r := &protocol.Rollout{
		ActorID: actorID, Incarnation: 7, MemberToken: tok, Seq: seq, PolicyVersion: version, PolicyEpoch: epoch,
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
	cfg := testServiceConfig(protocol.ModeAsync)
	cfg.HeartbeatTimeout = time.Minute // "evil" below sends no heartbeats
	l := startLearner(t, natsURL(port), cfg, spec)
	a := startActor(t, natsURL(port), "actor-0", protocol.ModeAsync, 1, ecfg)
	waitFor(t, 20*time.Second, "version 2", func() bool { return l.version() >= 2 })

	subj, err := protocol.NewSubjects(testRun)
	if err != nil {
		t.Fatal(err)
	}
	nc := connect(t, natsURL(port))
	w := latestWeights(t, nc)
	// "evil" is a member, so that its rollouts reach the checks after the
	// membership check (versions, sequence numbers).
	tok := joinAs(t, nc, spec, "evil", 7).MemberToken
	valid := encode(t, validRollout(t, spec, "evil", tok, 1, w.Version, w.Epoch))
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
		{"schema version 3", mutate(t, valid, func(m map[string]any) { m["v"] = 3 }), protocol.ReasonSchemaVersion},
		{"schema version 1 (before membership)", mutate(t, valid, func(m map[string]any) { m["v"] = 1; delete(m, "member_token") }), protocol.ReasonSchemaVersion},
		{"wrong obs size", encode(t, func() *protocol.Rollout {
			r := validRollout(t, spec, "evil", tok, 2, w.Version, w.Epoch)
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
		{"stale version", encode(t, validRollout(t, spec, "evil", tok, 3, 0, w.Epoch)), protocol.ReasonStaleVersion},
		{"other learner's epoch", encode(t, validRollout(t, spec, "evil", tok, 4, w.Version, w.Epoch+1)), protocol.ReasonStaleVersion},
		{"duplicated sequence number", encode(t, validRollout(t, spec, "evil", tok, 4, w.Version, w.Epoch)), protocol.ReasonDuplicateSeq},
		{"another actor's id", mutate(t, encode(t, validRollout(t, spec, "evil", tok, 5, w.Version, w.Epoch)),
			func(m map[string]any) { m["actor_id"] = "impostor" }), protocol.ReasonNotMember},
		{"wrong member token", encode(t, validRollout(t, spec, "evil", tok+1, 6, w.Version, w.Epoch)), protocol.ReasonBadToken},
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
	}
	for reason, n := range want {
		waitFor(t, 5*time.Second, "rejections counted as "+string(reason), func() bool {
			return l.rejected(reason)-before[reason] >= n
		})
	}
	// Every other subject gets the same garbage, as requests: the learner
	// and the actor must shrug it off. (Some of it is well-formed there: a
	// rollout of "evil" also reads as a valid hello or goodbye of "evil".)
	for _, c := range cases {
		for _, s := range []string{subj.Weights, subj.Hello, subj.Heartbeat, subj.Goodbye, subj.WeightsLatest, subj.PolicyLatest} {
			if err := nc.PublishRequest(s, nc.NewRespInbox(), c.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"hello", "heartbeat", "goodbye", "weights.latest", "policy.latest"} {
		waitFor(t, 5*time.Second, "garbage counted on "+subject, func() bool {
			return l.messagesRejected(subject, protocol.ReasonMalformed) >= 2
		})
	}
	if got := testutilValue(a.m.Member); got != 1 {
		t.Fatalf("the real actor's member gauge is %v after the garbage, want 1", got)
	}
	v := l.version()
	waitFor(t, 20*time.Second, "the learner to keep learning", func() bool { return l.version() >= v+3 })
	if testutilValue(a.m.WeightsRejected) == 0 {
		t.Fatal("the actor counted no rejected weights although garbage was broadcast")
	}
	assertFinite(t, latestWeights(t, nc))
}
