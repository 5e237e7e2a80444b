package learner_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"podmedic/internal/natsserver"
	"podmedic/learner"
	"podmedic/protocol"
)

// TestMain fails the package if a test leaves a goroutine behind: Close
// must stop the service's loop.
func TestMain(m *testing.M) {
	// nats.go v1.55 can leave one goroutine per object store Put waiting
	// on a nil channel (its reconnect watcher starts after the Put's
	// cleanup); it is the library's, not ours.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"))
}

// The service is tested here against a stand-in actor that sends
// hand-made rollouts over a real in-process NATS server; the whole system
// with real actors and environments is tested in podmedic/train.

var testSpec = learner.EnvSpec{ObsSize: 3, NumActions: 2, ActionNames: []string{"left", "right"}}

func testConfig() learner.ServiceConfig {
	c := learner.DefaultServiceConfig()
	c.Run, c.Mode, c.MinActors = "t", protocol.ModeSync, 1
	c.Hidden = []int{8}
	c.PPO.Epochs, c.PPO.MinibatchSize = 1, 8
	return c
}

func startServer(t *testing.T) (*nats.Conn, *nats.Conn) {
	t.Helper()
	ns, err := natsserver.Start(natsserver.Config{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	var conns []*nats.Conn
	for range 2 {
		nc, err := nats.Connect(ns.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		conns = append(conns, nc)
	}
	return conns[0], conns[1]
}

// join makes the stand-in actor "a" (incarnation 1) a member with a hello
// and returns its token.
func join(t *testing.T, nc *nats.Conn) uint64 {
	t.Helper()
	return hello(t, nc, "a", 1).MemberToken
}

// hello sends a hello of actor id's incarnation and returns the reply.
func hello(t *testing.T, nc *nats.Conn, id string, incarnation uint64) *protocol.MemberReply {
	t.Helper()
	subj, _ := protocol.NewSubjects("t")
	data, err := protocol.EncodeHello(&protocol.Hello{ActorID: id, Incarnation: incarnation, NumEnvs: 2, Horizon: 4,
		ObsSize: testSpec.ObsSize, NumActions: testSpec.NumActions}, 0)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := nc.Request(subj.Hello, data, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m, err := protocol.DecodeMemberReply(msg.Data, protocol.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// rollout is a valid 2-env x 4-step rollout of the stand-in actor (member
// token tok) with one finished episode per env.
func rollout(tok, seq, version, epoch uint64) *protocol.Rollout {
	const k, h = 2, 4
	n := k * h
	r := &protocol.Rollout{
		ActorID: "a", Incarnation: 1, MemberToken: tok, Seq: seq, PolicyVersion: version, PolicyEpoch: epoch,
		NumEnvs: k, Horizon: h, ObsSize: 3, NumActions: 2,
		Obs: make([]float32, n*3), Actions: make([]int32, n), LogProbs: make([]float64, n),
		Values: make([]float64, n), Rewards: make([]float64, n), Terminated: make([]bool, n),
		Truncated: make([]bool, n), BootstrapValues: make([]float64, n), LastValues: make([]float64, k),
	}
	for i := range r.LogProbs {
		r.LogProbs[i] = -math.Ln2
		r.Rewards[i] = float64(i % 3)
	}
	for e := range k {
		r.Terminated[(h-1)*k+e] = true
		r.Episodes = append(r.Episodes, protocol.EpisodeSummary{Return: float64(10*seq) + float64(e), Length: h,
			Terminated: true, ActionCounts: []uint32{uint32(h), 0}})
	}
	return r
}

func publish(t *testing.T, nc *nats.Conn, r *protocol.Rollout) {
	t.Helper()
	data, err := protocol.EncodeRollout(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := protocol.NewSubjects("t")
	if err := nc.Publish(subj.Rollouts, data); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func latest(t *testing.T, nc *nats.Conn) *protocol.Weights {
	t.Helper()
	subj, _ := protocol.NewSubjects("t")
	msg, err := nc.Request(subj.WeightsLatest, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w, err := protocol.DecodeWeights(msg.Data, protocol.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestHooksAndFinish: the hooks report each consumed rollout's episodes
// with the global env-step count, then the update; Finish from a hook ends
// training at once (Done closes, later rollouts are not trained on).
func TestHooksAndFinish(t *testing.T) {
	lnc, anc := startServer(t)
	reg := prometheus.NewRegistry()
	svc, err := learner.NewService(testConfig(), testSpec, lnc, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	episodes := make(chan learner.EpisodeEvent, 16)
	updates := make(chan learner.UpdateEvent, 16)
	svc.SetHooks(learner.Hooks{
		Episode: func(e learner.EpisodeEvent) { episodes <- e },
		Update: func(u learner.UpdateEvent) {
			updates <- u
			if u.Update == 2 {
				svc.Finish()
			}
		},
	})
	if err := svc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())
	w := latest(t, anc)
	tok := join(t, anc)
	for seq := uint64(1); seq <= 2; seq++ {
		publish(t, anc, rollout(tok, seq, seq-1, w.Epoch))
		var u learner.UpdateEvent
		select {
		case u = <-updates:
		case <-time.After(10 * time.Second):
			t.Fatalf("no update after rollout %d", seq)
		}
		if u.Update != int64(seq) || u.Version != seq || u.EnvSteps != int64(8*seq) || u.Rollouts != 1 || u.Episodes != 2 ||
			u.Stats.Samples != 8 || u.Stats.FirstRatioDev > 1e-9 { // the stand-in logs -ln2, the net is near uniform
			t.Fatalf("update event %+v", u)
		}
		for e := range 2 {
			ev := <-episodes
			if ev.Actor != "a" || ev.Version != seq-1 || ev.EnvSteps != int64(8*seq) || ev.Summary.Return != float64(10*seq)+float64(e) {
				t.Fatalf("episode event %+v", ev)
			}
		}
	}
	select {
	case <-svc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after Finish")
	}
	publish(t, anc, rollout(tok, 3, 2, w.Epoch))
	received := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "podmedic_learner_env_steps_received_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return 0
	}
	for deadline := time.Now().Add(5 * time.Second); received() < 24; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("third rollout not received")
		}
	}
	if err := svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := svc.Status(); st.Updates != 2 || st.Version != 2 || !st.Finished || len(updates) != 0 {
		t.Fatalf("after Finish: status %+v, %d more update events", st, len(updates))
	}
	if err := svc.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestOpenFailureLeavesNothing: a learner whose connection is closed
// cannot open; the error says so and nothing keeps running.
func TestOpenFailureLeavesNothing(t *testing.T) {
	lnc, _ := startServer(t)
	cfg := testConfig()
	cfg.ProgressPath = t.TempDir() + "/progress.csv"
	svc, err := learner.NewService(cfg, testSpec, lnc, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lnc.Close()
	if err := svc.Open(context.Background()); err == nil {
		t.Fatal("Open on a closed connection succeeded")
	}
	if err := svc.Close(context.Background()); err != nil {
		t.Fatalf("Close after a failed Open: %v", err)
	}
}

func TestNewServiceRejectsBadSpec(t *testing.T) {
	lnc, _ := startServer(t)
	for _, spec := range []learner.EnvSpec{{ObsSize: 3, NumActions: 1}, {ObsSize: 0, NumActions: 2}, {ObsSize: 3, NumActions: 2, ActionNames: []string{"x"}}} {
		if _, err := learner.NewService(testConfig(), spec, lnc, prometheus.NewRegistry(), nil); err == nil {
			t.Errorf("spec %+v accepted", spec)
		}
	}
}

// TestResumeAtCheckpointVersion: a learner started on a checkpoint
// directory continues at the saved version and env steps and says so.
func TestResumeAtCheckpointVersion(t *testing.T) {
	lnc, anc := startServer(t)
	cfg := testConfig()
	cfg.CheckpointDir, cfg.CheckpointEvery = t.TempDir(), 1
	svc, err := learner.NewService(cfg, testSpec, lnc, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	updates := make(chan learner.UpdateEvent, 4)
	svc.SetHooks(learner.Hooks{Update: func(u learner.UpdateEvent) { updates <- u }})
	if err := svc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	epoch := latest(t, anc).Epoch
	publish(t, anc, rollout(join(t, anc), 1, 0, epoch))
	if u := <-updates; u.Checkpoint == "" {
		t.Fatalf("no checkpoint after update 1 with checkpoint_every 1: %+v", u)
	}
	if err := svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	again, err := learner.NewService(cfg, testSpec, lnc, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := again.Status(); st.Version != 1 || st.EnvSteps != 8 || st.Updates != 1 {
		t.Fatalf("resumed at %+v, want version 1 after 8 env steps", st)
	}
	if err := again.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer again.Close(context.Background())
	if w := latest(t, anc); w.Version != 1 || w.Epoch == epoch {
		t.Fatalf("resumed learner serves version %d epoch %x (old epoch %x)", w.Version, w.Epoch, epoch)
	}
	if got := testutil.CollectAndCount(reg, "podmedic_learner_policy_version"); got != 1 {
		t.Fatalf("%d policy version series", got)
	}
}

// TestPipelinedHeldBatchUpdatesAtOnce: in pipelined mode an actor's next
// rollout that comes before the update is held for the next batch, which
// can then be complete with nothing more to arrive. The learner must
// update on it at once, not at its next once-a-second housekeeping tick
// (that left a one-actor pipeline taking turns like sync mode). The first
// update's hook holds the loop while the actor's second rollout (version
// 0) and third (version 1) arrive; after it, the learner takes the second
// and holds the third, and must then update on the third without another
// rollout: version 3 within 150 ms. Three learners in a row, so that a
// tick falling in the window by chance cannot pass it.
func TestPipelinedHeldBatchUpdatesAtOnce(t *testing.T) {
	for i := range 3 {
		lnc, anc := startServer(t)
		cfg := testConfig()
		cfg.Mode = protocol.ModePipelined
		svc, err := learner.NewService(cfg, testSpec, lnc, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		svc.SetHooks(learner.Hooks{Update: func(u learner.UpdateEvent) {
			if u.Version == 1 {
				<-release
			}
		}})
		if err := svc.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		tok := join(t, anc)
		epoch := latest(t, anc).Epoch
		publish(t, anc, rollout(tok, 1, 0, epoch))
		for latest(t, anc).Version < 1 {
			time.Sleep(time.Millisecond)
		}
		publish(t, anc, rollout(tok, 2, 0, epoch))
		publish(t, anc, rollout(tok, 3, 1, epoch))
		if err := anc.Flush(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // both in the learner's queue
		released := time.Now()
		close(release)
		for svc.Status().Version < 3 && time.Since(released) < 150*time.Millisecond {
			time.Sleep(time.Millisecond)
		}
		if v := svc.Status().Version; v != 3 {
			t.Fatalf("learner %d: version %d 150 ms after the loop was released, want 3", i+1, v)
		}
		if err := svc.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
