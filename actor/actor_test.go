package actor

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"podmedic/protocol"
)

// The collection loop's waits (weights back-off, sync wait, backpressure,
// the disconnection bound, heartbeats) run on testing/synctest's fake
// clock against an in-memory connection: the times asserted are exact.

// offsets returns the times as durations since t0.
func offsets(t0 time.Time, ts []time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(t0)
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFetchesWeightsWithBackoff: a new actor never collects with
// untrained parameters; it asks weights.latest with back-off 0.1 s,
// doubling, capped at 5 s, until the learner answers.
func TestFetchesWeightsWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		t0 := time.Now()
		r := start(t, testConfig(protocol.ModeSync), c, 2)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		want := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond,
			1500 * time.Millisecond, 3100 * time.Millisecond, 6300 * time.Millisecond}
		if got := offsets(t0, c.requestTimes()); !equalDurations(got, want) {
			t.Fatalf("weights requests at %v, want %v", got, want)
		}
		if n := len(c.rollouts(t)); n != 0 {
			t.Fatalf("%d rollouts published before any weights", n)
		}
		if n := len(c.requested(subjects(t).Hello)); n != 1 {
			t.Fatalf("%d hellos, want 1", n)
		}
		c.setLatest(weights(t, 7, 1))
		time.Sleep(time.Until(t0.Add(11300 * time.Millisecond)))
		synctest.Wait()
		rs := c.rollouts(t)
		if len(rs) != 1 || rs[0].PolicyVersion != 7 || rs[0].PolicyEpoch != 1 || rs[0].Seq != 1 {
			t.Fatalf("after the learner answered at 11.3 s: %d rollouts %+v", len(rs), rs)
		}
		if got := testutil.ToFloat64(r.m.WeightsVersion); got != 7 {
			t.Fatalf("weights version gauge %v, want 7", got)
		}
		r.stop(t)
	})
}

// TestSyncModeWaitsForTheNextVersion: after each rollout a sync actor
// waits for newer weights; a broadcast wakes it at once, and without one
// it asks weights.latest after SyncWait and sends a fresh rollout (the
// last may have been lost).
func TestSyncModeWaitsForTheNextVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 0, 1))
		t0 := time.Now()
		r := start(t, testConfig(protocol.ModeSync), c, 2)
		synctest.Wait()
		if n := len(c.rollouts(t)); n != 1 {
			t.Fatalf("%d rollouts at start, want 1", n)
		}
		time.Sleep(4900 * time.Millisecond)
		synctest.Wait()
		if n := len(c.rollouts(t)); n != 1 {
			t.Fatalf("%d rollouts before SyncWait without a new version, want 1", n)
		}
		c.broadcast(subjects(t).Weights, weights(t, 1, 1))
		synctest.Wait()
		rs := c.rollouts(t)
		if len(rs) != 2 || rs[1].PolicyVersion != 1 || rs[1].Seq != 2 {
			t.Fatalf("after the broadcast of version 1: %d rollouts", len(rs))
		}
		requests := len(c.requestTimes())
		time.Sleep(5 * time.Second)
		synctest.Wait()
		rs = c.rollouts(t)
		if len(rs) != 3 || rs[2].PolicyVersion != 1 || len(c.requestTimes()) != requests+1 {
			t.Fatalf("SyncWait after version 1: %d rollouts, %d more requests; want a re-ask and a fresh rollout", len(rs), len(c.requestTimes())-requests)
		}
		if got := c.sent(subjects(t).Rollouts)[2].at.Sub(t0); got != 9900*time.Millisecond {
			t.Fatalf("fresh rollout sent at %s, want 9.9s", got)
		}
		r.stop(t)
	})
}

// TestAsyncModePublishesAtMostMaxAheadPerVersion: the backpressure that
// keeps actors from flooding a busy learner.
func TestAsyncModePublishesAtMostMaxAheadPerVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 0, 1))
		cfg := testConfig(protocol.ModeAsync)
		cfg.MaxAhead = 2
		r := start(t, cfg, c, 1)
		count := func() int { synctest.Wait(); return len(c.rollouts(t)) }
		if n := count(); n != 2 {
			t.Fatalf("%d rollouts at version 0, want MaxAhead = 2", n)
		}
		time.Sleep(5 * time.Second) // SyncWait: re-ask, then one more
		if n := count(); n != 3 {
			t.Fatalf("%d rollouts after one SyncWait, want 3", n)
		}
		time.Sleep(time.Second)
		c.broadcast(subjects(t).Weights, weights(t, 1, 1))
		if n := count(); n != 5 {
			t.Fatalf("%d rollouts after version 1, want 2 more", n)
		}
		rs := c.rollouts(t)
		if rs[3].PolicyVersion != 1 || rs[4].PolicyVersion != 1 {
			t.Fatalf("versions %d, %d after the broadcast, want 1", rs[3].PolicyVersion, rs[4].PolicyVersion)
		}
		r.stop(t)
	})
}

