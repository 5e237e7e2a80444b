package protocol

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// Hello is an actor's request to join the run, sent on Subjects.Hello when
// the actor starts and again whenever the learner no longer knows it. The
// learner answers with a MemberReply.
type Hello struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders set it to the version read.
	V uint16 `msgpack:"v"`
	// ActorID names the actor (see Rollout.ActorID).
	ActorID string `msgpack:"actor_id"`
	// Incarnation is the actor process's random non-zero incarnation.
	Incarnation uint64 `msgpack:"incarnation"`
	// NumEnvs, Horizon, ObsSize and NumActions are the shape of the
	// rollouts the actor will send (limits as for Rollout).
	NumEnvs    int `msgpack:"num_envs"`
	Horizon    int `msgpack:"horizon"`
	ObsSize    int `msgpack:"obs_size"`
	NumActions int `msgpack:"num_actions"`
	// Scenario names the scenario mix the actor runs (may be empty).
	Scenario string `msgpack:"scenario"`
	// Hostname is the actor's host name (may be empty).
	Hostname string `msgpack:"hostname"`
	// Version is the podmedic build version (may be empty).
	Version string `msgpack:"version"`
	// StartedUnixNano is the process start time in ns since 1970.
	StartedUnixNano int64 `msgpack:"started_unix_nano"`
}

// Heartbeat is a member's periodic request on Subjects.Heartbeat; the
// learner answers with a MemberReply (Accepted false: say hello again).
type Heartbeat struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders set it to the version read.
	V uint16 `msgpack:"v"`
	// ActorID names the actor.
	ActorID string `msgpack:"actor_id"`
	// Incarnation is the actor process's random non-zero incarnation.
	Incarnation uint64 `msgpack:"incarnation"`
	// MemberToken is the token of the learner's reply to the hello
	// (non-zero).
	MemberToken uint64 `msgpack:"member_token"`
	// Seq is the sequence number of the last rollout sent (0: none yet).
	Seq uint64 `msgpack:"seq"`
	// WeightsVersion is the policy version the actor currently acts with.
	WeightsVersion uint64 `msgpack:"weights_version"`
	// EnvSteps is the total number of environment steps taken.
	EnvSteps uint64 `msgpack:"env_steps"`
	// UnixNano is the send time in ns since 1970.
	UnixNano int64 `msgpack:"unix_nano"`
}

// WeightsRequest asks Subjects.WeightsLatest (or Subjects.PolicyLatest)
// for the latest weights. An empty request body is valid and decodes as a
// zero request.
type WeightsRequest struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders read versions
	// OldestWeightsVersion..SchemaVersion and set it to SchemaVersion.
	V uint16 `msgpack:"v"`
	// ActorID names the requester (empty allowed, e.g. for evaluate).
	ActorID string `msgpack:"actor_id"`
	// HaveVersion is the version the requester already has (0: none).
	HaveVersion uint64 `msgpack:"have_version"`
}

// CheckShape reports (ReasonShape) an actor whose environments differ from
// what the receiver expects (only ObsSize and NumActions are checked).
func (h *Hello) CheckShape(want Shape) error {
	return Shape{ObsSize: want.ObsSize, NumActions: want.NumActions}.check(h.ObsSize, h.NumActions, 0, 0)
}

