package jsstore

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"podmedic/internal/natsserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, ignoreNATSLeak) }

// ignoreNATSLeak skips a goroutine nats.go v1.55 can leak: each object
// store Put makes a JetStream context whose reconnect watcher starts
// after the Put has already cleaned up, and then waits on a nil channel
// for good.
var ignoreNATSLeak = goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect")

// jetStream starts a single JetStream server on a random loopback port
// and returns a client of it.
func jetStream(t *testing.T) (jetstream.JetStream, *nats.Conn) {
	t.Helper()
	ns, err := natsserver.Start(natsserver.Config{Port: -1, JetStreamDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return connect(t, ns.ClientURL())
}

func connect(t *testing.T, url string, opts ...nats.Option) (jetstream.JetStream, *nats.Conn) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js, nc
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// payload is n bytes all equal to b, so that a torn read shows.
func payload(n int, b byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = b
	}
	return p
}
