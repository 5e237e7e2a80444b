package actor

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"podmedic/protocol"
)

// syncBuffer is a log destination safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the log lines containing sub.
func (s *syncBuffer) lines(sub string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s.b.String(), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// startLogged is start with the actor's log (default level: info) in buf.
func startLogged(t *testing.T, cfg Config, c conn, buf *syncBuffer) *running {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	a, err := newActor(cfg, tickEnvs(1), c, m, hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Info}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{a: a, m: m, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	return r
}

// TestNoLearnerIsSaidAtOnce: with nobody answering on the run's subjects
// (a wrong --run, or no learner yet) the actor collects nothing, says
// hello with back-off, and warns at the default level after 5 s naming the
// subject and the NATS URL, then again after 10, 20 and 40 s.
func TestNoLearnerIsSaidAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setMember(nil)
		var log syncBuffer
		t0 := time.Now()
		r := startLogged(t, testConfig(protocol.ModeAsync), c, &log)
		time.Sleep(4900 * time.Millisecond)
		synctest.Wait()
		if n := len(log.lines("[WARN]")); n != 0 {
			t.Fatalf("%d warnings before 5 s", n)
		}
		time.Sleep(60 * time.Second)
		synctest.Wait()
		warns := log.lines("no learner answers")
		if len(warns) != 4 {
			t.Fatalf("%d warnings in 65 s, want 4 (at 5, 10, 20, 40 s):\n%s", len(warns), strings.Join(log.lines(""), "\n"))
		}
		for _, w := range warns {
			if !strings.Contains(w, "[WARN]") || !strings.Contains(w, "podmedic.t.actors.hello") || !strings.Contains(w, "nats://mem:4222") {
				t.Fatalf("warning %q does not name the subject and the URL", w)
			}
		}
		hellos := offsets(t0, c.requestTimes(subjects(t).Hello))
		want := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond, 1500 * time.Millisecond, 3100 * time.Millisecond, 6300 * time.Millisecond}
		if !equalDurations(hellos[:len(want)], want) {
			t.Fatalf("hellos at %v, want back-off from 0.1 s doubling to 5 s", hellos)
		}
		if n := len(c.rollouts(t)) + len(c.requestTimes()); n != 0 {
			t.Fatalf("%d rollouts or weights requests before joining", n)
		}
		if got := testutil.ToFloat64(r.m.Unanswered.WithLabelValues("actors.hello")); got != float64(len(hellos)) {
			t.Fatalf("unanswered hellos %v, want %d", got, len(hellos))
		}
		// The learner appears: the actor joins, says so, and collects.
		c.setMember(acceptAll)
		c.setLatest(weights(t, 1, 1))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if len(c.rollouts(t)) == 0 || len(log.lines("the learner answers again")) != 1 {
			t.Fatal("no rollouts or no all-clear after the learner appeared")
		}
		r.stop(t)
	})
}

// TestRejoinsAfterTheLearnerForgetsIt: a heartbeat answered "not a member"
// (a restarted learner) makes the actor say hello again at once and send
// later rollouts with the new token.
func TestRejoinsAfterTheLearnerForgetsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 0, 1))
		cfg := testConfig(protocol.ModeSync)
		r := start(t, cfg, c, 1)
		synctest.Wait()
		if rs := c.rollouts(t); len(rs) != 1 || rs[0].MemberToken != 42 {
			t.Fatalf("first rollouts %+v", rs)
		}
		c.setMember(func(subject string) *protocol.MemberReply {
			if subject == subjects(t).Heartbeat {
				return &protocol.MemberReply{Reason: string(protocol.ReasonNotMember), Epoch: 2}
			}
			return &protocol.MemberReply{Accepted: true, MemberToken: 77, Epoch: 2}
		})
		time.Sleep(time.Second) // the next heartbeat
		synctest.Wait()
		if n := len(c.requested(subjects(t).Hello)); n != 2 {
			t.Fatalf("%d hellos after the learner forgot the actor, want 2", n)
		}
		c.broadcast(subjects(t).Weights, weights(t, 0, 2))
		synctest.Wait()
		rs := c.rollouts(t)
		if last := rs[len(rs)-1]; last.MemberToken != 77 || last.PolicyEpoch != 2 {
			t.Fatalf("rollout after rejoining: token %d epoch %d, want 77 and 2", last.MemberToken, last.PolicyEpoch)
		}
		if got := testutil.ToFloat64(r.m.Joins); got != 2 {
			t.Fatalf("joins %v, want 2", got)
		}
		r.stop(t)
	})
}

