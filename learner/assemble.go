package learner

import (
	"sort"

	"podmedic/protocol"
)

// assembler collects valid rollouts into the next batch. It is pure
// bookkeeping (no clock, no I/O) so that batching rules are unit-tested
// directly. Not safe for concurrent use.
type assembler struct {
	mode      protocol.Mode
	maxLag    uint64
	minActors int
	perUpdate int

	pending []*protocol.Rollout
}

// offer adds r to the batch being built for policy version current of
// learner epoch, or returns the reason it is refused.
func (a *assembler) offer(r *protocol.Rollout, current, epoch uint64) (protocol.Reason, bool) {
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
	if a.mode == protocol.ModeSync && lag != 0 || a.mode == protocol.ModeAsync && lag > a.maxLag {
		return protocol.ReasonStaleVersion, false
	}
	if a.mode == protocol.ModeSync {
		for _, p := range a.pending {
			if p.ActorID == r.ActorID {
				return protocol.ReasonDuplicateVersion, false
			}
		}
	}
	a.pending = append(a.pending, r)
	return "", true
}

// ready reports whether the batch is complete. live lists the live actors
// in sorted order.
func (a *assembler) ready(live []string) bool {
	if len(a.pending) == 0 {
		return false
	}
	if a.mode == protocol.ModeAsync {
		want := a.perUpdate
		if want == 0 {
			want = max(1, len(live), a.minActors)
		}
		return len(a.pending) >= want
	}
	if len(a.pending) < a.minActors {
		return false
	}
	for _, id := range live {
		if !a.has(id) {
			return false
		}
	}
	return true
}

func (a *assembler) has(actor string) bool {
	for _, p := range a.pending {
		if p.ActorID == actor {
			return true
		}
	}
	return false
}

// take returns every pending rollout as the batch and starts a new one:
// in async mode actors run up to MaxAhead rollouts ahead, and using all
// fresh data beats letting it go stale in the queue. In sync mode the rollouts
// are ordered by actor id so that a seeded run is reproducible whatever
// order they arrived in.
func (a *assembler) take() []*protocol.Rollout {
	batch := a.pending
	a.pending = nil
	if a.mode == protocol.ModeSync {
		sort.Slice(batch, func(i, j int) bool { return batch[i].ActorID < batch[j].ActorID })
	}
	return batch
}
