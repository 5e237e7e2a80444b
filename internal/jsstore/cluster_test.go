package jsstore

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"podmedic/internal/natsserver"
)

// On a 3-node cluster the buckets get 3 replicas by default, and the
// policy store, the checkpoint store and the lease keep working when a
// node is lost.
func TestClusterSurvivesNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster and a leader election take several seconds")
	}
	c, err := natsserver.StartCluster(3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	js, nc := connect(t, c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	ctx := testCtx(t, 90*time.Second)
	if got := DefaultReplicas(nc); got != 3 {
		t.Fatalf("default replicas on a cluster %d, want 3", got)
	}
	p, err := CreatePolicies(ctx, js, "run1", PolicyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := CreateCheckpoints(ctx, js, "run1", CheckpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := OpenLease(ctx, js, "run1", "a", LeaseConfig{TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"OBJ_" + policiesBucket("run1"), "OBJ_" + checkpointsBucket("run1"), "KV_" + leaseBucket("run1")} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := s.CachedInfo().Config.Replicas; r != 3 {
			t.Fatalf("%s has %d replicas, want 3", name, r)
		}
	}
	if ok, err := lease.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	if err := p.Put(ctx, PolicyInfo{Version: 1, Score: math.NaN()}, payload(200_000, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := ck.Put(ctx, lease.Epoch(), 1, payload(300_000, 1)); err != nil {
		t.Fatal(err)
	}

	// Lose the node that leads the policy stream: the worst case.
	lost := -1
	for i, ns := range c.Nodes {
		if ns.JetStreamIsStreamLeader("$G", "OBJ_"+policiesBucket("run1")) {
			lost = i
		}
	}
	if lost < 0 {
		t.Fatal("no leader for the policy stream")
	}
	c.Stop(lost)
	start := time.Now()
	// Reads and writes resume after the survivors elect new leaders.
	var data []byte
	for data == nil {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		data, _, err = p.Latest(actx)
		cancel()
		if err != nil {
			t.Logf("+%s: %v", time.Since(start).Round(time.Millisecond), err)
			if ctx.Err() != nil {
				t.Fatalf("policy store unreadable after losing a node: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if !bytes.Equal(data, payload(200_000, 1)) {
		t.Fatal("snapshot changed after losing a node")
	}
	for {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = p.Put(actx, PolicyInfo{Version: 2, Score: math.NaN()}, payload(200_000, 2))
		cancel()
		if err == nil {
			break
		}
		t.Logf("+%s: %v", time.Since(start).Round(time.Millisecond), err)
		if ctx.Err() != nil {
			t.Fatalf("policy store unwritable after losing a node: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	recovered := time.Since(start)
	if _, _, _, err := ck.Latest(ctx, nil); err != nil {
		t.Fatalf("checkpoint after losing a node: %v", err)
	}
	if err := lease.Renew(ctx); err != nil {
		t.Fatalf("renew after losing a node: %v", err)
	}
	t.Logf("stores writable again %s after losing node %d", recovered.Round(time.Millisecond), lost+1)
}
