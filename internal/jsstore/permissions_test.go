package jsstore

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"podmedic/internal/natsserver"
)

// shippedServer runs a server with the accounts and permissions of the
// shipped compose deployment (deploy/compose/nats/accounts.conf), without
// its TLS and cluster, and returns its URL.
func shippedServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	acc, err := os.ReadFile(filepath.Join("..", "..", "deploy", "compose", "nats", "accounts.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), acc, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := "listen: 127.0.0.1:-1\njetstream { store_dir: \"" + filepath.Join(dir, "js") + "\" }\ninclude \"accounts.conf\"\n"
	if err := os.WriteFile(filepath.Join(dir, "nats.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"ACTOR", "LEARNER", "EVALUATOR"} {
		t.Setenv("NATS_"+role+"_PASSWORD", strings.ToLower(role)+"-pw")
	}
	ns, err := natsserver.Start(natsserver.Config{ConfigFile: filepath.Join(dir, "nats.conf")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// roleConn connects as role and collects the permission errors the server
// reports to it.
type roleConn struct {
	nc *nats.Conn
	js jetstream.JetStream

	mu     sync.Mutex
	denied []string
}

func connectAs(t *testing.T, url, role string) *roleConn {
	t.Helper()
	rc := &roleConn{}
	nc, err := nats.Connect(url, nats.UserInfo(role, role+"-pw"), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) {
			rc.mu.Lock()
			rc.denied = append(rc.denied, err.Error())
			rc.mu.Unlock()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	rc.nc = nc
	if rc.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return rc
}

func (rc *roleConn) deniedTo(subject string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, d := range rc.denied {
		if strings.Contains(d, `"`+subject+`"`) {
			return true
		}
	}
	return false
}

// TestShippedPermissions: an actor may publish rollouts and read weights
// but cannot publish weights or touch the stores; the learner may do the
// reverse and write the stores; an evaluator may read the stores and ask
// for the policy, and write nothing.
func TestShippedPermissions(t *testing.T) {
	url := shippedServer(t)
	ctx := testCtx(t, 60*time.Second)
	if _, err := nats.Connect(url, nats.UserInfo("actor", "wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	actor, learner, evaluator := connectAs(t, url, "actor"), connectAs(t, url, "learner"), connectAs(t, url, "evaluator")
	const run = "secure"
	sub := func(rc *roleConn, subject string) *nats.Subscription {
		t.Helper()
		s, err := rc.nc.SubscribeSync(subject)
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	expect := func(s *nats.Subscription, data string, want bool) {
		t.Helper()
		m, err := s.NextMsg(300 * time.Millisecond)
		switch {
		case want && (err != nil || string(m.Data) != data):
			t.Fatalf("%s: did not receive %q: %v", s.Subject, data, err)
		case !want && err == nil:
			t.Fatalf("%s: received %q, which must have been refused", s.Subject, m.Data)
		}
	}

	// Weights: the learner publishes, actors and evaluators read.
	wActor, wEval := sub(actor, "podmedic."+run+".weights"), sub(evaluator, "podmedic."+run+".weights")
	if err := learner.nc.Publish("podmedic."+run+".weights", []byte("w1")); err != nil {
		t.Fatal(err)
	}
	expect(wActor, "w1", true)
	expect(wEval, "w1", true)
	if err := actor.nc.Publish("podmedic."+run+".weights", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	_ = actor.nc.Flush()
	expect(wEval, "forged", false)
	expect(wActor, "forged", false)
	if !actor.deniedTo("podmedic." + run + ".weights") {
		t.Fatalf("the server did not tell the actor it may not publish weights: %v", actor.denied)
	}
	if err := evaluator.nc.Publish("podmedic."+run+".weights", []byte("forged2")); err != nil {
		t.Fatal(err)
	}
	expect(wActor, "forged2", false)

	// Rollouts and lifesigns: actors publish, the learner reads.
	rl := sub(learner, "podmedic."+run+".rollouts")
	hb := sub(learner, "podmedic."+run+".actors.heartbeat")
	if err := actor.nc.Publish("podmedic."+run+".rollouts", []byte("r1")); err != nil {
		t.Fatal(err)
	}
	if err := actor.nc.Publish("podmedic."+run+".actors.heartbeat", []byte("h1")); err != nil {
		t.Fatal(err)
	}
	expect(rl, "r1", true)
	expect(hb, "h1", true)
	if _, err := actor.nc.SubscribeSync("podmedic." + run + ".rollouts"); err == nil {
		_ = actor.nc.Flush()
		time.Sleep(100 * time.Millisecond)
		if !actor.deniedTo("podmedic." + run + ".rollouts") {
			t.Fatal("an actor may read other actors' rollouts")
		}
	}

	// Requests: the learner answers weights.latest and policy.latest.
	for _, s := range []string{"weights.latest", "policy.latest"} {
		rs, err := learner.nc.Subscribe("podmedic."+run+"."+s, func(m *nats.Msg) { _ = m.Respond([]byte("latest")) })
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Unsubscribe()
	}
	_ = learner.nc.Flush()
	if m, err := actor.nc.Request("podmedic."+run+".weights.latest", nil, 2*time.Second); err != nil || string(m.Data) != "latest" {
		t.Fatalf("actor request weights.latest: %v", err)
	}
	if m, err := evaluator.nc.Request("podmedic."+run+".policy.latest", nil, 2*time.Second); err != nil || string(m.Data) != "latest" {
		t.Fatalf("evaluator request policy.latest: %v", err)
	}

	// Stores: the learner writes, the evaluator reads, the actor neither.
	p, err := CreatePolicies(ctx, learner.js, run, PolicyConfig{})
	if err != nil {
		t.Fatalf("learner creates the policy store: %v", err)
	}
	if err := p.Put(ctx, PolicyInfo{Version: 4, Score: 1}, payload(300_000, 4)); err != nil {
		t.Fatalf("learner stores a snapshot: %v", err)
	}
	ck, err := CreateCheckpoints(ctx, learner.js, run, CheckpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := OpenLease(ctx, learner.js, run, "l1", LeaseConfig{TTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := lease.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("learner acquires the lease: %v %v", ok, err)
	}
	if _, err := ck.Put(ctx, lease.Epoch(), 4, payload(200_000, 9)); err != nil {
		t.Fatalf("learner stores a checkpoint: %v", err)
	}
	r, err := OpenPolicies(ctx, evaluator.js, run)
	if err != nil {
		t.Fatalf("evaluator opens the policy store: %v", err)
	}
	data, in, err := r.Latest(ctx)
	if err != nil || in.Version != 4 || !bytes.Equal(data, payload(300_000, 4)) {
		t.Fatalf("evaluator reads the newest snapshot: version %d: %v", in.Version, err)
	}
	if infos, err := r.List(ctx); err != nil || len(infos) != 1 {
		t.Fatalf("evaluator lists: %v %v", infos, err)
	}
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, time.Second)
		t.Cleanup(cancel)
		return c
	}
	if err := r.Put(short(), PolicyInfo{Version: 5, Score: math.NaN()}, payload(10, 5)); err == nil {
		t.Fatal("evaluator stored a snapshot")
	}
	if _, err := CreatePolicies(short(), actor.js, run, PolicyConfig{}); err == nil {
		t.Fatal("actor opened the policy store for writing")
	}
	// The evaluator may read the lease (who is active), not take it.
	el, err := OpenLease(short(), evaluator.js, run, "rogue", LeaseConfig{TTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rec, _, held, err := el.Current(short()); err != nil || !held || rec.Holder != "l1" {
		t.Fatalf("evaluator reads the lease: %+v %v %v", rec, held, err)
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := el.TryAcquire(short()); ok {
		t.Fatal("evaluator acquired the lease")
	}
	if err := evaluator.js.DeleteObjectStore(short(), policiesBucket(run)); err == nil {
		t.Fatal("evaluator deleted the policy store")
	}
	if _, _, err := r.Latest(ctx); err != nil {
		t.Fatalf("policy store after the refused writes: %v", err)
	}
}
