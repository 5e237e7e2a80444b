package natsserver

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestStartServesLargeMessagesOnLoopback(t *testing.T) {
	ns, err := Start(Config{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := nc.MaxPayload(); got != DefaultMaxPayload {
		t.Fatalf("max payload %d, want %d", got, DefaultMaxPayload)
	}
	if host := ns.Addr().String(); host[:10] != "127.0.0.1:" {
		t.Fatalf("listening on %s, want loopback", host)
	}
	sub, err := nc.SubscribeSync("x")
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 2<<20) // over NATS's 1 MiB default
	if err := nc.Publish("x", big); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Data) != len(big) {
		t.Fatalf("received %d bytes, want %d", len(msg.Data), len(big))
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	if _, err := Start(Config{Port: -1, MaxPayload: -1}); err == nil {
		t.Fatal("negative max payload accepted")
	}
}

// TestTakenPortSaidAtOnce: a port in use is reported at once, naming the
// address, instead of after the 10 s readiness wait.
func TestTakenPortSaidAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = Start(Config{Port: port})
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Start on a taken port: %v, want an error naming %s", err, ln.Addr())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s to say the port is taken", d)
	}
	if _, err = Start(Config{Port: -1, HTTPPort: port}); err == nil || !strings.Contains(err.Error(), "monitoring") {
		t.Fatalf("Start with a taken monitoring port: %v", err)
	}
}