// TestDisconnectedActorStopsAtTheBufferBound: while NATS is down an actor
// publishes at most MaxBuffered rollouts (into the client's reconnect
// buffer), then waits with back-off (50 ms doubling to 1 s) until the
// connection is back.
func TestDisconnectedActorStopsAtTheBufferBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 0, 1))
		c.setConnected(false)
		cfg := testConfig(protocol.ModeAsync)
		cfg.MaxAhead, cfg.MaxBuffered = 8, 4
		t0 := time.Now()
		r := start(t, cfg, c, 1)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := len(c.rollouts(t)); n != 4 {
			t.Fatalf("%d rollouts published while disconnected, want MaxBuffered = 4", n)
		}
		if got := testutil.ToFloat64(r.m.Buffered); got != 4 {
			t.Fatalf("buffered gauge %v, want 4", got)
		}
		c.setConnected(true)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		sent := c.sent(subjects(t).Rollouts)
		if len(sent) != 8 {
			t.Fatalf("%d rollouts after reconnecting, want MaxAhead = 8", len(sent))
		}
		// Back-off waits 0.05, 0.1, 0.2, 0.4, 0.8, then 1 s: the check
		// after the reconnection at 10 s comes at 10.55 s.
		if got := sent[4].at.Sub(t0); got != 10550*time.Millisecond {
			t.Fatalf("collection resumed at %s, want 10.55s", got)
		}
		if got := testutil.ToFloat64(r.m.Buffered); got != 0 {
			t.Fatalf("buffered gauge %v after reconnecting, want 0", got)
		}
		r.stop(t)
	})
}

func TestHeartbeatsEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 3, 1))
		cfg := testConfig(protocol.ModeSync)
		cfg.HeartbeatInterval = 500 * time.Millisecond
		r := start(t, cfg, c, 1)
		time.Sleep(4750 * time.Millisecond)
		synctest.Wait()
		hbs := c.requested(subjects(t).Heartbeat)
		if len(hbs) != 9 {
			t.Fatalf("%d heartbeats in 4.75 s at 0.5 s intervals, want 9", len(hbs))
		}
		hb, err := protocol.DecodeHeartbeat(hbs[8].data, protocol.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if hb.ActorID != "actor-0" || hb.WeightsVersion != 3 || hb.Seq != 1 || hb.EnvSteps != 8 || hb.MemberToken != 42 {
			t.Fatalf("heartbeat %+v", hb)
		}
		r.stop(t)
	})
}

// TestWeightsAcceptance: newer versions replace the weights in use, older
// ones of the same learner are ignored, any version of a restarted learner
// (new epoch) is taken but none of the epoch it replaced, and malformed or
// misshapen weights are counted and dropped.
func TestWeightsAcceptance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 5, 1))
		r := start(t, testConfig(protocol.ModeSync), c, 1)
		subj := subjects(t).Weights
		lastVersion := func() (uint64, uint64) {
			synctest.Wait()
			rs := c.rollouts(t)
			return rs[len(rs)-1].PolicyVersion, rs[len(rs)-1].PolicyEpoch
		}
		if v, e := lastVersion(); v != 5 || e != 1 {
			t.Fatalf("first rollout at version %d epoch %d", v, e)
		}
		c.broadcast(subj, weights(t, 6, 1))
		if v, _ := lastVersion(); v != 6 {
			t.Fatalf("newer version not taken: rollout at %d", v)
		}
		c.broadcast(subj, weights(t, 4, 1))
		if n := len(c.rollouts(t)); n != 2 {
			t.Fatalf("an older version of the same learner woke the actor: %d rollouts", n)
		}
		c.broadcast(subj, weights(t, 2, 9))
		if v, e := lastVersion(); v != 2 || e != 9 {
			t.Fatalf("restarted learner's version not taken: rollout at %d epoch %d", v, e)
		}
		// The replaced learner's late weights (fenced, or delayed) are
		// another line of training: ignored, even at a higher version.
		c.broadcast(subj, weights(t, 7, 1))
		synctest.Wait()
		if n := len(c.rollouts(t)); n != 3 {
			t.Fatalf("weights of a retired epoch were taken: %d rollouts", n)
		}
		bad := weights(t, 10, 9)
		c.broadcast(subj, bad[:len(bad)/2])
		c.broadcast(subj, []byte("garbage"))
		synctest.Wait()
		if got := testutil.ToFloat64(r.m.WeightsRejected); got != 2 {
			t.Fatalf("%v weights rejected, want 2", got)
		}
		if n := len(c.rollouts(t)); n != 3 {
			t.Fatalf("rejected weights woke the actor: %d rollouts", n)
		}
		r.stop(t)
	})
}

