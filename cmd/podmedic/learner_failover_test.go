package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"podmedic/internal/natsserver"
	"podmedic/learner"
)

// scrapeMetric sums the samples of name on the /metrics at base (-1 if it
// does not answer).
func scrapeMetric(base, name string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			sum += f
		}
	}
	return sum
}

// Two `podmedic learner --store both` processes of one run and an actor:
// one learner trains, the other stands by; stopped, the active one writes
// its last checkpoint (into JetStream and its --dir) and the other takes
// over at once at that version; the store keeps the policies.
func TestLearnerStoreJetStream(t *testing.T) {
	ns, err := natsserver.Start(natsserver.Config{Port: -1, JetStreamDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	url := ns.ClientURL()
	ports := freeTCPPorts(t, 2)
	type proc struct {
		base   string
		dir    string
		out    syncBuffer
		cancel context.CancelFunc
		done   chan error
	}
	start := func(i int) *proc {
		p := &proc{base: "http://127.0.0.1:" + strconv.Itoa(ports[i]), dir: filepath.Join(t.TempDir(), "l"), done: make(chan error, 1)}
		ctx, cancel := context.WithCancel(context.Background())
		p.cancel = cancel
		args := []string{"--store", "both", "--dir", p.dir, "--run", "jsrun", "--nats-url", url, "--http", "127.0.0.1:" + strconv.Itoa(ports[i]),
			"--lease-ttl", "1s", "--learner-id", "l" + strconv.Itoa(i+1), "--checkpoint-every", "2", "--hidden", "16,16",
			"--batch-steps", "64", "--log-level", "warn"}
		go func() { p.done <- runLearner(ctx, args, &p.out, &p.out) }()
		return p
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	l1 := start(0)
	defer func() { l1.cancel(); <-l1.done }()
	wait("l1 to become active", func() bool { return scrapeMetric(l1.base, "podmedic_learner_lease_active") == 1 })
	l2 := start(1)
	defer func() { l2.cancel(); <-l2.done }()
	wait("l2 to stand by", func() bool { return scrapeMetric(l2.base, "podmedic_learner_lease_active") == 0 })

	actx, stopActor := context.WithCancel(context.Background())
	actorDone := make(chan error, 1)
	go func() {
		var out bytes.Buffer
		actorDone <- runActor(actx, []string{"--nats-url", url, "--run", "jsrun", "--envs", "2", "--horizon", "16", "--log-level", "error"}, &out, &out)
	}()
	defer func() { stopActor(); <-actorDone }()
	wait("l1 to reach version 5", func() bool { return scrapeMetric(l1.base, "podmedic_learner_policy_version") >= 5 })

	l1.cancel()
	if err := <-l1.done; err != nil {
		t.Fatalf("l1: %v\n%s", err, l1.out.String())
	}
	l1.cancel = func() {}
	l1.done <- nil
	// "learner l1 stopped at policy version V (epoch E); checkpoint LOC at version V; ..."
	stopped, ckpt := -1, -2
	if _, err := fmt.Sscanf(l1.out.String()[strings.Index(l1.out.String(), "learner l1 stopped"):],
		"learner l1 stopped at policy version %d (epoch %d); checkpoint %s at version %d", &stopped, new(int), new(string), &ckpt); err != nil || stopped != ckpt {
		t.Fatalf("l1's last words (%v):\n%s", err, l1.out.String())
	}
	wait("l2 to take over", func() bool { return scrapeMetric(l2.base, "podmedic_learner_lease_active") == 1 })
	if got := scrapeMetric(l2.base, "podmedic_learner_resumed_version"); stopped < 5 || int(got) != stopped {
		t.Fatalf("l2 resumed at version %v, l1 stopped with its checkpoint at %d:\n%s", got, stopped, l1.out.String())
	}
	if got := scrapeMetric(l2.base, "podmedic_learner_lease_takeovers_total"); got != 1 {
		t.Fatalf("l2 counted %v takeovers, want 1", got)
	}
	if _, err := os.Stat(filepath.Join(l1.dir, "checkpoints", learner.CheckpointName(uint64(stopped)))); err != nil {
		t.Fatalf("no local copy of l1's last checkpoint: %v", err)
	}
	wait("l2 to train on", func() bool { return scrapeMetric(l2.base, "podmedic_learner_policy_version") > float64(stopped) })

	var out, errOut bytes.Buffer
	if err := runPolicy(context.Background(), []string{"list", "--run", "jsrun", "--nats-url", url, "--timeout", "10s"}, &out, &errOut); err != nil {
		t.Fatalf("policy list: %v %s", err, errOut.String())
	}
	if lines := strings.Count(strings.TrimSpace(out.String()), "\n"); lines < 3 {
		t.Fatalf("policy list:\n%s", out.String())
	}
}
