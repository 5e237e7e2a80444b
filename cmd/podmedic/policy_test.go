package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"podmedic/envsim"
	"podmedic/eval"
	"podmedic/internal/jsstore"
	"podmedic/internal/natsserver"
	"podmedic/protocol"
)

// storeSnapshots starts a JetStream server, stores snapshots of versions
// 1..n for run (scores peak at version 2) from the weights of a learner's
// initial policy, and returns the server URL.
func storeSnapshots(t *testing.T, run string, n int) string {
	t.Helper()
	ns, err := natsserver.Start(natsserver.Config{Port: -1, JetStreamDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	_, svc := evalLearner(t, run+"-src", envsim.DefaultConfig())
	w, err := protocol.DecodeWeights(svc.Weights(), protocol.SnapshotLimits())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := jsstore.CreatePolicies(ctx, js, run, jsstore.PolicyConfig{Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= n; v++ {
		w.Version, w.Run = uint64(v), run
		data, err := protocol.AppendWeights([]byte(protocol.SnapshotMagic), w)
		if err != nil {
			t.Fatal(err)
		}
		score := -math.Abs(float64(v - 2))
		if err := p.Put(ctx, jsstore.PolicyInfo{Version: uint64(v), Epoch: 3, Score: score, Metrics: map[string]float64{"env_steps": float64(100 * v)}}, data); err != nil {
			t.Fatal(err)
		}
	}
	return ns.ClientURL()
}

func TestPolicyListAndGet(t *testing.T) {
	url := storeSnapshots(t, "prun", 5)
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := runPolicy(context.Background(), append(args, "--nats-url", url, "--run", "prun", "--timeout", "20s"), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := run("list")
	if err != nil {
		t.Fatal(err)
	}
	// Kept: versions 4 and 5 (the last 2) and 2 (the best).
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "2 ") || !strings.Contains(lines[1], "(best)") ||
		!strings.HasPrefix(lines[2], "4 ") || !strings.HasPrefix(lines[3], "5 ") || !strings.Contains(lines[3], "env_steps=500") {
		t.Fatalf("list:\n%s", out)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		version string
		want    uint64
	}{{"4", 4}, {"latest", 5}, {"best", 2}} {
		path := filepath.Join(dir, tc.version+".snapshot")
		if out, err := run("get", "--version", tc.version, "--out", path); err != nil {
			t.Fatalf("get %s: %v\n%s", tc.version, err, out)
		}
		w, err := protocol.ReadSnapshotFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if w.Version != tc.want {
			t.Fatalf("get --version %s wrote version %d, want %d", tc.version, w.Version, tc.want)
		}
	}
	if out, err := run("get", "--version", "1", "--out", filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("get a pruned version: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Fatal("a failed get wrote its file")
	}
	for _, bad := range [][]string{{}, {"put"}, {"get", "--version", "x", "--out", "f"}, {"get"}} {
		var out, errOut bytes.Buffer
		if err := runPolicy(context.Background(), bad, &out, &errOut); err == nil || !isFlagError(err) {
			t.Errorf("policy %v: got %v, want a flag error", bad, err)
		}
	}
	var out2, errOut bytes.Buffer
	err = runPolicy(context.Background(), []string{"list", "--nats-url", url, "--run", "nosuchrun", "--timeout", "5s"}, &out2, &errOut)
	if err == nil || !strings.Contains(err.Error(), "no such store") || !strings.Contains(err.Error(), "nosuchrun") {
		t.Fatalf("list of an unknown run: %v", err)
	}
}

// evaluate --policy nats reads the newest snapshot from the store when no
// learner of the run is running.
func TestEvaluateFromStoreWithoutLearner(t *testing.T) {
	url := storeSnapshots(t, "stored", 3)
	dir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	args := []string{"--policy", "nats", "--nats-url", url, "--run", "stored", "--episodes", "1", "--scenarios", "pod-kill",
		"--policies", "trained,noop", "--bootstrap", "100", "--out", dir, "--timeout", "20s"}
	if err := runEvaluate(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("evaluate: %v (stderr %s)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "policy version 3 from nats") {
		t.Fatalf("stdout %q", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, eval.ReportFile)); err != nil {
		t.Fatal(err)
	}
}
