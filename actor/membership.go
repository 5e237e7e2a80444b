package actor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"podmedic/protocol"
)

// Membership: an actor is a member of the run only after the learner
// accepted its hello (a request on the hello subject) and issued it a
// token, which its rollouts, heartbeats and goodbye carry. keepMembership
// says hello until accepted, then heartbeats every HeartbeatInterval (also
// requests); when the learner answers that it no longer knows the actor (a
// restarted learner, or one that dropped it after a long silence) it says
// hello again. The collection loop publishes only while the actor is a
// member. On the way out Run says goodbye, so the learner stops waiting
// for it at once.

// ErrRefused is wrapped by the error Run returns when the learner refuses
// the actor for good (its environments do not match the learner's).
var ErrRefused = errors.New("actor: refused by the learner")

// Back-off of hellos without an answer, and of the silence warnings.
const (
	helloBackoffMin = 100 * time.Millisecond
	helloBackoffMax = 5 * time.Second
	// silenceWarnAfter is how long requests may go unanswered before the
	// first warning; later warnings double the wait, up to silenceWarnMax.
	silenceWarnAfter = 5 * time.Second
	silenceWarnMax   = 5 * time.Minute
)

// keepMembership runs until ctx ends (see the comment at the top).
func (a *Actor) keepMembership(ctx context.Context) {
	wait := helloBackoffMin
	for ctx.Err() == nil {
		if a.token.Load() == 0 {
			next, err := a.hello(ctx)
			if err != nil {
				a.setFatal(err)
				return
			}
			if a.token.Load() == 0 {
				if next == 0 {
					next, wait = wait, min(2*wait, helloBackoffMax)
				}
				if !sleep(ctx, next) {
					return
				}
				continue
			}
			wait = helloBackoffMin
		}
		if !sleep(ctx, a.cfg.HeartbeatInterval) {
			return
		}
		a.heartbeat(ctx)
	}
}

// hello asks to join. It returns how long to wait before the next try when
// refused (0: the caller's back-off), or an error when refused for good.
func (a *Actor) hello(ctx context.Context) (time.Duration, error) {
	h := &protocol.Hello{
		ActorID: a.cfg.ID, Incarnation: a.incarnation, NumEnvs: a.col.numEnvs(), Horizon: a.cfg.Horizon,
		ObsSize: a.col.obsSize, NumActions: a.col.numActions,
	}
	data, err := protocol.EncodeHello(h, int(a.nc.MaxPayload()))
	if err != nil {
		return 0, fmt.Errorf("actor: encode hello: %w", err)
	}
	m, err := a.request(ctx, a.subj.Hello, data)
	if err != nil {
		return 0, nil
	}
	if !m.Accepted {
		a.metrics.HellosRefused.WithLabelValues(m.Reason).Inc()
		if m.Reason == string(protocol.ReasonShape) {
			return 0, fmt.Errorf("%w: run %s's learner expects other environments than this actor's (%d observations, %d actions)",
				ErrRefused, a.cfg.Run, a.col.obsSize, a.col.numActions)
		}
		a.warnLog.Warn("refused/"+m.Reason, "the learner refused to let the actor join; retrying",
			"reason", m.Reason, "retry_in", time.Duration(m.RetryAfterMillis)*time.Millisecond)
		return time.Duration(m.RetryAfterMillis) * time.Millisecond, nil
	}
	a.token.Store(m.MemberToken)
	a.metrics.Member.Set(1)
	a.metrics.Joins.Inc()
	a.log.Debug("joined the run", "run", a.cfg.Run)
	select {
	case a.joined <- struct{}{}:
	default:
	}
	return 0, nil
}

// heartbeat tells the learner the actor is alive; if the learner answers
// that the actor is not (or no longer) a member, it forgets its token so
// that keepMembership says hello again.
func (a *Actor) heartbeat(ctx context.Context) {
	h := &protocol.Heartbeat{
		ActorID: a.cfg.ID, Incarnation: a.incarnation, MemberToken: a.token.Load(), Seq: a.lastSeq.Load(),
		WeightsVersion: a.curVer.Load(), EnvSteps: uint64(a.envSteps.Load()), UnixNano: time.Now().UnixNano(),
	}
	if h.MemberToken == 0 {
		return
	}
	data, err := protocol.EncodeHeartbeat(h, int(a.nc.MaxPayload()))
	if err != nil {
		a.log.Error("encode heartbeat", "error", err) // a bug: built here
		return
	}
	m, err := a.request(ctx, a.subj.Heartbeat, data)
	if err != nil || m.Accepted {
		return
	}
	a.token.CompareAndSwap(h.MemberToken, 0)
	a.metrics.Member.Set(0)
	a.warnLog.Info("rejoin", "the learner no longer knows this actor; saying hello again", "reason", m.Reason)
}

