package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// command must stop what it started (train: NATS, learner, actors, HTTP).
func TestMain(m *testing.M) {
	// nats.go v1.55 can leave one goroutine per object store Put waiting
	// on a nil channel (its reconnect watcher starts after the Put's
	// cleanup); it is the library's, not ours.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"))
}