// TestRefusals: a rate-limited hello is retried after the time the learner
// asks; a learner with other environments refuses for good and Run says so.
func TestRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 0, 1))
		refusals := 0
		c.setMember(func(string) *protocol.MemberReply {
			if refusals < 2 {
				refusals++
				return &protocol.MemberReply{Reason: string(protocol.ReasonRateLimited), RetryAfterMillis: 3000}
			}
			return acceptAll("")
		})
		t0 := time.Now()
		r := start(t, testConfig(protocol.ModeSync), c, 1)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := offsets(t0, c.requestTimes(subjects(t).Hello)); !equalDurations(got, []time.Duration{0, 3 * time.Second, 6 * time.Second}) {
			t.Fatalf("hellos at %v, want 0, 3 s, 6 s (retry after 3 s)", got)
		}
		if got := testutil.ToFloat64(r.m.HellosRefused.WithLabelValues("rate_limited")); got != 2 {
			t.Fatalf("refused hellos %v", got)
		}
		r.stop(t)

		c2 := newMemConn()
		c2.setMember(func(string) *protocol.MemberReply { return &protocol.MemberReply{Reason: string(protocol.ReasonShape)} })
		r2 := start(t, testConfig(protocol.ModeSync), c2, 1)
		synctest.Wait()
		if err := <-r2.done; !errors.Is(err, ErrRefused) {
			t.Fatalf("Run refused for shape returned %v, want ErrRefused", err)
		}
		r2.cancel()
	})
}

// TestGoodbyeOnStop: a stopping actor tells the learner it leaves, with its
// token and last sequence number.
func TestGoodbyeOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 0, 1))
		r := start(t, testConfig(protocol.ModeSync), c, 1)
		synctest.Wait()
		r.stop(t)
		byes := c.sent(subjects(t).Goodbye)
		if len(byes) != 1 {
			t.Fatalf("%d goodbyes, want 1", len(byes))
		}
		g, err := protocol.DecodeGoodbye(byes[0].data, protocol.DefaultLimits())
		if err != nil || g.MemberToken != 42 || g.Seq != 1 || g.ActorID != "actor-0" {
			t.Fatalf("goodbye %+v, %v", g, err)
		}
		if got := testutil.ToFloat64(r.m.Member); got != 0 {
			t.Fatalf("member gauge %v after leaving", got)
		}
	})
}

// TestRejectedWeightsLogRateLimited: a flood of bad weights is counted one
// by one but logged once per 10 s.
func TestRejectedWeightsLogRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 0, 1))
		var log syncBuffer
		r := startLogged(t, testConfig(protocol.ModeSync), c, &log)
		synctest.Wait()
		for i := 0; i < 3000; i++ {
			if i%1000 == 0 && i > 0 {
				time.Sleep(5 * time.Second)
			}
			c.broadcast(subjects(t).Weights, []byte("garbage"))
		}
		synctest.Wait()
		if got := testutil.ToFloat64(r.m.WeightsRejected); got != 3000 {
			t.Fatalf("weights rejected %v, want 3000", got)
		}
		// 3,000 rejections over 10 s: lines at 0 and 10 s.
		if n := len(log.lines("weights rejected")); n != 2 {
			t.Fatalf("%d log lines for 3,000 rejected weights over 10 s, want 2", n)
		}
		r.stop(t)
	})
}
