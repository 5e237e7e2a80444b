package learner

import (
	"testing"
	"time"

	"podmedic/protocol"
)

var t0 = time.Unix(1000, 0)

func rollout(actor string, version uint64) *protocol.Rollout {
	return &protocol.Rollout{ActorID: actor, PolicyVersion: version, PolicyEpoch: 9}
}

func TestAssemblerOffer(t *testing.T) {
	cases := []struct {
		name    string
		mode    protocol.Mode
		maxLag  uint64
		pending []*protocol.Rollout
		r       *protocol.Rollout
		want    protocol.Reason
	}{
		{"sync current", protocol.ModeSync, 0, nil, rollout("a", 5), ""},
		{"sync one behind", protocol.ModeSync, 0, nil, rollout("a", 4), protocol.ReasonStaleVersion},
		{"sync second of an actor", protocol.ModeSync, 0, []*protocol.Rollout{rollout("a", 5)}, rollout("a", 5), protocol.ReasonDuplicateVersion},
		{"async within lag", protocol.ModeAsync, 2, nil, rollout("a", 3), ""},
		{"async beyond lag", protocol.ModeAsync, 2, nil, rollout("a", 2), protocol.ReasonStaleVersion},
		{"async several of an actor", protocol.ModeAsync, 2, []*protocol.Rollout{rollout("a", 5)}, rollout("a", 5), ""},
		{"pipelined one behind", protocol.ModePipelined, 0, nil, rollout("a", 4), ""},
		{"pipelined current", protocol.ModePipelined, 0, nil, rollout("a", 5), ""},
		{"pipelined two behind", protocol.ModePipelined, 0, nil, rollout("a", 3), protocol.ReasonStaleVersion},
		{"pipelined next of an actor", protocol.ModePipelined, 0, []*protocol.Rollout{rollout("a", 4)}, rollout("a", 5), ""},
		{"pipelined older than its pending", protocol.ModePipelined, 0, []*protocol.Rollout{rollout("a", 5)}, rollout("a", 4), protocol.ReasonDuplicateVersion},
		{"future version", protocol.ModeAsync, 2, nil, rollout("a", 6), protocol.ReasonFutureVersion},
		{"other epoch", protocol.ModeAsync, 2, nil, &protocol.Rollout{ActorID: "a", PolicyVersion: 5, PolicyEpoch: 8}, protocol.ReasonStaleVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := assembler{mode: c.mode, maxLag: c.maxLag, minActors: 1, pending: c.pending}
			reason, ok := a.offer(c.r, 5, 9, t0)
			if reason != c.want || ok != (c.want == "") {
				t.Fatalf("offer = (%q, %v), want (%q, %v)", reason, ok, c.want, c.want == "")
			}
		})
	}
}

func TestAssemblerReady(t *testing.T) {
	sync := assembler{mode: protocol.ModeSync, minActors: 2}
	if _, ok := sync.offer(rollout("b", 5), 5, 9, t0); !ok {
		t.Fatal("refused")
	}
	if sync.ready([]string{"a", "b"}, t0) {
		t.Fatal("sync batch ready without actor a")
	}
	if sync.ready([]string{"b"}, t0) {
		t.Fatal("sync batch ready below min_actors")
	}
	sync.offer(rollout("a", 5), 5, 9, t0)
	if !sync.ready([]string{"a", "b"}, t0) {
		t.Fatal("sync batch not ready with every live actor in")
	}
	batch, next := sync.take()
	if len(next) != 0 {
		t.Fatalf("sync take returned %d rollouts for the next batch", len(next))
	}
	if len(batch) != 2 || batch[0].ActorID != "a" || batch[1].ActorID != "b" {
		t.Fatalf("sync batch not ordered by actor: %v, %v", batch[0].ActorID, batch[1].ActorID)
	}
	if sync.ready([]string{"a", "b"}, t0) || len(sync.pending) != 0 {
		t.Fatal("take did not start a new batch")
	}

	async := assembler{mode: protocol.ModeAsync, maxLag: 4, minActors: 1}
	async.offer(rollout("a", 5), 5, 9, t0)
	if async.ready([]string{"a", "b"}, t0) {
		t.Fatal("async batch ready with fewer rollouts than live actors")
	}
	async.offer(rollout("a", 5), 5, 9, t0)
	if !async.ready([]string{"a", "b"}, t0) {
		t.Fatal("async batch of two rollouts not ready for two live actors")
	}
	fixed := assembler{mode: protocol.ModeAsync, maxLag: 4, minActors: 1, perUpdate: 3}
	fixed.offer(rollout("a", 5), 5, 9, t0)
	fixed.offer(rollout("b", 5), 5, 9, t0)
	if fixed.ready([]string{"a", "b"}, t0) {
		t.Fatal("rollouts_per_update 3 ready after 2")
	}
}

