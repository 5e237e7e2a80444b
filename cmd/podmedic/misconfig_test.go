package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"podmedic/learner"
)

// TestUsageLinesMatchFlags: every --flag a command's usage line mentions
// is a flag the command accepts.
func TestUsageLinesMatchFlags(t *testing.T) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	flagRE := regexp.MustCompile(`--[a-z0-9][a-z0-9-]*`)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := Run(context.Background(), []string{name, "-h"}, &out, &errOut); exitCode(err, &errOut) != 0 {
				t.Fatalf("%s -h: %v", name, err)
			}
			text := errOut.String()
			i := strings.Index(text, "\n  --")
			if !strings.HasPrefix(text, "Usage: podmedic "+name) || i < 0 {
				t.Fatalf("help of %s does not start with its usage and list flags:\n%s", name, text)
			}
			synopsis, flags := text[:i], text[i:]
			for _, f := range flagRE.FindAllString(synopsis, -1) {
				if !strings.Contains(flags, "\n  "+f+"\n") {
					t.Errorf("usage of %s mentions %s, which is not one of its flags", name, f)
				}
			}
		})
	}
}

// TestBadPortsRefusedBeforeStarting: invalid ports are usage errors (exit
// 2) at once, before any server or connection starts.
func TestBadPortsRefusedBeforeStarting(t *testing.T) {
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"nats", "--nats-port", "99999"}, "--nats-port"},
		{[]string{"nats", "--nats-port", "0"}, "--nats-port"},
		{[]string{"nats", "--nats-http-port", "-3"}, "--nats-http-port"},
		{[]string{"learner", "--http", "127.0.0.1:99999", "--nats-url", "nats://127.0.0.1:1"}, "--http"},
		{[]string{"actor", "--http", "nohostport", "--nats-url", "nats://127.0.0.1:1"}, "--http"},
		{[]string{"train", "--http", "127.0.0.1:70000"}, "--http"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			start := time.Now()
			var out, errOut bytes.Buffer
			err := Run(context.Background(), c.args, &out, &errOut)
			if code := exitCode(err, &errOut); code != 2 || !strings.Contains(errOut.String(), c.msg) {
				t.Fatalf("exit %d, stderr %q; want 2 naming %s", code, errOut.String(), c.msg)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("took %s to refuse", d)
			}
		})
	}
	// A taken port is said at once, naming it (it used to take 10 s).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	start := time.Now()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), []string{"nats", "--nats-port", port, "--nats-http-port", "0"}, &out, &errOut)
	if code := exitCode(err, &errOut); code != 1 || !strings.Contains(errOut.String(), "127.0.0.1:"+port) || time.Since(start) > 2*time.Second {
		t.Fatalf("taken port: exit %d after %s, stderr %q", code, time.Since(start), errOut.String())
	}
}

// syncBuffer is an io.Writer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLearnerOnADeadURLSaysSo: a learner pointed at a NATS URL where
// nothing listens names the URL at once (it used to exit after 10 s with
// "flush subscriptions: nats: timeout").
func TestLearnerOnADeadURLSaysSo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"learner", "--nats-url", url, "--dir", t.TempDir(), "--http", "127.0.0.1:0"}, &out, &errOut)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(errOut.String(), "cannot connect to NATS") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning within 5 s:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if line := errOut.String(); !strings.Contains(line, "[WARN]") || !strings.Contains(line, url) {
		t.Fatalf("warning does not name the URL at warn level:\n%s", line)
	}
	cancel()
	select {
	case err := <-done:
		if !strings.Contains(err.Error(), url) {
			t.Fatalf("interrupted learner returned %v, want an error naming %s", err, url)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("learner waiting for NATS did not stop on cancel")
	}
}

// TestLearnerRefusesAllCorruptCheckpoints: `podmedic learner` on a run
// directory whose checkpoints are all broken exits non-zero naming them,
// and --fresh starts over.
func TestLearnerRefusesAllCorruptCheckpoints(t *testing.T) {
	dir := t.TempDir()
	ckdir := filepath.Join(dir, "checkpoints")
	if err := os.MkdirAll(ckdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint64{10, 20} {
		if err := os.WriteFile(filepath.Join(ckdir, learner.CheckpointName(v)), []byte("PODMDCKP\x01\x00\x00\x00trunc"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"learner", "--dir", dir, "--nats-url", "nats://127.0.0.1:1", "--http", ""}, &out, &errOut)
	if code := exitCode(err, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, errOut.String())
	}
	for _, v := range []uint64{10, 20} {
		if !strings.Contains(errOut.String(), learner.CheckpointName(v)) {
			t.Fatalf("stderr does not name %s:\n%s", learner.CheckpointName(v), errOut.String())
		}
	}
	if !strings.Contains(errOut.String(), "--fresh") {
		t.Fatalf("stderr does not say how to start over:\n%s", errOut.String())
	}
}
