package learner

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"podmedic/protocol"
)

// Ingest of wire messages. The NATS handlers run on subscription
// goroutines: they decode, validate, deduplicate and hand over to the loop
// through bounded channels, never blocking on it. What the loop does with
// a valid rollout (onValidRollout) is at the end.

// lifesign is a hello or heartbeat.
type lifesign struct {
	actor       string
	incarnation uint64
}

// reject counts a refused rollout by reason and logs it at most once per
// interval and reason.
func (s *Service) reject(reason protocol.Reason, err error) {
	s.metrics.RolloutsRejected.WithLabelValues(string(reason)).Inc()
	s.rejectLog.warn(string(reason), err)
}

// onRollout: decode, validate, deduplicate, enqueue. A full queue drops.
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

func (s *Service) onHello(msg *nats.Msg) {
	h, err := protocol.DecodeHello(msg.Data, s.lim)
	if err != nil {
		s.rejectLog.warn("hello_"+string(protocol.ReasonOf(err)), err)
		return
	}
	s.sendLifesign(lifesign{h.ActorID, h.Incarnation})
}

func (s *Service) onHeartbeat(msg *nats.Msg) {
	h, err := protocol.DecodeHeartbeat(msg.Data, s.lim)
	if err != nil {
		s.rejectLog.warn("heartbeat_"+string(protocol.ReasonOf(err)), err)
		return
	}
	s.sendLifesign(lifesign{h.ActorID, h.Incarnation})
}

func (s *Service) sendLifesign(l lifesign) {
	select {
	case s.lifesigns <- l:
	default: // the loop is busy; the next heartbeat will do
	}
}

// onValidRollout runs on the loop: it books the rollout's episodes in the
// metrics and offers it to the batch.
func (s *Service) onValidRollout(r *protocol.Rollout) {
	s.touch(r.ActorID, r.Incarnation)
	s.metrics.StepsReceived.Add(float64(r.NumEnvs * r.Horizon))
	for i := range r.Episodes {
		s.recordEpisode(&r.Episodes[i])
	}
	if s.finished() {
		return
	}
	if reason, ok := s.asm.offer(r, s.upd.Version(), s.epoch); !ok {
		s.reject(reason, fmt.Errorf("rollout of actor %s at version %d (epoch %x), learner at %d (epoch %x)",
			r.ActorID, r.PolicyVersion, r.PolicyEpoch, s.upd.Version(), s.epoch))
	}
}
