package main

import (
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

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
