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
	batch := sync.take()
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
	a.take()
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
