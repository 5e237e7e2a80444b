package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"podmedic/envsim"
	"podmedic/internal/natsserver"
	"podmedic/protocol"
)

// securedServer runs a server with the shipped accounts and permissions
// (deploy/compose/nats/accounts.conf); passwords are <role>-pw.
func securedServer(t *testing.T) *server.Server {
	t.Helper()
	dir := t.TempDir()
	acc, err := os.ReadFile(filepath.Join("..", "..", "deploy", "compose", "nats", "accounts.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := "listen: 127.0.0.1:-1\njetstream { store_dir: \"" + filepath.Join(dir, "js") + "\" }\ninclude \"accounts.conf\"\n"
	for name, body := range map[string][]byte{"accounts.conf": acc, "nats.conf": []byte(conf)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range []string{"ACTOR", "LEARNER", "EVALUATOR"} {
		t.Setenv("NATS_"+role+"_PASSWORD", strings.ToLower(role)+"-pw")
	}
	ns, err := natsserver.Start(natsserver.Config{ConfigFile: filepath.Join(dir, "nats.conf")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// An actor's credentials cannot publish weights, and a watcher counts the
// epochs it sees and the times an older one came back.
func TestWatchEpochsAndRefusedPublish(t *testing.T) {
	ns := securedServer(t)
	_, svc := evalLearner(t, "watchsrc", envsim.DefaultConfig())
	w, err := protocol.DecodeWeights(svc.Weights(), protocol.SnapshotLimits())
	if err != nil {
		t.Fatal(err)
	}
	before := ns.NumSubscriptions()
	var out, errOut bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	var runErr error
	go func() {
		defer wg.Done()
		runErr = runWatch(context.Background(), []string{"--run", "w1", "--duration", "4s", "--try-publish",
			"--nats-url", ns.ClientURL(), "--nats-user", "actor", "--nats-password", "actor-pw"}, &out, &errOut)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for ns.NumSubscriptions() <= before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	learnerNC, err := nats.Connect(ns.ClientURL(), nats.UserInfo("learner", "learner-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer learnerNC.Close()
	for _, ev := range []struct{ epoch, version uint64 }{{5, 1}, {5, 2}, {9, 1}, {5, 3}} {
		w.Epoch, w.Version = ev.epoch, ev.version
		data, err := protocol.EncodeWeights(w, 8<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := learnerNC.Publish("podmedic.w1.weights", data); err != nil {
			t.Fatal(err)
		}
	}
	if err := learnerNC.Flush(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if runErr != nil {
		t.Fatalf("watch: %v\n%s", runErr, errOut.String())
	}
	const want = "watch summary: messages=4 epochs=5,9 regressions=1 undecodable=0 publish_refused=1"
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "epoch=5 version=3 bytes=") {
		t.Fatalf("output lacks %q:\n%s", want, out.String())
	}
}
