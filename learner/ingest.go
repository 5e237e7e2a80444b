package learner

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"podmedic/protocol"
)

// Ingest of wire messages. The NATS handlers run on subscription
// goroutines: they decode, validate, check membership (members.go),
// deduplicate and hand over to the loop through a bounded channel, never
// blocking on it. What the loop does with a valid rollout
// (onValidRollout) is at the end.

// reject counts a refused rollout by reason and logs it at most once per
// interval and reason.
func (s *Service) reject(reason protocol.Reason, err error) {
	s.metrics.RolloutsRejected.WithLabelValues(string(reason)).Inc()
	s.rejectLog.Warn("rollout/"+string(reason), "message rejected", "subject", "rollouts", "reason", reason, "error", err)
}

// onRollout: decode, validate, check the sender is a member with its
// token, deduplicate, enqueue. A full queue drops.
func (s *Service) onRollout(msg *nats.Msg) {
	s.metrics.RolloutsReceived.Inc()
	s.metrics.BytesReceived.Add(float64(len(msg.Data)))
	start := time.Now()
	r, err := protocol.DecodeRollout(msg.Data, s.lim)
	s.metrics.DecodeSeconds.Add(time.Since(start).Seconds())
	if err != nil {
		s.reject(protocol.ReasonOf(err), err)
		return
	}
	if err := r.CheckShape(protocol.Shape{ObsSize: s.spec.ObsSize, NumActions: s.spec.NumActions}); err != nil {
		s.reject(protocol.ReasonOf(err), err)
		return
	}
	// Membership before the sequence check, so that made-up identities
	// never reach the (bounded) sequence tracker.
	now := s.now()
	reason, woke := s.members.check(r.ActorID, r.Incarnation, r.MemberToken, true, now)
	if reason != "" {
		s.reject(reason, fmt.Errorf("rollout of actor %s (incarnation %x) seq %d: %s", r.ActorID, r.Incarnation, r.Seq, reason))
		return
	}
	if woke {
		// The stall clock starts when actors start sending (status.go).
		s.busySince.Store(now.UnixNano())
	}
	s.seqMu.Lock()
	st, _ := s.seqs.Observe(r.ActorID, r.Incarnation, r.Seq)
	s.seqMu.Unlock()
	if !st.Accepted() {
		s.reject(st.Reason(), fmt.Errorf("actor %s seq %d: %s", r.ActorID, r.Seq, st))
		return
	}
	select {
	case s.rollouts <- r:
		s.metrics.QueueLength.Set(float64(len(s.rollouts)))
	default:
		s.reject(protocol.ReasonQueueFull, fmt.Errorf("rollout queue full (%d)", cap(s.rollouts)))
	}
}

// onHello admits an actor (members.hello) and answers with a MemberReply:
// its token, or why it was refused and when to retry.
func (s *Service) onHello(msg *nats.Msg) {
	h, err := protocol.DecodeHello(msg.Data, s.lim)
	if err != nil {
		s.rejectMessage(labelHello, protocol.ReasonOf(err), err)
		s.replyMember(labelHello, msg, &protocol.MemberReply{Reason: string(protocol.ReasonOf(err))})
		return
	}
	if err := h.CheckShape(protocol.Shape{ObsSize: s.spec.ObsSize, NumActions: s.spec.NumActions}); err != nil {
		s.rejectMessage(labelHello, protocol.ReasonShape, fmt.Errorf("actor %s: %w", h.ActorID, err))
		s.replyMember(labelHello, msg, &protocol.MemberReply{Reason: string(protocol.ReasonShape)})
		return
	}
	now := s.now()
	adm := s.members.hello(h.ActorID, h.Incarnation, now)
	if adm.refused != "" {
		s.rejectMessage(labelHello, adm.refused, fmt.Errorf("actor %s: %s", h.ActorID, adm.refused))
		s.replyMember(labelHello, msg, &protocol.MemberReply{Reason: string(adm.refused),
			RetryAfterMillis: uint32(min(adm.retryAfter.Milliseconds()+1, 1<<31))})
		return
	}
	if adm.joined {
		s.onMembersChanged()
		s.metrics.ActorsJoined.Inc()
		s.memberLog.Info("join", "actor joined", "actor", h.ActorID, "envs", h.NumEnvs, "horizon", h.Horizon,
			"version", s.Status().Version, "members", s.members.count())
	}
	s.replyMember(labelHello, msg, &protocol.MemberReply{Accepted: true, MemberToken: adm.token})
}

// onHeartbeat answers whether the sender is still a member; if not, the
// actor says hello again. A heartbeat never makes a member.
func (s *Service) onHeartbeat(msg *nats.Msg) {
	h, err := protocol.DecodeHeartbeat(msg.Data, s.lim)
	if err != nil {
		s.rejectMessage(labelHeartbeat, protocol.ReasonOf(err), err)
		return
	}
	if reason, _ := s.members.check(h.ActorID, h.Incarnation, h.MemberToken, false, s.now()); reason != "" {
		s.rejectMessage(labelHeartbeat, reason, fmt.Errorf("actor %s: %s", h.ActorID, reason))
		s.replyMember(labelHeartbeat, msg, &protocol.MemberReply{Reason: string(reason)})
		return
	}
	s.replyMember(labelHeartbeat, msg, &protocol.MemberReply{Accepted: true, MemberToken: h.MemberToken})
}

// onGoodbye removes a stopping member at once.
func (s *Service) onGoodbye(msg *nats.Msg) {
	g, err := protocol.DecodeGoodbye(msg.Data, s.lim)
	if err != nil {
		s.rejectMessage(labelGoodbye, protocol.ReasonOf(err), err)
		return
	}
	if reason := s.members.leave(g.ActorID, g.Incarnation, g.MemberToken); reason != "" {
		s.rejectMessage(labelGoodbye, reason, fmt.Errorf("actor %s: %s", g.ActorID, reason))
		return
	}
	s.onMembersChanged()
	s.metrics.ActorsLeft.Inc()
	s.memberLog.Info("leave", "actor left", "actor", g.ActorID, "last_seq", g.Seq, "members", s.members.count())
	// The batch may now be complete without it.
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// replyMember answers a hello or heartbeat, if it came as a request.
func (s *Service) replyMember(label string, msg *nats.Msg, m *protocol.MemberReply) {
	if msg.Reply == "" {
		return
	}
	m.Epoch = s.epoch
	data, err := protocol.EncodeMemberReply(m)
	if err != nil {
		s.log.Error("encode member reply", "error", err) // a bug: replies are built here
		return
	}
	s.reply(label, msg, data)
}

// onMembersChanged updates the member gauge.
func (s *Service) onMembersChanged() {
	s.metrics.ActorsConnected.Set(float64(s.members.count()))
}

// onValidRollout runs on the loop: it books the rollout's episodes in the
// metrics and offers it to the batch.
func (s *Service) onValidRollout(r *protocol.Rollout) {
	s.metrics.StepsReceived.Add(float64(r.NumEnvs * r.Horizon))
	for i := range r.Episodes {
		s.recordEpisode(&r.Episodes[i])
	}
	if s.finished() {
		return
	}
	s.offer(r)
}

// offer hands r to the batch being built, or counts why it is refused.
func (s *Service) offer(r *protocol.Rollout) {
	if reason, ok := s.asm.offer(r, s.upd.Version(), s.epoch, s.now()); !ok {
		s.reject(reason, fmt.Errorf("rollout of actor %s at version %d (epoch %x), learner at %d (epoch %x)",
			r.ActorID, r.PolicyVersion, r.PolicyEpoch, s.upd.Version(), s.epoch))
	}
}
