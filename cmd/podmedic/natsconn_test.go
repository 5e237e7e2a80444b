package main

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"podmedic/internal/natsserver"
)

// TestConnectAuthenticates checks the client flags against a server that
// requires credentials: the right ones connect, wrong ones never do.
func TestConnectAuthenticates(t *testing.T) {
	cases := []struct {
		name      string
		server    natsserver.Config
		good, bad natsFlags
	}{
		{"token", natsserver.Config{Port: -1, Token: "s3cret"}, natsFlags{token: "s3cret"}, natsFlags{token: "wrong"}},
		{"user and password", natsserver.Config{Port: -1, User: "ann", Password: "pw"},
			natsFlags{user: "ann", password: "pw"}, natsFlags{user: "ann", password: "nope"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns, err := natsserver.Start(c.server)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
			c.good.url, c.bad.url = ns.ClientURL(), ns.ClientURL()
			if err := c.good.validate(); err != nil {
				t.Fatal(err)
			}
			nc, err := c.good.connect("good", hclog.NewNullLogger(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			waitConnected(t, func() bool { return nc.IsConnected() }, true)

			bad, err := c.bad.connect("bad", hclog.NewNullLogger(), nil)
			if err == nil {
				defer bad.Close()
				waitConnected(t, func() bool { return bad.IsConnected() }, false)
			}
		})
	}
}

// waitConnected waits up to 2 s for cond to become want, or checks it
// stays false for that long.
func waitConnected(t *testing.T, cond func() bool, want bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if cond() && want {
			return
		}
		if cond() && !want {
			t.Fatal("connected with wrong credentials")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want {
		t.Fatal("not connected within 2 s with the right credentials")
	}
}

func TestNATSFlagsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		f    natsFlags
	}{
		{"two methods", natsFlags{token: "a", user: "b"}},
		{"password alone", natsFlags{password: "p"}},
		{"cert without key", natsFlags{tlsCert: "c.pem"}},
	} {
		if err := c.f.validate(); err == nil || !isFlagError(err) {
			t.Errorf("%s: got %v, want a flag error", c.name, err)
		}
	}
}

// freezingProxy forwards TCP connections to target until freeze, after
// which it keeps every connection open but passes nothing on: a server
// that vanished without closing (a partitioned or frozen host).
type freezingProxy struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezingProxy(t *testing.T, target string) *freezingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezingProxy{ln: ln, target: target}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); p.pipe(out, in) }()
			go func() { defer wg.Done(); p.pipe(in, out) }()
		}
	}()
	return p
}

// pipe copies src to dst until either closes, dropping what comes after
// the freeze.
func (p *freezingProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if p.frozen.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// A server that goes silent without closing the connection is noticed
// within 12 s (pingInterval x (maxPingsOut + 1) = 9 s), not after nats.go's
// default of 4 minutes or more, and what is published meanwhile waits in the reconnect buffer
// for the next server instead of vanishing into the dead socket.
func TestConnectNoticesASilentServer(t *testing.T) {
	ns, err := natsserver.Start(natsserver.Config{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	proxy := newFreezingProxy(t, strings.TrimPrefix(ns.ClientURL(), "nats://"))
	f := natsFlags{url: "nats://" + proxy.ln.Addr().String() + "," + ns.ClientURL()}
	nc, err := f.connect("silent", hclog.NewNullLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { nc.Close() }() // the last of the connections below
	waitConnected(t, nc.IsConnected, true)
	// Make sure the connection goes through the proxy, then freeze it.
	viaProxy := f.url[:strings.Index(f.url, ",")]
	for nc.ConnectedUrl() != viaProxy {
		nc.Close()
		if nc, err = f.connect("silent", hclog.NewNullLogger(), nil); err != nil {
			t.Fatal(err)
		}
		waitConnected(t, nc.IsConnected, true)
	}
	watcher, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	got, err := watcher.SubscribeSync("after.freeze")
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	frozeAt := time.Now()
	proxy.frozen.Store(true)
	// Within 12 s: inside a 20 s partition and inside the 15 s lease.
	const limit = 12 * time.Second
	for nc.Status() == nats.CONNECTED && nc.ConnectedUrl() == viaProxy && time.Since(frozeAt) < limit {
		time.Sleep(50 * time.Millisecond)
	}
	noticed := time.Since(frozeAt)
	if noticed >= limit {
		t.Fatalf("still connected to the silent server %s after it froze", noticed.Round(time.Millisecond))
	}
	t.Logf("silent server noticed after %s", noticed.Round(time.Millisecond))
	if err := nc.Publish("after.freeze", []byte("kept")); err != nil {
		t.Fatalf("publish while reconnecting: %v", err)
	}
	m, err := got.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("a message published after the freeze never arrived through the other server: %v", err)
	}
	if string(m.Data) != "kept" {
		t.Fatalf("got %q", m.Data)
	}
}