// request sends a membership request and decodes the reply, keeping track
// of how long the learner has been silent (noteAnswer, noteSilence).
func (a *Actor) request(ctx context.Context, subject string, data []byte) (*protocol.MemberReply, error) {
	rctx, cancel := context.WithTimeout(ctx, a.cfg.WeightsTimeout)
	defer cancel()
	reply, err := a.nc.Request(rctx, subject, data)
	if err != nil {
		if ctx.Err() == nil {
			a.noteSilence(subject, err)
		}
		return nil, err
	}
	a.noteAnswer()
	m, err := protocol.DecodeMemberReply(reply, a.lim)
	if err != nil {
		a.warnLog.Warn("reply/"+string(protocol.ReasonOf(err)), "malformed reply from the learner", "subject", subject, "error", err)
		return nil, err
	}
	return m, nil
}

// waitMember blocks until the actor is a member, ctx ends, or it was
// refused for good.
func (a *Actor) waitMember(ctx context.Context) error {
	for a.token.Load() == 0 {
		if err := a.fatalErr(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.joined:
		case <-a.fatal:
		}
	}
	return nil
}

// goodbye tells the learner the actor is leaving, and flushes it out.
func (a *Actor) goodbye() {
	tok := a.token.Swap(0)
	if tok == 0 {
		return
	}
	a.metrics.Member.Set(0)
	data, err := protocol.EncodeGoodbye(&protocol.Goodbye{ActorID: a.cfg.ID, Incarnation: a.incarnation, MemberToken: tok, Seq: a.lastSeq.Load()})
	if err == nil {
		err = a.nc.Publish(a.subj.Goodbye, data)
	}
	if err == nil {
		err = a.nc.Flush(a.cfg.WeightsTimeout)
	}
	if err != nil {
		a.log.Debug("goodbye not delivered; the learner drops the actor after its heartbeat timeout", "error", err)
	}
}

func (a *Actor) setFatal(err error) {
	a.fatalOnce.Do(func() {
		a.fatalErrV.Store(&err)
		close(a.fatal)
	})
}

func (a *Actor) fatalErr() error {
	if p := a.fatalErrV.Load(); p != nil {
		return *p
	}
	return nil
}

// noteAnswer records that the learner answered a request.
func (a *Actor) noteAnswer() {
	a.silenceMu.Lock()
	defer a.silenceMu.Unlock()
	if !a.silentSince.IsZero() && a.silenceWarned {
		a.log.Info("the learner answers again", "subject_prefix", a.subj.Prefix, "silent_for", time.Since(a.silentSince).Round(time.Second))
	}
	a.silentSince, a.silenceWarned, a.nextWarn = time.Time{}, false, silenceWarnAfter
}

// noteSilence records a request nobody answered and, once the silence has
// lasted silenceWarnAfter, warns at the default log level naming the
// subject and the NATS URL, then again after twice as long each time.
func (a *Actor) noteSilence(subject string, err error) {
	a.metrics.Unanswered.WithLabelValues(subject[len(a.subj.Prefix)+1:]).Inc()
	a.silenceMu.Lock()
	defer a.silenceMu.Unlock()
	now := time.Now()
	if a.silentSince.IsZero() {
		a.silentSince, a.nextWarn = now, silenceWarnAfter
		return
	}
	silent := now.Sub(a.silentSince)
	if silent < a.nextWarn {
		return
	}
	a.silenceWarned = true
	a.nextWarn = min(2*a.nextWarn, silenceWarnMax)
	if !a.nc.IsConnected() {
		a.log.Warn("not connected to NATS: no learner can answer", "url", a.nc.URL(), "subject", subject,
			"silent_for", silent.Round(time.Second), "error", err, "next_warning_in", a.nextWarn-silent)
		return
	}
	a.log.Warn("no learner answers on the run's subjects: is a learner running with this --run?",
		"run", a.cfg.Run, "subject", subject, "url", a.nc.URL(), "silent_for", silent.Round(time.Second),
		"error", err, "next_warning_in", a.nextWarn-silent)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
