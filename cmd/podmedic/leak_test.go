package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// command must stop what it started (train: NATS, learner, actors, HTTP).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