// TestAssemblerBatchWait: an async batch waits for a rollout per member at
// most batchWait after its first rollout arrived, then goes with what it
// has (at least minActors); sync and a fixed rollouts-per-update never
// stop waiting.
func TestAssemblerBatchWait(t *testing.T) {
	members := []string{"a", "b", "c", "d"} // c and d are gone without a goodbye
	a := assembler{mode: protocol.ModeAsync, maxLag: 4, minActors: 2, batchWait: time.Second}
	if _, ok := a.deadline(); ok {
		t.Fatal("a deadline without a pending rollout")
	}
	a.offer(rollout("a", 5), 5, 9, t0)
	if d, ok := a.deadline(); !ok || !d.Equal(t0.Add(time.Second)) {
		t.Fatalf("deadline %v %v, want 1 s after the first rollout", d, ok)
	}
	if a.ready(members, t0.Add(2*time.Second)) {
		t.Fatal("ready with fewer than min_actors rollouts")
	}
	a.offer(rollout("b", 5), 5, 9, t0.Add(100*time.Millisecond))
	if a.ready(members, t0.Add(999*time.Millisecond)) {
		t.Fatal("stopped waiting for members before batch_wait")
	}
	if !a.ready(members, t0.Add(time.Second)) {
		t.Fatal("still waiting for silent members after batch_wait")
	}
	_, _ = a.take()
	a.offer(rollout("a", 5), 5, 9, t0.Add(5*time.Second))
	if d, _ := a.deadline(); !d.Equal(t0.Add(6 * time.Second)) {
		t.Fatalf("the next batch's deadline %v, want from its own first rollout", d)
	}

	unbounded := assembler{mode: protocol.ModeAsync, maxLag: 4, minActors: 1}
	unbounded.offer(rollout("a", 5), 5, 9, t0)
	if unbounded.ready(members, t0.Add(time.Hour)) {
		t.Fatal("batch_wait 0 stopped waiting")
	}
	sync := assembler{mode: protocol.ModeSync, minActors: 1, batchWait: time.Second}
	sync.offer(rollout("a", 5), 5, 9, t0)
	if _, ok := sync.deadline(); ok || sync.ready(members, t0.Add(time.Hour)) {
		t.Fatal("sync mode stopped waiting for a member")
	}
}

// TestAssemblerPipelined: a pipelined batch takes one rollout per live
// member, at the current version or one behind; an actor's next rollout
// that comes before the update is held for the next batch (once: a third
// is a duplicate) and offered again by the caller after take.
func TestAssemblerPipelined(t *testing.T) {
	a := assembler{mode: protocol.ModePipelined, minActors: 2}
	offer := func(r *protocol.Rollout, current uint64) protocol.Reason {
		t.Helper()
		reason, ok := a.offer(r, current, 9, t0)
		if ok != (reason == "") {
			t.Fatalf("offer = (%q, %v)", reason, ok)
		}
		return reason
	}
	// Version 0, a fresh learner: every actor's first two rollouts use it.
	if r := offer(rollout("b", 0), 0); r != "" {
		t.Fatalf("first rollout refused: %s", r)
	}
	if r := offer(rollout("b", 0), 0); r != "" {
		t.Fatalf("b's second rollout with version 0 refused: %s", r)
	}
	if r := offer(rollout("b", 0), 0); r != protocol.ReasonDuplicateVersion {
		t.Fatalf("b's third rollout before an update: %q, want %q", r, protocol.ReasonDuplicateVersion)
	}
	if a.ready([]string{"a", "b"}, t0) {
		t.Fatal("ready without actor a")
	}
	offer(rollout("a", 0), 0)
	if !a.ready([]string{"a", "b"}, t0) {
		t.Fatal("not ready with a rollout of every member")
	}
	batch, next := a.take()
	if len(batch) != 2 || batch[0].ActorID != "a" || batch[1].ActorID != "b" {
		t.Fatalf("batch %d rollouts, want a and b in order", len(batch))
	}
	if len(next) != 1 || next[0].ActorID != "b" || a.ready([]string{"a", "b"}, t0) {
		t.Fatalf("held %d rollouts for the next batch, want b's second", len(next))
	}
	// The update made version 1: b's held rollout is one behind.
	for _, r := range next {
		offer(r, 1)
	}
	offer(rollout("a", 0), 1)
	if !a.ready([]string{"a", "b"}, t0) {
		t.Fatal("the next batch is not ready")
	}
	batch, _ = a.take()
	// At version 2, what was collected with version 0 is too old.
	if r := offer(batch[0], 2); r != protocol.ReasonStaleVersion {
		t.Fatalf("rollout two versions behind: %q, want %q", r, protocol.ReasonStaleVersion)
	}
}
