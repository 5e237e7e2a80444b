package learner

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"podmedic/protocol"
)

// Latest requests: weights.latest (actors) and policy.latest (evaluate)
// are answered with the whole policy, about 120 KB for make run's network.
// So that a stream of cheap requests cannot make the learner send
// megabytes, every request is checked before it is answered: a malformed
// one (or one without a reply subject) gets no reply, and replies are
// rate-limited per requester and in all. Refusals are counted in
// podmedic_learner_messages_rejected_total{subject,reason}, never answered.
const (
	// requesterRate and requesterBurst bound the replies to one requester
	// (an actor id, or the reply inbox of a connection): an actor asks at
	// start and after every sync wait without news, evaluate once.
	requesterRate  = 5
	requesterBurst = 10
	// replyRate and replyBurst bound all replies together: 100 replies of
	// 120 KB are 12 MB/s, and 200 actors starting at once are answered.
	replyRate  = 100
	replyBurst = 200
	// maxRequesters bounds the per-requester buckets kept.
	maxRequesters = 4096
)

// requestLimiter is a token bucket per requester plus one for all.
type requestLimiter struct {
	mu    sync.Mutex
	all   tokenBucket
	per   map[string]*tokenBucket
	swept time.Time // last sweep of idle requesters
}

func newRequestLimiter() *requestLimiter {
	return &requestLimiter{all: tokenBucket{rate: replyRate, burst: replyBurst}, per: map[string]*tokenBucket{}}
}

// allow reports whether requester key may be answered now.
func (l *requestLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.per[key]
	if !ok {
		idle := time.Duration(float64(requesterBurst) / requesterRate * float64(time.Second))
		if len(l.per) >= maxRequesters && now.Sub(l.swept) >= idle {
			// Forget requesters whose bucket has refilled: they lose
			// nothing. At most one sweep per refill time, so a flood of
			// new requesters costs no more than one map scan per 2 s.
			l.swept = now
			for k, old := range l.per {
				if now.Sub(old.last) >= idle {
					delete(l.per, k)
				}
			}
		}
		if len(l.per) >= maxRequesters {
			key = "overflow" // one shared bucket for the rest
			b = l.per[key]
		}
		if b == nil {
			b = &tokenBucket{rate: requesterRate, burst: requesterBurst}
			l.per[key] = b
		}
	}
	return b.take(now) == 0 && l.all.take(now) == 0
}

// requesterKey names who asked: the actor id in the request, else the
// reply inbox's prefix (nats.go gives every connection one inbox prefix,
// "_INBOX.<id>.", for all its requests).
func requesterKey(q *protocol.WeightsRequest, reply string) string {
	if q.ActorID != "" {
		return "actor:" + q.ActorID
	}
	if i := strings.LastIndexByte(reply, '.'); i > 0 {
		return reply[:i]
	}
	return reply
}

// Subject labels of podmedic_learner_messages_rejected_total and the
// reply counters.
const (
	labelHello         = "hello"
	labelHeartbeat     = "heartbeat"
	labelGoodbye       = "goodbye"
	labelWeightsLatest = "weights.latest"
	labelPolicyLatest  = "policy.latest"
)

// rejectMessage counts a refused message on subject label and logs it at
// most once per interval and reason.
func (s *Service) rejectMessage(label string, reason protocol.Reason, err error) {
	s.metrics.MessagesRejected.WithLabelValues(label, string(reason)).Inc()
	s.rejectLog.Warn(label+"/"+string(reason), "message rejected", "subject", label, "reason", reason, "error", err)
}

// latestHandler answers a latest request on subject label with body():
// weights.latest gets the Weights message, policy.latest the snapshot.
func (s *Service) latestHandler(label string, body func() []byte) nats.MsgHandler {
	return func(msg *nats.Msg) {
		if msg.Reply == "" {
			s.rejectMessage(label, protocol.ReasonMalformed, fmt.Errorf("a request without a reply subject"))
			return
		}
		q, err := protocol.DecodeWeightsRequest(msg.Data, s.lim)
		if err != nil {
			s.rejectMessage(label, protocol.ReasonOf(err), err)
			return
		}
		key := requesterKey(q, msg.Reply)
		if !s.requests.allow(key, s.now()) {
			s.rejectMessage(label, protocol.ReasonRateLimited,
				fmt.Errorf("requester %s over %d replies/s (or all requesters over %d/s)", key, requesterRate, replyRate))
			return
		}
		data := body()
		if data == nil || s.fenced() {
			// A fenced learner's policy may be older than its successor's.
			return
		}
		s.reply(label, msg, data)
	}
}

// reply sends data in answer to msg and counts it.
func (s *Service) reply(label string, msg *nats.Msg, data []byte) {
	if err := msg.Respond(data); err != nil {
		s.rejectLog.Warn("reply/"+label, "reply failed", "subject", label, "error", err)
		return
	}
	s.metrics.Replies.WithLabelValues(label).Inc()
	s.metrics.ReplyBytes.WithLabelValues(label).Add(float64(len(data)))
}
