package protocol

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Hello is sent once on Subjects.Hello when an actor process starts.
type Hello struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders set it to the version read.
	V uint16
	// ActorID names the actor (see Rollout.ActorID).
	ActorID string
	// Incarnation is the actor process's random non-zero incarnation.
	Incarnation uint64
	// NumEnvs, Horizon, ObsSize and NumActions are the shape of the
	// rollouts the actor will send (limits as for Rollout).
	NumEnvs, Horizon, ObsSize, NumActions int
	// Scenario names the scenario mix the actor runs (may be empty).
	Scenario string
	// Hostname is the actor's host name (may be empty).
	Hostname string
	// Version is the podmedic build version (may be empty).
	Version string
	// StartedUnixNano is the process start time in ns since 1970.
	StartedUnixNano int64
}

// Heartbeat is sent periodically on Subjects.Heartbeat.
type Heartbeat struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders set it to the version read.
	V uint16
	// ActorID names the actor.
	ActorID string
	// Incarnation is the actor process's random non-zero incarnation.
	Incarnation uint64
	// Seq is the sequence number of the last rollout sent (0: none yet).
	Seq uint64
	// WeightsVersion is the policy version the actor currently acts with.
	WeightsVersion uint64
	// EnvSteps is the total number of environment steps taken.
	EnvSteps uint64
	// UnixNano is the send time in ns since 1970.
	UnixNano int64
}

// WeightsRequest asks Subjects.WeightsLatest (or Subjects.PolicyLatest)
// for the latest weights. An empty request body is valid and decodes as a
// zero request.
type WeightsRequest struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders set it to the version read.
	V uint16
	// ActorID names the requester (empty allowed, e.g. for evaluate).
	ActorID string
	// HaveVersion is the version the requester already has (0: none).
	HaveVersion uint64
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
	if err := checkActorID("actor_id", h.ActorID); err != nil {
		return err
	}
	if h.Incarnation == 0 {
		return fail(ReasonBadID, "incarnation", "must be non-zero")
	}
	return nil
}