// TestPipelinedModeCollectsOneVersionBehind: a pipelined actor collects
// its first two rollouts with the first weights of a learner, then each
// with exactly the version after the previous one's, even when a later
// version arrived at the same time (the learner can be that fast), so a
// seeded run does not depend on timing. A lost broadcast is skipped as
// soon as a later version is there; a restarted learner's weights start
// again with two rollouts; and without news it re-asks after SyncWait
// and sends a fresh rollout, as in sync mode. A retired learner's late
// weights arriving right after the successor do not make it lose the
// successor.
func TestPipelinedModeCollectsOneVersionBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemConn()
		c.setLatest(weights(t, 0, 1))
		r := start(t, testConfig(protocol.ModePipelined), c, 2)
		versions := func() (out []uint64) {
			synctest.Wait()
			for _, r := range c.rollouts(t) {
				out = append(out, r.PolicyEpoch*100+r.PolicyVersion)
			}
			return out
		}
		want := func(what string, w ...uint64) {
			t.Helper()
			if got := versions(); !slices.Equal(got, w) {
				t.Fatalf("%s: rollouts with epoch*100+version %v, want %v", what, got, w)
			}
		}
		want("start", 100, 100)
		time.Sleep(time.Second)
		want("no new version within SyncWait", 100, 100)
		c.broadcast(subjects(t).Weights, weights(t, 1, 1))
		c.broadcast(subjects(t).Weights, weights(t, 2, 1))
		want("versions 1 and 2 at once", 100, 100, 101, 102)
		c.broadcast(subjects(t).Weights, weights(t, 4, 1)) // 3 was lost
		want("version 3 lost", 100, 100, 101, 102, 104)
		c.broadcast(subjects(t).Weights, weights(t, 10, 2))
		want("a restarted learner", 100, 100, 101, 102, 104, 210, 210)
		c.broadcast(subjects(t).Weights, weights(t, 5, 1)) // the old learner, late
		time.Sleep(4 * time.Second)
		want("a retired learner's weights", 100, 100, 101, 102, 104, 210, 210)
		c.setLatest(weights(t, 10, 2))
		time.Sleep(time.Second) // SyncWait since the last rollout
		want("SyncWait without news", 100, 100, 101, 102, 104, 210, 210, 210)
		c.broadcast(subjects(t).Weights, weights(t, 11, 2))
		c.broadcast(subjects(t).Weights, weights(t, 6, 1)) // the old learner again, right after
		want("the successor with a retired learner's weights behind it", 100, 100, 101, 102, 104, 210, 210, 210, 211)
		r.stop(t)
	})
}

func TestInbox(t *testing.T) {
	w := func(epoch, version uint64) *protocol.Weights {
		return &protocol.Weights{Epoch: epoch, Version: version}
	}
	var b inbox
	for v := uint64(1); v <= 6; v++ {
		if !b.put(w(1, v)) {
			t.Fatalf("version %d refused", v)
		}
	}
	if b.put(w(1, 6)) || b.put(w(1, 2)) {
		t.Fatal("an old version was taken")
	}
	if len(b.w) != inboxSize || b.w[0].Version != 3 {
		t.Fatalf("inbox holds %d, oldest %d; want the newest %d", len(b.w), b.w[0].Version, inboxSize)
	}
	if got := b.take(1, 4); got == nil || got.Version != 4 || len(b.w) != 2 {
		t.Fatalf("take(1, 4) = %v, %d left; want version 4 and the 2 newer", got, len(b.w))
	}
	if got := b.takeNewEpoch(1); got != nil {
		t.Fatalf("takeNewEpoch(1) = %v with only epoch 1 held", got)
	}
	if got := b.take(1, 2); got == nil || got.Version != 6 || len(b.w) != 0 {
		t.Fatalf("take(1, 2) = %v, %d left; want the newest (6): version 2 will never come", got, len(b.w))
	}
	if b.take(1, 7) != nil || b.takeNewest() != nil {
		t.Fatal("something taken from an empty inbox")
	}
	b.put(w(1, 7))
	b.put(w(2, 1))
	if got := b.takeNewEpoch(1); got == nil || got.Epoch != 2 || len(b.w) != 0 {
		t.Fatalf("takeNewEpoch(1) = %v, %d left; want epoch 2's weights and an empty inbox", got, len(b.w))
	}
}
