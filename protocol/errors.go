package protocol

import (
	"errors"
	"fmt"
)

// Reason is a stable, low-cardinality label for why a message was rejected.
// The learner counts rejections by Reason (it is a Prometheus label value).
type Reason string

// Rejection reasons. Every reason any podmedic component uses lives here.
const (
	// ReasonMalformed: not msgpack, truncated, wrong types, trailing bytes.
	ReasonMalformed Reason = "malformed"
	// ReasonSchemaVersion: missing or unsupported schema version.
	ReasonSchemaVersion Reason = "schema_version"
	// ReasonTooLarge: payload or a declared dimension over its limit.
	ReasonTooLarge Reason = "too_large"
	// ReasonShape: array lengths inconsistent with the declared dimensions,
	// or dimensions different from what the receiver expects.
	ReasonShape Reason = "shape"
	// ReasonActionRange: an action outside [0, NumActions).
	ReasonActionRange Reason = "action_range"
	// ReasonNonFinite: NaN or ±Inf in a float field.
	ReasonNonFinite Reason = "non_finite"
	// ReasonBadValue: a finite value outside its domain (log-prob > 0,
	// M2 < 0, a step both terminated and truncated, ...).
	ReasonBadValue Reason = "bad_value"
	// ReasonBadID: invalid actor id, incarnation or run name.
	ReasonBadID Reason = "bad_id"
	// ReasonChecksum: weights whose checksum does not match their content.
	ReasonChecksum Reason = "checksum"
	// ReasonDuplicateSeq: a rollout sequence number already seen (or older
	// than the latest) for the same actor incarnation; see SeqTracker.
	ReasonDuplicateSeq Reason = "duplicate_seq"
	// ReasonStaleVersion: a rollout collected with a policy version older
	// than the learner accepts. Applied by the learner, not by decoders.
	ReasonStaleVersion Reason = "stale_version"
	// ReasonFutureVersion: a rollout claims a policy version newer than the
	// learner's, i.e. collected with weights of a learner incarnation that
	// got further than the checkpoint this one resumed from. Never trained on.
	ReasonFutureVersion Reason = "future_version"
	// ReasonDuplicateVersion: in sync mode, a second rollout of one actor
	// for the same policy version.
	ReasonDuplicateVersion Reason = "duplicate_version"
	// ReasonQueueFull: the learner is behind and its bounded queue is full;
	// the rollout is dropped (backpressure).
	ReasonQueueFull Reason = "queue_full"
	// ReasonNotMember: a rollout, heartbeat or goodbye of an actor
	// incarnation that is not a member of the run: it never said hello to
	// this learner, left, or was dropped after missing its heartbeats.
	// Applied by the learner.
	ReasonNotMember Reason = "not_member"
	// ReasonBadToken: the member token does not match the one the learner
	// issued to that actor incarnation (a replay under another identity).
	// Applied by the learner.
	ReasonBadToken Reason = "bad_token"
	// ReasonRateLimited: a join or request over the learner's rate limit;
	// it gets no answer beyond this reason. Applied by the learner.
	ReasonRateLimited Reason = "rate_limited"
	// ReasonMembersFull: a hello while the run already has the most
	// members the learner accepts. Applied by the learner.
	ReasonMembersFull Reason = "members_full"
)

// Reasons returns every Reason, in a fixed order, so that metrics can
// pre-register one series per reason.
func Reasons() []Reason {
	return []Reason{
		ReasonMalformed, ReasonSchemaVersion, ReasonTooLarge, ReasonShape,
		ReasonActionRange, ReasonNonFinite, ReasonBadValue, ReasonBadID,
		ReasonChecksum, ReasonDuplicateSeq, ReasonStaleVersion,
		ReasonFutureVersion, ReasonDuplicateVersion, ReasonQueueFull,
		ReasonNotMember, ReasonBadToken, ReasonRateLimited, ReasonMembersFull,
	}
}

