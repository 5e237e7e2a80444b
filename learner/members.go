package learner

import (
	"math"
	"sort"
	"sync"
	"time"

	"podmedic/protocol"
)

// members is the run's membership: an actor becomes a member only through
// an accepted hello, which issues it a random token; its rollouts,
// heartbeats and goodbye must carry that token. A member leaves with a
// goodbye at once, or is dropped after HeartbeatTimeout of silence. Joins
// are rate-limited and the member count is bounded, so made-up actors can
// neither join for free nor grow memory. Safe for concurrent use: the NATS
// handlers admit and check, the loop reaps and reads the live set.
type members struct {
	timeout  time.Duration
	max      int
	newToken func() uint64

	mu          sync.Mutex
	joins       tokenBucket
	m           map[string]*member
	lastRollout time.Time // of any member
}

type member struct {
	incarnation uint64
	token       uint64
	lastSeen    time.Time
	lastRollout time.Time // zero until its first rollout
}

func newMembers(timeout time.Duration, maxMembers int, joinRate float64, joinBurst int, newToken func() uint64) *members {
	return &members{timeout: timeout, max: maxMembers, newToken: newToken,
		joins: tokenBucket{rate: joinRate, burst: float64(joinBurst)}, m: map[string]*member{}}
}

// admission is the outcome of a hello.
type admission struct {
	token uint64
	// joined: a new member, or a new incarnation replacing one.
	joined bool
	// refused says why a hello was refused, with when to retry.
	refused    protocol.Reason
	retryAfter time.Duration
}

// hello admits actor id's incarnation. A repeated hello of a current
// member returns its token (its reply may have been lost).
func (ms *members) hello(id string, incarnation uint64, now time.Time) admission {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m, ok := ms.m[id]
	if ok && m.incarnation == incarnation {
		m.lastSeen = now
		return admission{token: m.token}
	}
	if !ok && len(ms.m) >= ms.max {
		return admission{refused: protocol.ReasonMembersFull, retryAfter: ms.timeout}
	}
	if wait := ms.joins.take(now); wait > 0 {
		return admission{refused: protocol.ReasonRateLimited, retryAfter: wait}
	}
	tok := ms.newToken()
	ms.m[id] = &member{incarnation: incarnation, token: tok, lastSeen: now}
	return admission{token: tok, joined: true}
}

// check reports why a message claiming to be actor id's incarnation with
// token is not from a current member ("" if it is); a member's message
// counts as a sign of life, and a rollout makes it active (see active).
// woke reports a rollout after none of any member for the heartbeat
// timeout: the run has become active.
func (ms *members) check(id string, incarnation, token uint64, rollout bool, now time.Time) (reason protocol.Reason, woke bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m, ok := ms.m[id]
	switch {
	case !ok || m.incarnation != incarnation:
		return protocol.ReasonNotMember, false
	case m.token != token:
		return protocol.ReasonBadToken, false
	}
	m.lastSeen = now
	if rollout {
		woke = ms.lastRollout.IsZero() || now.Sub(ms.lastRollout) > ms.timeout
		m.lastRollout, ms.lastRollout = now, now
	}
	return "", woke
}

// leave removes a member that said goodbye; "" if it left.
func (ms *members) leave(id string, incarnation, token uint64) protocol.Reason {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m, ok := ms.m[id]
	switch {
	case !ok || m.incarnation != incarnation:
		return protocol.ReasonNotMember
	case m.token != token:
		return protocol.ReasonBadToken
	}
	delete(ms.m, id)
	return ""
}

// reap drops members silent for longer than the timeout and returns them
// in sorted order.
func (ms *members) reap(now time.Time) (lost []string) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for id, m := range ms.m {
		if now.Sub(m.lastSeen) > ms.timeout {
			delete(ms.m, id)
			lost = append(lost, id)
		}
	}
	sort.Strings(lost)
	return lost
}

func (ms *members) count() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return len(ms.m)
}

// active returns, in sorted order, the members that sent a rollout within
// the heartbeat timeout before now: those a batch waits for. A member that
// joined but has sent nothing yet (still starting, or a made-up actor that
// only said hello) holds up no update.
func (ms *members) active(now time.Time) []string {
	ms.mu.Lock()
	ids := make([]string, 0, len(ms.m))
	for id, m := range ms.m {
		if !m.lastRollout.IsZero() && now.Sub(m.lastRollout) <= ms.timeout {
			ids = append(ids, id)
		}
	}
	ms.mu.Unlock()
	sort.Strings(ids)
	return ids
}

// tokenBucket allows burst events at once and rate per second on
// average. The zero value of last means "full". Not safe for concurrent
// use (its owner locks).
type tokenBucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

// take spends one token if there is one and returns 0, or returns how
// long until one is available.
func (b *tokenBucket) take(now time.Time) time.Duration {
	if b.last.IsZero() {
		b.tokens, b.last = b.burst, now
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration(math.Ceil((1 - b.tokens) / b.rate * float64(time.Second)))
}
