package train_test

import (
	"context"
	"math"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"podmedic/actor"
	"podmedic/envsim"
	"podmedic/internal/natsserver"
	"podmedic/learner"
	"podmedic/protocol"
)

// The fault tests run the real thing: an in-process NATS server, the
// learner service and actors over loopback, all bounded in time.

const testRun = "t"

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startNATS(t testing.TB, port int) *server.Server {
	t.Helper()
	ns, err := natsserver.Start(natsserver.Config{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func stopNATS(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}

func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond),
		nats.RetryOnFailedConnect(true), nats.ReconnectBufSize(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func testEnvConfig(t testing.TB) envsim.Config {
	t.Helper()
	cfg := envsim.DefaultConfig()
	sc, err := envsim.ScenarioByName(envsim.MixedScenarioName)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scenario = sc
	return cfg
}

func testSpec(t testing.TB, cfg envsim.Config) learner.EnvSpec {
	t.Helper()
	c, err := envsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return learner.EnvSpec{ObsSize: c.ObservationSize(), NumActions: c.NumActions(),
		ActionNames: c.ActionSpec().Names, ObsNames: c.ObservationSpec().Names}
}

// testServiceConfig is small enough that an update takes milliseconds.
func testServiceConfig(mode protocol.Mode) learner.ServiceConfig {
	c := learner.DefaultServiceConfig()
	c.Run, c.Mode, c.HeartbeatTimeout, c.QueueCapacity = testRun, mode, time.Second, 16
	c.Hidden = []int{16, 16}
	c.PPO.Epochs, c.PPO.MinibatchSize = 2, 32
	c.CheckpointEvery = 1
	return c
}

type learnerProc struct {
	svc *learner.Service
	reg *prometheus.Registry
	nc  *nats.Conn
}

func startLearner(t testing.TB, url string, cfg learner.ServiceConfig, spec learner.EnvSpec) *learnerProc {
	t.Helper()
	nc := connect(t, url)
	reg := prometheus.NewRegistry()
	svc, err := learner.NewService(cfg, spec, nc, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := &learnerProc{svc: svc, reg: reg, nc: nc}
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *learnerProc) stop(t testing.TB) {
	if p.svc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.svc.Close(ctx); err != nil {
		t.Errorf("close learner: %v", err)
	}
	p.svc = nil
	p.nc.Close()
}

func (p *learnerProc) version() uint64 { return p.svc.Status().Version }

func (p *learnerProc) rejected(reason protocol.Reason) float64 {
	m, err := p.reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range m {
		if f.GetName() != "podmedic_learner_rollouts_rejected_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			if s.GetLabel()[0].GetValue() == string(reason) {
				return s.GetCounter().GetValue()
			}
		}
	}
	return 0
}

type actorProc struct {
	a       *actor.Actor
	m       *actor.Metrics
	nc      *nats.Conn
	cancel  context.CancelFunc
	done    chan error
	stopped sync.Once
}

func startActor(t testing.TB, url string, id string, mode protocol.Mode, seed uint64, ecfg envsim.Config, tune ...func(*actor.Config)) *actorProc {
	t.Helper()
	return startActorSized(t, url, id, mode, seed, ecfg, 2, 16, tune...)
}

func startActorSized(t testing.TB, url string, id string, mode protocol.Mode, seed uint64, ecfg envsim.Config, numEnvs, horizon int, tune ...func(*actor.Config)) *actorProc {
	t.Helper()
	cfg := actor.DefaultConfig()
	cfg.ID, cfg.Run, cfg.Mode, cfg.Horizon, cfg.Seed = id, testRun, mode, horizon, seed
	cfg.HeartbeatInterval, cfg.SyncWait, cfg.WeightsTimeout = 100*time.Millisecond, time.Second, 500*time.Millisecond
	for _, f := range tune {
		f(&cfg)
	}
	envs := make([]envsim.Env, numEnvs)
	for i := range envs {
		c, err := envsim.New(ecfg)
		if err != nil {
			t.Fatal(err)
		}
		envs[i] = c
	}
	nc := connect(t, url)
	m := actor.NewMetrics(prometheus.NewRegistry())
	a, err := actor.New(cfg, envs, nc, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &actorProc{a: a, m: m, nc: nc, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- a.Run(ctx) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the actor like a killed process: its connection goes away.
func (p *actorProc) stop(t testing.TB) {
	p.stopped.Do(func() {
		p.cancel()
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("actor stopped with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("actor did not stop within 10s")
		}
		p.nc.Close()
	})
}

func (p *actorProc) weightsVersion() uint64 { return uint64(testutil.ToFloat64(p.m.WeightsVersion)) }

func testutilValue(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// waitFor polls cond until it holds or the timeout ends the test.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// latestWeights asks policy.latest like evaluate does (it answers with the
// policy snapshot).
func latestWeights(t testing.TB, nc *nats.Conn) *protocol.Weights {
	t.Helper()
	subj, err := protocol.NewSubjects(testRun)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := nc.Request(subj.PolicyLatest, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w, err := protocol.ParseSnapshot(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func assertFinite(t testing.TB, w *protocol.Weights) {
	t.Helper()
	for i, p := range w.Params {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			t.Fatalf("parameter %d is %v", i, p)
		}
	}
}

func natsURL(port int) string { return "nats://127.0.0.1:" + strconv.Itoa(port) }

// gaugeValue reads an unlabelled-but-for-run gauge from a learner's registry.
func gaugeValue(t testing.TB, p *learnerProc, name string) float64 {
	t.Helper()
	mfs, err := p.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mfs {
		if f.GetName() == name && len(f.GetMetric()) > 0 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// joinAs makes actor id's incarnation a member with a hello, as an actor
// with spec's environments would, and returns the learner's reply.
func joinAs(t testing.TB, nc *nats.Conn, spec learner.EnvSpec, id string, incarnation uint64) *protocol.MemberReply {
	t.Helper()
	subj, err := protocol.NewSubjects(testRun)
	if err != nil {
		t.Fatal(err)
	}
	data, err := protocol.EncodeHello(&protocol.Hello{ActorID: id, Incarnation: incarnation, NumEnvs: 2, Horizon: 4,
		ObsSize: spec.ObsSize, NumActions: spec.NumActions}, 0)
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

// series reads one series of a learner metric; labels are name, value
// pairs that must all match.
func (p *learnerProc) series(name string, labels ...string) float64 {
	mfs, err := p.reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range mfs {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				ok := false
				for _, l := range m.GetLabel() {
					ok = ok || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !ok {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func (p *learnerProc) messagesRejected(subject string, reason protocol.Reason) float64 {
	return p.series("podmedic_learner_messages_rejected_total", "subject", subject, "reason", string(reason))
}

func (p *learnerProc) members() float64 { return p.series("podmedic_learner_actors_connected") }