// Validate checks q.
func (q *WeightsRequest) Validate() error {
	if q.V != SchemaVersion && q.V != 0 {
		return fail(ReasonSchemaVersion, "v", "version %d, want %d", q.V, SchemaVersion)
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
	b := appendMapLen(dst, 11)
	b = appendKeyUint(b, "v", SchemaVersion)
	b = appendKeyStr(b, "actor_id", h.ActorID)
	b = appendKeyUint(b, "incarnation", h.Incarnation)
	b = appendKeyUint(b, "num_envs", uint64(h.NumEnvs))
	b = appendKeyUint(b, "horizon", uint64(h.Horizon))
	b = appendKeyUint(b, "obs_size", uint64(h.ObsSize))
	b = appendKeyUint(b, "num_actions", uint64(h.NumActions))
	b = appendKeyStr(b, "scenario", h.Scenario)
	b = appendKeyStr(b, "hostname", h.Hostname)
	b = appendKeyStr(b, "version", h.Version)
	b = appendKeyInt(b, "started_unix_nano", h.StartedUnixNano)
	return b, nil
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
	old := *h
	*h = Hello{}
	err := decodeSmall("hello", data, lim, func(rd *reader, key []byte) error {
		var err error
		var u uint64
		switch string(key) {
		case "actor_id":
			h.ActorID, err = readString(rd, old.ActorID, MaxIDLen)
		case "incarnation":
			h.Incarnation, err = rd.uint(math.MaxUint64)
		case "num_envs", "horizon", "obs_size", "num_actions":
			u, err = rd.uint(math.MaxInt32)
			switch string(key) {
			case "num_envs":
				h.NumEnvs = int(u)
			case "horizon":
				h.Horizon = int(u)
			case "obs_size":
				h.ObsSize = int(u)
			default:
				h.NumActions = int(u)
			}
		case "scenario":
			h.Scenario, err = readString(rd, old.Scenario, lim.MaxStringLen)
		case "hostname":
			h.Hostname, err = readString(rd, old.Hostname, lim.MaxStringLen)
		case "version":
			h.Version, err = readString(rd, old.Version, lim.MaxStringLen)
		case "started_unix_nano":
			h.StartedUnixNano, err = rd.int(math.MinInt64, math.MaxInt64)
		default:
			err = rd.skip(0)
		}
		return err
	})
	if err != nil {
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
	b := appendMapLen(dst, 7)
	b = appendKeyUint(b, "v", SchemaVersion)
	b = appendKeyStr(b, "actor_id", hb.ActorID)
	b = appendKeyUint(b, "incarnation", hb.Incarnation)
	b = appendKeyUint(b, "seq", hb.Seq)
	b = appendKeyUint(b, "weights_version", hb.WeightsVersion)
	b = appendKeyUint(b, "env_steps", hb.EnvSteps)
	b = appendKeyInt(b, "unix_nano", hb.UnixNano)
	return b, nil
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
	old := *hb
	*hb = Heartbeat{}
	err := decodeSmall("heartbeat", data, lim, func(rd *reader, key []byte) error {
		var err error
		switch string(key) {
		case "actor_id":
			hb.ActorID, err = readString(rd, old.ActorID, MaxIDLen)
		case "incarnation":
			hb.Incarnation, err = rd.uint(math.MaxUint64)
		case "seq":
			hb.Seq, err = rd.uint(math.MaxUint64)
		case "weights_version":
			hb.WeightsVersion, err = rd.uint(math.MaxUint64)
		case "env_steps":
			hb.EnvSteps, err = rd.uint(math.MaxUint64)
		case "unix_nano":
			hb.UnixNano, err = rd.int(math.MinInt64, math.MaxInt64)
		default:
			err = rd.skip(0)
		}
		return err
	})
	if err != nil {
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
	b := appendMapLen(dst, 3)
	b = appendKeyUint(b, "v", SchemaVersion)
	b = appendKeyStr(b, "actor_id", q.ActorID)
	b = appendKeyUint(b, "have_version", q.HaveVersion)
	return b, nil
}

// DecodeWeightsRequest decodes and validates a WeightsRequest. An empty
// body decodes as WeightsRequest{V: SchemaVersion}.
func DecodeWeightsRequest(data []byte, lim Limits) (*WeightsRequest, error) {
	q := &WeightsRequest{V: SchemaVersion}
	if len(data) == 0 {
		return q, nil
	}
	*q = WeightsRequest{}
	err := decodeSmall("weights request", data, lim, func(rd *reader, key []byte) error {
		var err error
		switch string(key) {
		case "actor_id":
			q.ActorID, err = readString(rd, "", MaxIDLen)
		case "have_version":
			q.HaveVersion, err = rd.uint(math.MaxUint64)
		default:
			err = rd.skip(0)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	q.V = SchemaVersion
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return q, nil
}

// decodeSmall reads a top-level map, calling field for every key; it
// checks the payload size, the schema version (present and supported)
// and that nothing trails the map.
func decodeSmall(what string, data []byte, lim Limits, field func(*reader, []byte) error) error {
	if len(data) > lim.MaxPayload {
		return &DecodeError{Reason: ReasonTooLarge, Err: &SizeError{What: what, Size: len(data), Limit: lim.MaxPayload}}
	}
	rd := reader{b: data}
	n, err := rd.mapLen()
	if err != nil {
		return malformed("", err)
	}
	hasV := false
	for i := 0; i < n; i++ {
		key, err := rd.str()
		if err != nil {
			return malformed("", err)
		}
		if string(key) == "v" {
			u, err := rd.uint(math.MaxUint16)
			if err != nil {
				return malformed("v", err)
			}
			if u != SchemaVersion {
				return fail(ReasonSchemaVersion, "v", "version %d, want %d", u, SchemaVersion)
			}
			hasV = true
			continue
		}
		if err := field(&rd, key); err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				if de.Field == "" {
					de.Field = string(key)
				}
				return de
			}
			return malformed(string(key), err)
		}
	}
	if rd.remaining() != 0 {
		return malformed("", errTrailing)
	}
	if !hasV {
		return fail(ReasonSchemaVersion, "v", "missing schema version")
	}
	return nil
}

// readString reads a str of at most max bytes, reusing old when equal.
func readString(rd *reader, old string, max int) (string, error) {
	s, err := rd.str()
	if err != nil {
		return "", err
	}
	if len(s) > max {
		return "", &DecodeError{Reason: ReasonTooLarge, Err: fmt.Errorf("string of %d bytes > max %d", len(s), max)}
	}
	return keepString(old, s), nil
}
