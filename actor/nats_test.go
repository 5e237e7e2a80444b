package actor

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"podmedic/internal/natsserver"
	"podmedic/internal/policywire"
	"podmedic/policy"
	"podmedic/protocol"
)

// TestActorOverNATS runs the actor against an in-process NATS server and
// a stand-in learner that answers weights.latest and broadcasts a new
// version after every rollout: the rollouts must be well formed, in
// sequence, at the versions broadcast, with bootstrap values of the final
// observations of truncated episodes and one summary per finished episode.
func TestActorOverNATS(t *testing.T) {
	ns, err := natsserver.Start(natsserver.Config{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	learnerConn, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer learnerConn.Close()
	actorConn, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer actorConn.Close()
	subj := subjects(t)

	current := weights(t, 0, 4)
	latest, err := learnerConn.Subscribe(subj.WeightsLatest, func(m *nats.Msg) { _ = m.Respond(current) })
	if err != nil {
		t.Fatal(err)
	}
	defer latest.Unsubscribe()
	welcome, err := protocol.EncodeMemberReply(&protocol.MemberReply{Accepted: true, MemberToken: 5, Epoch: 4})
	if err != nil {
		t.Fatal(err)
	}
	members, err := learnerConn.Subscribe(subj.Prefix+".actors.*", func(m *nats.Msg) {
		if m.Reply != "" {
			_ = m.Respond(welcome)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer members.Unsubscribe()
	goodbyes, err := learnerConn.SubscribeSync(subj.Goodbye)
	if err != nil {
		t.Fatal(err)
	}
	defer goodbyes.Unsubscribe()
	got := make(chan []byte, 16)
	rollouts, err := learnerConn.Subscribe(subj.Rollouts, func(m *nats.Msg) { got <- m.Data })
	if err != nil {
		t.Fatal(err)
	}
	defer rollouts.Unsubscribe()
	if err := learnerConn.Flush(); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(protocol.ModeSync)
	cfg.MaxRollouts = 4
	a, err := New(cfg, tickEnvs(2), actorConn, NewMetrics(prometheus.NewRegistry()), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	var episodes int
	for n := 0; n < cfg.MaxRollouts; n++ {
		var data []byte
		select {
		case data = <-got:
		case <-ctx.Done():
			t.Fatalf("rollout %d did not arrive", n)
		}
		r, err := protocol.DecodeRollout(data, protocol.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if r.ActorID != "actor-0" || r.Seq != uint64(n+1) || r.MemberToken != 5 || r.PolicyVersion != uint64(n) || r.PolicyEpoch != 4 ||
			r.NumEnvs != 2 || r.Horizon != 8 || r.ObsStats.Count != 16 {
			t.Fatalf("rollout %d: actor %s seq %d version %d epoch %d shape %dx%d obs count %v", n, r.ActorID, r.Seq,
				r.PolicyVersion, r.PolicyEpoch, r.NumEnvs, r.Horizon, r.ObsStats.Count)
		}
		checkBootstrap(t, r, current)
		episodes += len(r.Episodes)
		// The next version, as the learner's update would broadcast it.
		current = weights(t, uint64(n+1), 4)
		if err := learnerConn.Publish(subj.Weights, current); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after MaxRollouts: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after MaxRollouts rollouts")
	}
	msg, err := goodbyes.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no goodbye after Run returned: %v", err)
	}
	if g, err := protocol.DecodeGoodbye(msg.Data, protocol.DefaultLimits()); err != nil || g.ActorID != "actor-0" ||
		g.MemberToken != 5 || g.Seq != uint64(cfg.MaxRollouts) {
		t.Fatalf("goodbye %+v, %v", g, err)
	}
	if episodes < 4*2*8/5 {
		t.Fatalf("%d episodes in 64 steps of 5-step episodes", episodes)
	}
}

// checkBootstrap recomputes, with the weights the rollout was collected
// with, the value of every truncated episode's final observation and
// compares it with the bootstrap value sent; it checks each finished
// episode has a summary whose return adds up.
func checkBootstrap(t *testing.T, r *protocol.Rollout, data []byte) {
	t.Helper()
	w, err := protocol.DecodeWeights(data, protocol.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := policywire.Snapshot(w)
	if err != nil {
		t.Fatal(err)
	}
	net, err := policy.NewFromParams(snap.Arch, snap.Params)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := policy.NormalizerFromState(snap.Normalizer)
	if err != nil {
		t.Fatal(err)
	}
	inf := net.NewInference(1)
	final := make([]float32, 2)
	value := make([]float64, 1)
	k := r.NumEnvs
	ended := 0
	for i := range r.Rewards {
		if r.Rewards[i] != float64(r.Actions[i]) {
			t.Fatalf("step %d: reward %v for action %d", i, r.Rewards[i], r.Actions[i])
		}
		if !r.Terminated[i] && !r.Truncated[i] {
			continue
		}
		ended++
		if !r.Truncated[i] {
			continue
		}
		// tickEnv truncates at its fifth step: the final observation is (5, 1).
		norm.Normalize([]float32{5, 1}, final)
		inf.Values(final, 1, value)
		if math.Abs(r.BootstrapValues[i]-value[0]) > 1e-12 {
			t.Fatalf("step %d env %d: bootstrap value %v, want V(final obs) = %v", i/k, i%k, r.BootstrapValues[i], value[0])
		}
	}
	if ended != len(r.Episodes) {
		t.Fatalf("%d episode ends, %d summaries", ended, len(r.Episodes))
	}
	for _, e := range r.Episodes {
		if e.Length < 1 || e.Length > 5 || e.Return < 0 || e.Return > 2*float64(e.Length) || len(e.ActionCounts) != 3 {
			t.Fatalf("episode summary %+v", e)
		}
	}
}
