package learner

import (
	"sort"
	"time"

	"podmedic/protocol"
)

// assembler collects valid rollouts into the next batch. It is pure
// bookkeeping (no clock of its own, no I/O) so that batching rules are
// unit-tested directly. Not safe for concurrent use.
type assembler struct {
	mode      protocol.Mode
	maxLag    uint64
	minActors int
	perUpdate int
	// batchWait bounds, in async mode with perUpdate 0, how long a batch
	// waits for every member once its first rollout arrived (0: no bound).
	batchWait time.Duration

	pending []*protocol.Rollout
	since   time.Time // when the first pending rollout arrived
	// next holds, in pipelined mode, rollouts of actors that already have
	// one in the batch: an actor's next rollout, collected with the
	// version the batch is about to produce (or, after the first weights
	// of a learner, with the same version), arrives before the update when
	// the learner waits for a slower actor. take makes them the start of
	// the next batch. At most one per actor.
	next []*protocol.Rollout
}

// offer adds r, arriving at now, to the batch being built for policy
// version current of learner epoch, or returns the reason it is refused.
func (a *assembler) offer(r *protocol.Rollout, current, epoch uint64, now time.Time) (protocol.Reason, bool) {
	if r.PolicyEpoch != epoch {
		// Weights of another learner process (before a restart): even at a
		// version number reached again they are different parameters.
		return protocol.ReasonStaleVersion, false
	}
	if r.PolicyVersion > current {
		// Collected with weights from a learner incarnation that got further
		// than this one's checkpoint: never train on it.
		return protocol.ReasonFutureVersion, false
	}
	lag := current - r.PolicyVersion
	switch {
	case a.mode == protocol.ModeSync && lag != 0,
		a.mode == protocol.ModePipelined && lag > 1,
		a.mode == protocol.ModeAsync && lag > a.maxLag:
		return protocol.ReasonStaleVersion, false
	}
	if a.mode.Lockstep() && a.has(r.ActorID) {
		if a.mode == protocol.ModeSync || a.hasNext(r.ActorID) || r.PolicyVersion < a.versionOf(r.ActorID) {
			return protocol.ReasonDuplicateVersion, false
		}
		a.next = append(a.next, r)
		return "", true
	}
	if len(a.pending) == 0 {
		a.since = now
	}
	a.pending = append(a.pending, r)
	return "", true
}

// ready reports whether the batch is complete at now. live lists the
// members in sorted order.
func (a *assembler) ready(live []string, now time.Time) bool {
	if len(a.pending) == 0 {
		return false
	}
	if a.mode == protocol.ModeAsync {
		if a.perUpdate > 0 {
			return len(a.pending) >= a.perUpdate
		}
		if len(a.pending) >= max(1, len(live), a.minActors) {
			return true
		}
		// Waited long enough for the missing members: go with what came.
		return a.batchWait > 0 && len(a.pending) >= a.minActors && now.Sub(a.since) >= a.batchWait
	}
	if len(a.pending) < a.minActors {
		return false
	}
	for _, id := range live { // sync and pipelined: every live member
		if !a.has(id) {
			return false
		}
	}
	return true
}

// deadline returns when an incomplete async batch stops waiting for
// missing members, and false when no such deadline applies.
func (a *assembler) deadline() (time.Time, bool) {
	if a.mode != protocol.ModeAsync || a.perUpdate > 0 || a.batchWait <= 0 || len(a.pending) == 0 {
		return time.Time{}, false
	}
	return a.since.Add(a.batchWait), true
}

func (a *assembler) has(actor string) bool { return a.versionOf(actor) != noRollout }

// noRollout: versionOf's answer for an actor without a pending rollout.
const noRollout = ^uint64(0)

// versionOf returns the policy version of actor's pending rollout.
func (a *assembler) versionOf(actor string) uint64 {
	for _, p := range a.pending {
		if p.ActorID == actor {
			return p.PolicyVersion
		}
	}
	return noRollout
}

func (a *assembler) hasNext(actor string) bool {
	for _, p := range a.next {
		if p.ActorID == actor {
			return true
		}
	}
	return false
}

// take returns every pending rollout as the batch and starts a new one:
// in async mode actors run up to MaxAhead rollouts ahead, and using all
// fresh data beats letting it go stale in the queue. In sync and pipelined
// mode the rollouts are ordered by actor id so that a seeded run is
// reproducible whatever order they arrived in. The rollouts held for the
// next batch (pipelined) are returned too, to be offered again once the
// update has set the new version.
func (a *assembler) take() (batch, next []*protocol.Rollout) {
	batch, next = a.pending, a.next
	a.pending, a.next = nil, nil
	if a.mode.Lockstep() {
		sort.Slice(batch, func(i, j int) bool { return batch[i].ActorID < batch[j].ActorID })
	}
	return batch, next
}
