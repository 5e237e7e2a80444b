package protocol

import "github.com/vmihailenco/msgpack/v5"

// The message types plug into github.com/vmihailenco/msgpack/v5:
// msgpack.Marshal and msgpack.Unmarshal produce and accept exactly the wire
// format of the Encode and Decode functions (decoding with DefaultLimits).
var (
	_ msgpack.Marshaler   = (*Rollout)(nil)
	_ msgpack.Unmarshaler = (*Rollout)(nil)
	_ msgpack.Marshaler   = (*Weights)(nil)
	_ msgpack.Unmarshaler = (*Weights)(nil)
	_ msgpack.Marshaler   = (*Hello)(nil)
	_ msgpack.Unmarshaler = (*Hello)(nil)
	_ msgpack.Marshaler   = (*Heartbeat)(nil)
	_ msgpack.Unmarshaler = (*Heartbeat)(nil)
	_ msgpack.Marshaler   = (*MemberReply)(nil)
	_ msgpack.Unmarshaler = (*MemberReply)(nil)
	_ msgpack.Marshaler   = (*Goodbye)(nil)
	_ msgpack.Unmarshaler = (*Goodbye)(nil)
)

// MarshalMsgpack implements msgpack.Marshaler (see AppendRollout).
func (r *Rollout) MarshalMsgpack() ([]byte, error) { return AppendRollout(nil, r) }

// UnmarshalMsgpack implements msgpack.Unmarshaler with DefaultLimits.
func (r *Rollout) UnmarshalMsgpack(b []byte) error {
	return DecodeRolloutInto(r, b, DefaultLimits())
}

// MarshalMsgpack implements msgpack.Marshaler (see AppendWeights).
func (w *Weights) MarshalMsgpack() ([]byte, error) { return AppendWeights(nil, w) }

// UnmarshalMsgpack implements msgpack.Unmarshaler with DefaultLimits.
func (w *Weights) UnmarshalMsgpack(b []byte) error {
	return DecodeWeightsInto(w, b, DefaultLimits())
}

// MarshalMsgpack implements msgpack.Marshaler (see AppendHello).
func (h *Hello) MarshalMsgpack() ([]byte, error) { return AppendHello(nil, h) }

// UnmarshalMsgpack implements msgpack.Unmarshaler with DefaultLimits.
func (h *Hello) UnmarshalMsgpack(b []byte) error {
	return DecodeHelloInto(h, b, DefaultLimits())
}

// MarshalMsgpack implements msgpack.Marshaler (see AppendHeartbeat).
func (hb *Heartbeat) MarshalMsgpack() ([]byte, error) { return AppendHeartbeat(nil, hb) }

// UnmarshalMsgpack implements msgpack.Unmarshaler with DefaultLimits.
func (hb *Heartbeat) UnmarshalMsgpack(b []byte) error {
	return DecodeHeartbeatInto(hb, b, DefaultLimits())
}

// MarshalMsgpack implements msgpack.Marshaler (see AppendMemberReply).
func (m *MemberReply) MarshalMsgpack() ([]byte, error) { return AppendMemberReply(nil, m) }

// UnmarshalMsgpack implements msgpack.Unmarshaler with DefaultLimits.
func (m *MemberReply) UnmarshalMsgpack(b []byte) error {
	return DecodeMemberReplyInto(m, b, DefaultLimits())
}

// MarshalMsgpack implements msgpack.Marshaler (see AppendGoodbye).
func (g *Goodbye) MarshalMsgpack() ([]byte, error) { return AppendGoodbye(nil, g) }

// UnmarshalMsgpack implements msgpack.Unmarshaler with DefaultLimits.
func (g *Goodbye) UnmarshalMsgpack(b []byte) error {
	return DecodeGoodbyeInto(g, b, DefaultLimits())
}