// Validate checks h against lim.
func (h *Hello) Validate(lim Limits) error {
	if h.V != SchemaVersion && h.V != 0 {
		return fail(ReasonSchemaVersion, "v", "version %d, want %d", h.V, SchemaVersion)
	}
	if err := checkActorID("actor_id", h.ActorID); err != nil {
		return err
	}
	if h.Incarnation == 0 {
		return fail(ReasonBadID, "incarnation", "must be non-zero")
	}
	r := Rollout{NumEnvs: h.NumEnvs, Horizon: h.Horizon, ObsSize: h.ObsSize, NumActions: h.NumActions}
	if err := r.checkDims(lim); err != nil {
		return err
	}
	for _, s := range [...]struct{ name, v string }{{"scenario", h.Scenario}, {"hostname", h.Hostname}, {"version", h.Version}} {
		if err := checkText(s.name, s.v, lim); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks h.
func (h *Heartbeat) Validate() error {
	if h.V != SchemaVersion && h.V != 0 {
		return fail(ReasonSchemaVersion, "v", "version %d, want %d", h.V, SchemaVersion)
	}
	return checkMember(h.ActorID, h.Incarnation, h.MemberToken)
}

// checkMember checks the identity a member's messages carry.
func checkMember(actorID string, incarnation, token uint64) error {
	if err := checkActorID("actor_id", actorID); err != nil {
		return err
	}
	if incarnation == 0 {
		return fail(ReasonBadID, "incarnation", "must be non-zero")
	}
	if token == 0 {
		return fail(ReasonBadID, "member_token", "must be non-zero")
	}
	return nil
}

// Validate checks q.
func (q *WeightsRequest) Validate() error {
	if q.V != 0 && (q.V < OldestWeightsVersion || q.V > SchemaVersion) {
		return fail(ReasonSchemaVersion, "v", "version %d, want %d..%d", q.V, OldestWeightsVersion, SchemaVersion)
	}
	if q.ActorID != "" {
		return checkActorID("actor_id", q.ActorID)
	}
	return nil
}

func checkText(field, s string, lim Limits) error {
	if len(s) > lim.MaxStringLen {
		return fail(ReasonTooLarge, field, "%d bytes > max %d", len(s), lim.MaxStringLen)
	}
	if !utf8.ValidString(s) {
		return fail(ReasonBadValue, field, "not valid UTF-8")
	}
	return nil
}

// The small messages are plain tagged structs that the library marshals
// and unmarshals itself. The wire types below are the same structs without
// the Marshaler and Unmarshaler methods of msgpack_interop.go, which call
// back into this file.
type (
	helloWire          Hello
	heartbeatWire      Heartbeat
	weightsRequestWire WeightsRequest
)

// EncodeHello validates and encodes h; maxPayload as for EncodeRollout.
func EncodeHello(h *Hello, maxPayload int) ([]byte, error) {
	b, err := AppendHello(nil, h)
	if err == nil {
		err = checkPayload("hello", b, maxPayload)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendHello validates h (widest Limits) and appends its encoding to dst.
func AppendHello(dst []byte, h *Hello) ([]byte, error) {
	if err := h.Validate(widestLimits()); err != nil {
		return dst, err
	}
	c := helloWire(*h)
	c.V = SchemaVersion
	return appendSmall("hello", dst, &c)
}

// DecodeHello decodes and validates a Hello.
func DecodeHello(data []byte, lim Limits) (*Hello, error) {
	h := new(Hello)
	if err := DecodeHelloInto(h, data, lim); err != nil {
		return nil, err
	}
	return h, nil
}

// DecodeHelloInto decodes data into h and validates it. lim must be valid.
func DecodeHelloInto(h *Hello, data []byte, lim Limits) error {
	*h = Hello{}
	if err := decodeSmall("hello", data, lim, SchemaVersion, (*helloWire)(h)); err != nil {
		return err
	}
	h.V = SchemaVersion
	return h.Validate(lim)
}

// EncodeHeartbeat validates and encodes hb; maxPayload as for EncodeRollout.
func EncodeHeartbeat(hb *Heartbeat, maxPayload int) ([]byte, error) {
	b, err := AppendHeartbeat(nil, hb)
	if err == nil {
		err = checkPayload("heartbeat", b, maxPayload)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendHeartbeat validates hb and appends its encoding to dst.
func AppendHeartbeat(dst []byte, hb *Heartbeat) ([]byte, error) {
	if err := hb.Validate(); err != nil {
		return dst, err
	}
	c := heartbeatWire(*hb)
	c.V = SchemaVersion
	return appendSmall("heartbeat", dst, &c)
}

// DecodeHeartbeat decodes and validates a Heartbeat.
func DecodeHeartbeat(data []byte, lim Limits) (*Heartbeat, error) {
	hb := new(Heartbeat)
	if err := DecodeHeartbeatInto(hb, data, lim); err != nil {
		return nil, err
	}
	return hb, nil
}

// DecodeHeartbeatInto decodes data into hb and validates it.
func DecodeHeartbeatInto(hb *Heartbeat, data []byte, lim Limits) error {
	*hb = Heartbeat{}
	if err := decodeSmall("heartbeat", data, lim, SchemaVersion, (*heartbeatWire)(hb)); err != nil {
		return err
	}
	hb.V = SchemaVersion
	return hb.Validate()
}

// EncodeWeightsRequest validates and encodes q.
func EncodeWeightsRequest(q *WeightsRequest) ([]byte, error) {
	return AppendWeightsRequest(nil, q)
}

// AppendWeightsRequest validates q and appends its encoding to dst.
func AppendWeightsRequest(dst []byte, q *WeightsRequest) ([]byte, error) {
	if err := q.Validate(); err != nil {
		return dst, err
	}
	c := weightsRequestWire(*q)
	c.V = SchemaVersion
	return appendSmall("weights request", dst, &c)
}

// DecodeWeightsRequest decodes and validates a WeightsRequest. An empty
// body decodes as WeightsRequest{V: SchemaVersion}.
func DecodeWeightsRequest(data []byte, lim Limits) (*WeightsRequest, error) {
	q := &WeightsRequest{V: SchemaVersion}
	if len(data) == 0 {
		return q, nil
	}
	*q = WeightsRequest{}
	if err := decodeSmall("weights request", data, lim, OldestWeightsVersion, (*weightsRequestWire)(q)); err != nil {
		return nil, err
	}
	q.V = SchemaVersion
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return q, nil
}

// appendSmall appends the library's encoding of the tagged struct v (a map
// with the fields in declaration order, compact integers) to dst.
func appendSmall(what string, dst []byte, v any) ([]byte, error) {
	e := getEncoder(dst)
	e.do(e.enc.Encode(v))
	b, err := e.finish()
	if err != nil {
		return dst, fmt.Errorf("encode %s: %w", what, err)
	}
	return b, nil
}

// decodeSmall decodes data into the tagged struct v with the library. A
// first pass over the message (checkEnvelope) checks what the library's
// struct decoder does not: the payload size, one map with nothing after it,
// unknown values nested no deeper than maxSkipDepth, and the schema version
// present and in oldest..SchemaVersion (read exactly, where the struct's
// uint16 field would silently truncate a larger number).
func decodeSmall(what string, data []byte, lim Limits, oldest uint64, v any) error {
	if len(data) > lim.MaxPayload {
		return &DecodeError{Reason: ReasonTooLarge, Err: &SizeError{What: what, Size: len(data), Limit: lim.MaxPayload}}
	}
	d := getDecoder(data)
	defer d.release()
	if err := d.checkEnvelope(oldest); err != nil {
		return err
	}
	// The cached decoders only ever read scalars and headers (see decoder);
	// strings go through a decoder of the library's own pool, which the
	// garbage collector empties.
	d.src = sliceReader{b: data}
	dec := msgpack.GetDecoder()
	defer msgpack.PutDecoder(dec)
	dec.Reset(&d.src)
	if err := dec.Decode(v); err != nil {
		return malformed("", err)
	}
	return nil
}

// checkEnvelope reads a small message's top-level map, checking the schema
// version (oldest..SchemaVersion) and skipping every other value.
func (d *decoder) checkEnvelope(oldest uint64) error {
	n, err := d.mapLen()
	if err != nil {
		return malformed("", err)
	}
	hasV := false
	for i := 0; i < n; i++ {
		key, err := d.bytes()
		if err != nil {
			return malformed("", err)
		}
		if string(key) != "v" {
			if err := d.skip(1); err != nil {
				return malformed(string(key), err)
			}
			continue
		}
		u, err := d.uint(math.MaxUint16)
		if err != nil {
			return malformed("v", err)
		}
		if u < oldest || u > SchemaVersion {
			if oldest == SchemaVersion {
				return fail(ReasonSchemaVersion, "v", "version %d, want %d", u, SchemaVersion)
			}
			return fail(ReasonSchemaVersion, "v", "version %d, want %d..%d", u, oldest, SchemaVersion)
		}
		hasV = true
	}
	if err := d.done(); err != nil {
		return malformed("", err)
	}
	if !hasV {
		return fail(ReasonSchemaVersion, "v", "missing schema version")
	}
	return nil
}
