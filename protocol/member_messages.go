package protocol

// Membership messages (schema version 2). An actor joins a run with a
// Hello request on Subjects.Hello; the learner answers with a MemberReply
// that, when Accepted, carries a member token. Every Rollout, Heartbeat and
// Goodbye of that actor incarnation carries the token. Heartbeats are
// requests too, answered with a MemberReply saying whether the actor is
// still a member (if not, it says hello again). A stopping actor publishes
// a Goodbye and leaves the membership at once.

// MemberReply answers a Hello or a Heartbeat.
type MemberReply struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders set it to SchemaVersion.
	V uint16 `msgpack:"v"`
	// Accepted is true when the actor is (now) a member.
	Accepted bool `msgpack:"accepted"`
	// MemberToken is the actor incarnation's token (non-zero when
	// Accepted, 0 otherwise). A repeated hello of the same incarnation gets
	// the same token.
	MemberToken uint64 `msgpack:"member_token"`
	// Epoch is the learner process's epoch (Weights.Epoch).
	Epoch uint64 `msgpack:"epoch"`
	// Reason says why a hello was refused or a heartbeat not recognised:
	// a Reason label (not_member, rate_limited, members_full, shape, ...);
	// empty when Accepted.
	Reason string `msgpack:"reason"`
	// RetryAfterMillis is how long the actor should wait before its next
	// hello when refused (0: its own back-off).
	RetryAfterMillis uint32 `msgpack:"retry_after_ms"`
}

// Goodbye is published on Subjects.Goodbye by a stopping member.
type Goodbye struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders set it to SchemaVersion.
	V uint16 `msgpack:"v"`
	// ActorID, Incarnation and MemberToken identify the member.
	ActorID     string `msgpack:"actor_id"`
	Incarnation uint64 `msgpack:"incarnation"`
	MemberToken uint64 `msgpack:"member_token"`
	// Seq is the sequence number of the last rollout sent (0: none).
	Seq uint64 `msgpack:"seq"`
}

// Validate checks m.
func (m *MemberReply) Validate() error {
	if m.V != SchemaVersion && m.V != 0 {
		return fail(ReasonSchemaVersion, "v", "version %d, want %d", m.V, SchemaVersion)
	}
	switch {
	case m.Accepted && m.MemberToken == 0:
		return fail(ReasonBadID, "member_token", "an accepted member needs a non-zero token")
	case m.Accepted && m.Reason != "":
		return fail(ReasonBadValue, "reason", "%q given for an accepted member", m.Reason)
	case !m.Accepted && m.MemberToken != 0:
		return fail(ReasonBadValue, "member_token", "a token given with a refusal")
	case !m.Accepted:
		if err := checkActorID("reason", m.Reason); err != nil {
			return fail(ReasonBadValue, "reason", "a refusal needs a reason of 1..%d printable ASCII bytes", MaxIDLen)
		}
	}
	return nil
}

// Validate checks g.
func (g *Goodbye) Validate() error {
	if g.V != SchemaVersion && g.V != 0 {
		return fail(ReasonSchemaVersion, "v", "version %d, want %d", g.V, SchemaVersion)
	}
	return checkMember(g.ActorID, g.Incarnation, g.MemberToken)
}

type (
	memberReplyWire MemberReply
	goodbyeWire     Goodbye
)

// EncodeMemberReply validates and encodes m.
func EncodeMemberReply(m *MemberReply) ([]byte, error) { return AppendMemberReply(nil, m) }

// AppendMemberReply validates m and appends its encoding to dst.
func AppendMemberReply(dst []byte, m *MemberReply) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return dst, err
	}
	c := memberReplyWire(*m)
	c.V = SchemaVersion
	return appendSmall("member reply", dst, &c)
}

// DecodeMemberReply decodes and validates a MemberReply.
func DecodeMemberReply(data []byte, lim Limits) (*MemberReply, error) {
	m := new(MemberReply)
	if err := DecodeMemberReplyInto(m, data, lim); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeMemberReplyInto decodes data into m and validates it.
func DecodeMemberReplyInto(m *MemberReply, data []byte, lim Limits) error {
	*m = MemberReply{}
	if err := decodeSmall("member reply", data, lim, SchemaVersion, (*memberReplyWire)(m)); err != nil {
		return err
	}
	m.V = SchemaVersion
	return m.Validate()
}

// EncodeGoodbye validates and encodes g.
func EncodeGoodbye(g *Goodbye) ([]byte, error) { return AppendGoodbye(nil, g) }

// AppendGoodbye validates g and appends its encoding to dst.
func AppendGoodbye(dst []byte, g *Goodbye) ([]byte, error) {
	if err := g.Validate(); err != nil {
		return dst, err
	}
	c := goodbyeWire(*g)
	c.V = SchemaVersion
	return appendSmall("goodbye", dst, &c)
}

// DecodeGoodbye decodes and validates a Goodbye.
func DecodeGoodbye(data []byte, lim Limits) (*Goodbye, error) {
	g := new(Goodbye)
	if err := DecodeGoodbyeInto(g, data, lim); err != nil {
		return nil, err
	}
	return g, nil
}

// DecodeGoodbyeInto decodes data into g and validates it.
func DecodeGoodbyeInto(g *Goodbye, data []byte, lim Limits) error {
	*g = Goodbye{}
	if err := decodeSmall("goodbye", data, lim, SchemaVersion, (*goodbyeWire)(g)); err != nil {
		return err
	}
	g.V = SchemaVersion
	return g.Validate()
}
