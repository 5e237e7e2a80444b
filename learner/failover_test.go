package learner_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"podmedic/internal/jsstore"
	"podmedic/internal/natsserver"
	"podmedic/learner"
	"podmedic/protocol"
)

// jsServer starts a JetStream server and returns its URL.
func jsServer(t *testing.T) string {
	t.Helper()
	ns, err := natsserver.Start(natsserver.Config{Port: -1, JetStreamDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// failoverLearner is one learner process under the lease: its own NATS
// connection, stores and registry.
type failoverLearner struct {
	name   string
	nc     *nats.Conn
	reg    *prometheus.Registry
	f      *learner.Failover
	lease  *jsstore.Lease
	cancel context.CancelFunc
	done   chan error
}

func startFailover(t *testing.T, url, name string, mirror string) *failoverLearner {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := jsstore.OpenLease(ctx, js, "t", name, jsstore.LeaseConfig{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := jsstore.CreateCheckpoints(ctx, js, "t", jsstore.CheckpointConfig{Keep: 3})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := jsstore.CreatePolicies(ctx, js, "t", jsstore.PolicyConfig{Keep: 3})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.CheckpointEvery, cfg.KeepCheckpoints = 2, 3
	fc := learner.FailoverConfig{Service: cfg, Spec: testSpec, Lease: lease, Checkpoints: ck, Policies: pol, CloseTimeout: 10 * time.Second}
	if mirror != "" {
		if err := os.MkdirAll(mirror, 0o755); err != nil {
			t.Fatal(err)
		}
		fc.Mirror = learner.DirStore{Dir: mirror}
	}
	reg := prometheus.NewRegistry()
	f, err := learner.NewFailover(fc, nc, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	fl := &failoverLearner{name: name, nc: nc, reg: reg, f: f, lease: lease, cancel: rcancel, done: make(chan error, 1)}
	go func() { fl.done <- f.Run(rctx) }()
	t.Cleanup(fl.stop)
	return fl
}

// stop ends the learner's Run (its final checkpoint, the lease handed
// over) and waits for it.
func (fl *failoverLearner) stop() {
	if fl.cancel == nil {
		return
	}
	fl.cancel()
	<-fl.done
	fl.cancel = nil
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// epochLog records the (epoch, version) of every weights broadcast.
type epochLog struct {
	mu   sync.Mutex
	seen [][2]uint64
}

func watchWeights(t *testing.T, url string) *epochLog {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	l := &epochLog{}
	subj, _ := protocol.NewSubjects("t")
	if _, err := nc.Subscribe(subj.Weights, func(m *nats.Msg) {
		w, err := protocol.DecodeWeights(m.Data, protocol.DefaultLimits())
		if err != nil {
			t.Errorf("undecodable weights: %v", err)
			return
		}
		l.mu.Lock()
		l.seen = append(l.seen, [2]uint64{w.Epoch, w.Version})
		l.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *epochLog) check(t *testing.T) (epochs []uint64) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var newest uint64
	for _, s := range l.seen {
		if s[0] < newest {
			t.Errorf("weights of epoch %d (version %d) after epoch %d's: two learners published at once", s[0], s[1], newest)
		}
		if s[0] > newest {
			epochs = append(epochs, s[0])
			newest = s[0]
		}
	}
	return epochs
}

func (l *epochLog) first(epoch uint64) (version uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.seen {
		if s[0] == epoch {
			return s[1], true
		}
	}
	return 0, false
}

// TestFailover: two learners of one run; one trains, the other stands by.
// The active one's connection is cut: it fences itself, the standby takes
// over at the version of the newest checkpoint in JetStream (at most one
// checkpoint interval lost), under a higher epoch, broadcasts at once,
// refuses rollouts of the old epoch, and every snapshot reaches the policy
// store. Stopped, it writes a last checkpoint and hands the lease over at
// once to a third learner, which resumes at that version.
func TestFailover(t *testing.T) {
	url := jsServer(t)
	seen := watchWeights(t, url)
	actor, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer actor.Close()

	mirror := filepath.Join(t.TempDir(), "a-local")
	a := startFailover(t, url, "a", mirror)
	waitFor(t, "a to become active", 10*time.Second, func() bool { return a.f.Service() != nil })
	b := startFailover(t, url, "b", "")
	time.Sleep(1500 * time.Millisecond) // more than the TTL: b must stand by
	if b.f.Service() != nil || metric(t, b.reg, "podmedic_learner_lease_active") != 0 {
		t.Fatal("b is active while a holds the lease")
	}
	srv := httptest.NewServer(b.f.Handler())
	defer srv.Close()
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/v1/policy": http.StatusServiceUnavailable} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || path == "/healthz" && !strings.Contains(string(body), `"holder":"a"`) {
			t.Fatalf("standby %s: %s %s, want %d naming the holder", path, resp.Status, body, want)
		}
	}

	svcA := a.f.Service()
	epochA := svcA.Epoch()
	train(t, svcA, actor, 5) // checkpoints at versions 2 and 4
	if ck, ok := svcA.LastCheckpoint(); !ok || ck.Version != 4 || !strings.HasPrefix(ck.Location, "jetstream:") {
		t.Fatalf("a's last checkpoint %+v", ck)
	}
	if _, err := os.Stat(filepath.Join(mirror, learner.CheckpointName(4))); err != nil {
		t.Fatalf("no local copy of a's checkpoint: %v", err)
	}

	// Cut a off NATS: it can neither renew nor publish.
	cut := time.Now()
	a.nc.Close()
	waitFor(t, "b to take over", 10*time.Second, func() bool { return b.f.Service() != nil })
	took := time.Since(cut)
	svcB := b.f.Service()
	epochB := svcB.Epoch()
	if epochB <= epochA {
		t.Fatalf("epoch %d after the takeover, want > %d", epochB, epochA)
	}
	if v := svcB.Status().Version; v != 4 {
		t.Fatalf("b resumed at version %d, want 4 (the newest checkpoint)", v)
	}
	waitFor(t, "b's first broadcast", 5*time.Second, func() bool { _, ok := seen.first(epochB); return ok })
	if v, _ := seen.first(epochB); v != 4 {
		t.Fatalf("b's first broadcast is version %d, want 4", v)
	}
	waitFor(t, "a to report the lost lease", 5*time.Second, func() bool {
		return metric(t, a.reg, "podmedic_learner_lease_lost_total") == 1 && metric(t, a.reg, "podmedic_learner_lease_active") == 0
	})
	for name, want := range map[string]float64{
		"podmedic_learner_lease_active": 1, "podmedic_learner_lease_takeovers_total": 1,
		"podmedic_learner_resumed_version": 4, "podmedic_learner_lease_epoch": float64(epochB),
	} {
		if got := metric(t, b.reg, name, "learner", "b", "run", "t"); got != want {
			t.Errorf("b: %s = %v, want %v", name, got, want)
		}
	}

	// A rollout collected with a's weights is refused by b.
	tok := hello(t, actor, "a", 99).MemberToken
	stale := rollout(tok, 1, 4, epochA)
	stale.Incarnation = 99
	publish(t, actor, stale)
	waitFor(t, "b to refuse the old epoch's rollout", 5*time.Second, func() bool {
		return scrape(t, srv, "podmedic_learner_rollouts_rejected_total", `reason="stale_version"`) >= 1
	})
	train(t, svcB, actor, 7)

	// Every published snapshot reaches the policy store (the newest at
	// least), from b's term too.
	js, err := jetstream.New(actor)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := jsstore.OpenPolicies(context.Background(), js, "t")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "version 7 in the policy store", 10*time.Second, func() bool {
		_, in, err := pol.Latest(context.Background())
		return err == nil && in.Version == 7 && in.Epoch == epochB
	})
	data, _, err := pol.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w, err := protocol.ParseSnapshot(data); err != nil || w.Version != 7 || w.Epoch != epochB {
		t.Fatalf("stored snapshot: %v", err)
	}

	// b stops: a last checkpoint at version 7, and the lease is free at
	// once for c, which resumes there.
	b.stop()
	stopped := time.Now()
	c := startFailover(t, url, "c", "")
	waitFor(t, "c to become active", 5*time.Second, func() bool { return c.f.Service() != nil })
	if d := time.Since(stopped); d > 900*time.Millisecond {
		t.Errorf("c took over %s after b stopped: the lease was not handed over", d)
	}
	if v := c.f.Service().Status().Version; v != 7 {
		t.Fatalf("c resumed at version %d, want 7 (b's last checkpoint)", v)
	}
	epochs := seen.check(t)
	if len(epochs) != 3 {
		t.Fatalf("epochs seen %v, want a's, b's and c's", epochs)
	}
	t.Logf("takeover %s after the cut; epochs %v", took.Round(time.Millisecond), epochs)
}

// A learner whose store holds only broken checkpoints gives up with the
// error instead of training from scratch over them.
func TestFailoverRefusesBrokenStore(t *testing.T) {
	url := jsServer(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ck, err := jsstore.CreateCheckpoints(ctx, js, "t", jsstore.CheckpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ck.Put(ctx, 1, 3, []byte("PODMDCKP garbage")); err != nil {
		t.Fatal(err)
	}
	lease, err := jsstore.OpenLease(ctx, js, "t", "x", jsstore.LeaseConfig{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f, err := learner.NewFailover(learner.FailoverConfig{Service: testConfig(), Spec: testSpec, Lease: lease, Checkpoints: ck}, nc, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := f.Run(rctx); !errors.Is(err, learner.ErrNoValidCheckpoint) {
		t.Fatalf("got %v, want ErrNoValidCheckpoint", err)
	}
	if rec, _, held, err := lease.Current(ctx); err != nil || held {
		t.Fatalf("lease %+v still held after giving up (%v)", rec, err)
	}
}

// scrape sums the samples of name whose labels contain match on the
// server's /metrics.
func scrape(t *testing.T, srv *httptest.Server, name, match string) float64 {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, match) {
			f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			sum += f
		}
	}
	return sum
}

// A JetStream checkpoint store that cannot write or read (its server is
// down) fails a write within WriteTimeout, a read within ReadTimeout,
// then refuses every operation at once for Backoff, so the update loop is
// held up once, not at every checkpoint, read-back and prune; afterwards
// it works again. A checkpoint not found is an answer, not an outage.
func TestJetStreamStoreBacksOff(t *testing.T) {
	dir := t.TempDir()
	ns, err := natsserver.Start(natsserver.Config{Port: -1, JetStreamDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	port := ns.Addr().(*net.TCPAddr).Port
	nc, err := nats.Connect(ns.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := jsstore.CreateCheckpoints(context.Background(), js, "t", jsstore.CheckpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	st := &learner.JetStreamStore{Checkpoints: ck, Epoch: 3, WriteTimeout: 300 * time.Millisecond, Backoff: time.Second}
	if err := st.Write(learner.CheckpointName(1), []byte("one")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Read(learner.CheckpointName(9)); err == nil {
		t.Fatal("read a checkpoint never written")
	}
	if names, err := st.List(); err != nil || len(names) != 1 {
		t.Fatalf("after a read of a missing checkpoint, listed %v (%v); want one and no back-off", names, err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	start := time.Now()
	if err := st.Write(learner.CheckpointName(2), []byte("two")); err == nil {
		t.Fatal("write with the server down succeeded")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a failed write took %s, want about the 300ms write timeout", d)
	}
	rd := &learner.JetStreamStore{Checkpoints: ck, Epoch: 3, ReadTimeout: 300 * time.Millisecond, Backoff: time.Hour}
	start = time.Now()
	if _, err := rd.Read(learner.CheckpointName(1)); err == nil || errors.Is(err, learner.ErrStoreUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("read with the server down: %v after %s, want a failure within about the 300ms read timeout", err, time.Since(start))
	}
	start = time.Now()
	if _, err := rd.List(); !errors.Is(err, learner.ErrStoreUnavailable) || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("listing after a failed read: %v after %s, want ErrStoreUnavailable at once", err, time.Since(start))
	}
	ns2, err := natsserver.Start(natsserver.Config{Port: port, JetStreamDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns2.Shutdown(); ns2.WaitForShutdown() }()
	waitFor(t, "the reconnection", 5*time.Second, nc.IsConnected)
	start = time.Now()
	if err := st.Write(learner.CheckpointName(2), []byte("two")); !errors.Is(err, learner.ErrStoreUnavailable) || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("write during the back-off: %v after %s, want ErrStoreUnavailable at once", err, time.Since(start))
	}
	waitFor(t, "writes after the back-off", 10*time.Second, func() bool { return st.Write(learner.CheckpointName(2), []byte("two")) == nil })
	names, err := st.List()
	if err != nil || len(names) != 2 || names[1] != "e00000000000000000003-v00000000000000000002" {
		t.Fatalf("stored %v (%v)", names, err)
	}
	if data, err := st.Read(learner.CheckpointName(2)); err != nil || string(data) != "two" {
		t.Fatalf("read back %q: %v", data, err)
	}
}
