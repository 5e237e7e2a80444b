package protocol

import (
	"errors"
	"fmt"
)

// ErrBadRunName reports a run name that cannot be part of a NATS subject.
var ErrBadRunName = errors.New("protocol: invalid run name")

// MaxRunNameLen is the longest run name in bytes.
const MaxRunNameLen = 64

// Subjects are the NATS subjects of one training run, all under the prefix
// "podmedic.<run>".
type Subjects struct {
	// Prefix is "podmedic.<run>".
	Prefix string
	// Rollouts carries Rollout messages, actor -> learner.
	Rollouts string
	// Weights broadcasts Weights after every update, learner -> actors.
	Weights string
	// WeightsLatest is a request/reply subject: a WeightsRequest (or an
	// empty body) is answered with the latest Weights.
	WeightsLatest string
	// PolicyLatest is a request/reply subject answered with the latest
	// policy snapshot (also a Weights message), used by evaluate.
	PolicyLatest string
	// Heartbeat is a request/reply subject: a member's Heartbeat is
	// answered with a MemberReply saying whether it is still a member.
	Heartbeat string
	// Hello is a request/reply subject: an actor's Hello (when it starts,
	// and again whenever the learner no longer knows it) is answered with a
	// MemberReply; only an accepted hello makes the actor a member.
	Hello string
	// Goodbye carries the Goodbye of a stopping actor, which leaves the
	// membership at once instead of after the heartbeat timeout.
	Goodbye string
}

// NewSubjects builds the subjects of run. Run names are 1..64 characters
// from [A-Za-z0-9_-]: no dots, spaces or wildcards, so that one run can
// never subscribe to another's traffic.
func NewSubjects(run string) (Subjects, error) {
	if err := ValidateRunName(run); err != nil {
		return Subjects{}, err
	}
	p := "podmedic." + run
	return Subjects{
		Prefix:        p,
		Rollouts:      p + ".rollouts",
		Weights:       p + ".weights",
		WeightsLatest: p + ".weights.latest",
		PolicyLatest:  p + ".policy.latest",
		Heartbeat:     p + ".actors.heartbeat",
		Hello:         p + ".actors.hello",
		Goodbye:       p + ".actors.goodbye",
	}, nil
}

// ValidateRunName reports whether run is a valid run name (see NewSubjects),
// wrapping ErrBadRunName.
func ValidateRunName(run string) error {
	if len(run) == 0 || len(run) > MaxRunNameLen {
		return fmt.Errorf("%w: %q: length %d not in [1, %d]", ErrBadRunName, run, len(run), MaxRunNameLen)
	}
	for i := 0; i < len(run); i++ {
		c := run[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q: character %q at %d; use only letters, digits, '_' and '-'", ErrBadRunName, run, c, i)
		}
	}
	return nil
}
