package learner

import (
	"sort"
	"time"
)

// actorTracker knows which actors are alive: an actor is live from its
// first hello, heartbeat or rollout until it has been silent for timeout.
// Not safe for concurrent use; the service's loop owns it.
type actorTracker struct {
	timeout time.Duration
	actors  map[string]actorState
}

type actorState struct {
	incarnation uint64
	lastSeen    time.Time
}

func newActorTracker(timeout time.Duration) *actorTracker {
	return &actorTracker{timeout: timeout, actors: make(map[string]actorState)}
}

// touch records a sign of life and reports whether this is a new actor or
// a new incarnation (a restarted process) of a known one.
func (t *actorTracker) touch(id string, incarnation uint64, now time.Time) (joined bool) {
	st, ok := t.actors[id]
	joined = !ok || st.incarnation != incarnation
	t.actors[id] = actorState{incarnation: incarnation, lastSeen: now}
	return joined
}

// reap forgets actors silent for longer than the timeout and returns them.
func (t *actorTracker) reap(now time.Time) (lost []string) {
	for id, st := range t.actors {
		if now.Sub(st.lastSeen) > t.timeout {
			delete(t.actors, id)
			lost = append(lost, id)
		}
	}
	sort.Strings(lost)
	return lost
}

func (t *actorTracker) isLive(id string) bool {
	_, ok := t.actors[id]
	return ok
}

func (t *actorTracker) count() int { return len(t.actors) }

// live returns the live actor ids in sorted order.
func (t *actorTracker) live() []string {
	ids := make([]string, 0, len(t.actors))
	for id := range t.actors {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
