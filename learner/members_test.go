package learner

import (
	"slices"
	"testing"
	"time"

	"podmedic/protocol"
)

func counter() func() uint64 {
	n := uint64(100)
	return func() uint64 { n++; return n }
}

func TestMembersNeedAHelloAndTheirToken(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := newMembers(10*time.Second, 8, 100, 100, counter())
	if r, _ := ms.check("a", 1, 101, false, t0); r != protocol.ReasonNotMember {
		t.Fatalf("a message before any hello: %q, want not_member", r)
	}
	adm := ms.hello("a", 1, t0)
	if !adm.joined || adm.token != 101 {
		t.Fatalf("first hello: %+v", adm)
	}
	if again := ms.hello("a", 1, t0.Add(time.Second)); again.joined || again.token != 101 {
		t.Fatalf("a repeated hello (lost reply) must return the same token without joining again: %+v", again)
	}
	if r, _ := ms.check("a", 1, 999, false, t0); r != protocol.ReasonBadToken {
		t.Fatalf("wrong token: %q, want bad_token", r)
	}
	if r, _ := ms.check("b", 1, 101, false, t0); r != protocol.ReasonNotMember {
		t.Fatalf("a's token under another id: %q, want not_member", r)
	}
	restarted := ms.hello("a", 2, t0.Add(2*time.Second))
	if !restarted.joined || restarted.token == 101 {
		t.Fatalf("a restarted actor (new incarnation) must join with a new token: %+v", restarted)
	}
	if r, _ := ms.check("a", 1, 101, false, t0); r != protocol.ReasonNotMember {
		t.Fatalf("the old incarnation after a restart: %q, want not_member", r)
	}
	ms.hello("b", 1, t0.Add(5*time.Second))
	if lost := ms.reap(t0.Add(12 * time.Second)); len(lost) != 0 {
		t.Fatalf("reaped %v within the timeout", lost)
	}
	if lost := ms.reap(t0.Add(12*time.Second + time.Nanosecond)); !slices.Equal(lost, []string{"a"}) {
		t.Fatalf("reaped %v, want [a] (silent for just over 10 s)", lost)
	}
	tokB := ms.hello("b", 1, t0.Add(13*time.Second)).token
	if r := ms.leave("b", 1, tokB+1); r != protocol.ReasonBadToken {
		t.Fatalf("goodbye with a wrong token: %q", r)
	}
	if r := ms.leave("b", 1, tokB); r != "" || ms.count() != 0 {
		t.Fatalf("goodbye: %q, %d members left", r, ms.count())
	}
}

func TestMembersBoundedAndJoinsRateLimited(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := newMembers(10*time.Second, 3, 2, 2, counter()) // burst 2, then 2 joins/s
	ids := []string{"a", "b", "c", "d"}
	if a, b := ms.hello(ids[0], 1, t0), ms.hello(ids[1], 1, t0); a.refused != "" || b.refused != "" {
		t.Fatal("the burst refused a join")
	}
	c := ms.hello(ids[2], 1, t0)
	if c.refused != protocol.ReasonRateLimited || c.retryAfter != 500*time.Millisecond {
		t.Fatalf("third join at once: %+v, want rate_limited, retry after 0.5 s", c)
	}
	if c = ms.hello(ids[2], 1, t0.Add(500*time.Millisecond)); c.refused != "" {
		t.Fatalf("join after the refill: %+v", c)
	}
	d := ms.hello(ids[3], 1, t0.Add(time.Hour))
	if d.refused != protocol.ReasonMembersFull || ms.count() != 3 {
		t.Fatalf("fourth member of at most 3: %+v, %d members", d, ms.count())
	}
	if again := ms.hello(ids[0], 1, t0.Add(time.Hour)); again.refused != "" {
		t.Fatal("a current member's repeated hello refused when full")
	}
}

func TestRequestLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := newRequestLimiter()
	n := 0
	for i := 0; i < 100; i++ {
		if l.allow("_INBOX.a", t0) {
			n++
		}
	}
	if n != requesterBurst {
		t.Fatalf("%d of 100 requests at once answered, want the burst %d", n, requesterBurst)
	}
	if !l.allow("_INBOX.b", t0) {
		t.Fatal("another requester refused")
	}
	if !l.allow("_INBOX.a", t0.Add(time.Second/requesterRate)) {
		t.Fatal("no refill after 1/rate seconds")
	}
	// All requesters together: at most the global burst at once.
	total := 0
	for i := 0; i < 10*replyBurst; i++ {
		if l.allow(string(rune('A'+i%50))+"-inbox", t0.Add(time.Hour)) {
			total++
		}
	}
	if total != replyBurst {
		t.Fatalf("%d replies at once over 50 requesters, want the global burst %d", total, replyBurst)
	}
	for i := 0; i < 3*maxRequesters; i++ {
		l.allow(string(rune(i))+"x", t0.Add(2*time.Hour))
	}
	if len(l.per) > maxRequesters+1 {
		t.Fatalf("%d requesters tracked, want at most %d", len(l.per), maxRequesters+1)
	}
	q := &protocol.WeightsRequest{}
	if k := requesterKey(q, "_INBOX.abc.17"); k != "_INBOX.abc" {
		t.Fatalf("key %q", k)
	}
	q.ActorID = "actor-1"
	if k := requesterKey(q, "_INBOX.abc.17"); k != "actor:actor-1" {
		t.Fatalf("key %q", k)
	}
}

// TestActiveMembers: a batch waits only for members that sent a rollout
// within the heartbeat timeout, so a member that only said hello holds up
// nothing.
func TestActiveMembers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := newMembers(10*time.Second, 8, 100, 100, counter())
	a, b := ms.hello("a", 1, t0).token, ms.hello("b", 1, t0).token
	if got := ms.active(t0); len(got) != 0 {
		t.Fatalf("active %v before any rollout", got)
	}
	if _, woke := ms.check("a", 1, a, true, t0.Add(time.Second)); !woke {
		t.Fatal("the first rollout did not wake the run")
	}
	ms.check("b", 1, b, false, t0.Add(time.Second)) // a heartbeat
	if _, woke := ms.check("b", 1, b, true, t0.Add(2*time.Second)); woke {
		t.Fatal("a rollout 1 s after another woke the run")
	}
	if got := ms.active(t0.Add(2 * time.Second)); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("active %v, want [a b]", got)
	}
	if got := ms.active(t0.Add(12*time.Second + time.Millisecond)); len(got) != 0 {
		t.Fatalf("active %v 10 s after the last rollouts, want none", got)
	}
	if _, woke := ms.check("b", 1, b, true, t0.Add(13*time.Second)); !woke {
		t.Fatal("a rollout after 11 s without any did not wake the run")
	}
}