// Sentinel errors, one per Reason. A *DecodeError matches the sentinel of
// its Reason with errors.Is.
var (
	ErrMalformed          = errors.New("protocol: malformed message")
	ErrUnsupportedVersion = errors.New("protocol: unsupported schema version")
	ErrTooLarge           = errors.New("protocol: message too large")
	ErrShape              = errors.New("protocol: shape mismatch")
	ErrActionRange        = errors.New("protocol: action out of range")
	ErrNonFinite          = errors.New("protocol: non-finite number")
	ErrBadValue           = errors.New("protocol: value out of domain")
	ErrBadID              = errors.New("protocol: invalid identifier")
	ErrChecksum           = errors.New("protocol: checksum mismatch")
	ErrDuplicateSeq       = errors.New("protocol: duplicate or out-of-order sequence number")
	ErrStaleVersion       = errors.New("protocol: stale policy version")
	ErrFutureVersion      = errors.New("protocol: policy version from the future")
	ErrDuplicateVersion   = errors.New("protocol: second rollout of an actor for one version")
	ErrQueueFull          = errors.New("protocol: learner queue full")
	ErrNotMember          = errors.New("protocol: not a member of the run")
	ErrBadToken           = errors.New("protocol: member token mismatch")
	ErrRateLimited        = errors.New("protocol: rate limited")
	ErrMembersFull        = errors.New("protocol: the run has its most members")
)

// Sentinel returns the sentinel error of a reason, or nil for an unknown one.
func (r Reason) Sentinel() error {
	switch r {
	case ReasonMalformed:
		return ErrMalformed
	case ReasonSchemaVersion:
		return ErrUnsupportedVersion
	case ReasonTooLarge:
		return ErrTooLarge
	case ReasonShape:
		return ErrShape
	case ReasonActionRange:
		return ErrActionRange
	case ReasonNonFinite:
		return ErrNonFinite
	case ReasonBadValue:
		return ErrBadValue
	case ReasonBadID:
		return ErrBadID
	case ReasonChecksum:
		return ErrChecksum
	case ReasonDuplicateSeq:
		return ErrDuplicateSeq
	case ReasonStaleVersion:
		return ErrStaleVersion
	case ReasonFutureVersion:
		return ErrFutureVersion
	case ReasonDuplicateVersion:
		return ErrDuplicateVersion
	case ReasonQueueFull:
		return ErrQueueFull
	case ReasonNotMember:
		return ErrNotMember
	case ReasonBadToken:
		return ErrBadToken
	case ReasonRateLimited:
		return ErrRateLimited
	case ReasonMembersFull:
		return ErrMembersFull
	}
	return nil
}

// DecodeError reports why a message (or an in-memory value passed to
// Validate or an encoder) is invalid. Field names the offending msgpack key
// path, e.g. "obs[17]" or "episodes[2].return".
type DecodeError struct {
	// Reason is the stable label to count the rejection by.
	Reason Reason
	// Field is the offending field, empty when the whole message is at fault.
	Field string
	// Err holds the detail.
	Err error
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("protocol: %s: %v", e.Reason, e.Err)
	}
	return fmt.Sprintf("protocol: %s: field %s: %v", e.Reason, e.Field, e.Err)
}

// Unwrap returns the detail error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrShape) and friends true for the error's Reason.
func (e *DecodeError) Is(target error) bool {
	s := e.Reason.Sentinel()
	return s != nil && target == s
}

// ReasonOf returns the Reason of err: that of a wrapped *DecodeError, else
// that of a wrapped sentinel, else ReasonMalformed. It returns "" for nil.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	for _, r := range Reasons() {
		if errors.Is(err, r.Sentinel()) {
			return r
		}
	}
	return ReasonMalformed
}

// SizeError reports a message larger than a payload limit. It matches
// ErrTooLarge with errors.Is.
type SizeError struct {
	// What names the message ("rollout", "weights", ...).
	What string
	// Size is the message size in bytes.
	Size int
	// Limit is the largest size allowed in bytes.
	Limit int
}

// Error implements error.
func (e *SizeError) Error() string {
	return fmt.Sprintf("protocol: %s of %d bytes exceeds the max payload of %d bytes "+
		"(raise the NATS server's max_payload or send smaller messages: fewer envs or a shorter horizon)",
		e.What, e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }

// fail builds a *DecodeError with a formatted detail.
func fail(reason Reason, field, format string, args ...any) *DecodeError {
	return &DecodeError{Reason: reason, Field: field, Err: fmt.Errorf(format, args...)}
}

// malformed wraps a low-level msgpack reading error for field.
func malformed(field string, err error) *DecodeError {
	return &DecodeError{Reason: ReasonMalformed, Field: field, Err: err}
}
