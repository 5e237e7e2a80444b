// Package protocol holds the wire contract between podmedic actors and the
// learner: the msgpack message types (Rollout, Weights, Hello, Heartbeat,
// MemberReply, Goodbye, WeightsRequest), the NATS subjects of a run, the
// schema version, size limits, validation, the typed errors the learner
// counts by reason, and the policy snapshot format (snapshot_file.go).
//
// Every message is a msgpack map with string keys whose first entry is the
// schema version "v". Float arrays travel as msgpack bin (little-endian
// IEEE 754), boolean arrays as bitsets, so a rollout costs one memory copy to
// decode, not one msgpack value per float. Decoders check sizes before they
// allocate, then shapes, ranges and finiteness, and return a *DecodeError
// carrying a stable Reason.
//
// Every message is encoded and decoded with github.com/vmihailenco/msgpack/v5.
// Hello, Heartbeat, MemberReply, Goodbye and WeightsRequest are tagged
// structs that the library marshals itself. Rollout and Weights are
// written and read field by field with the library's streaming Encoder and
// Decoder, reused across messages (Reset), reading the message in place:
// every length (DecodeMapLen,
// DecodeArrayLen, DecodeBytesLen) is checked against the input and the
// Limits before anything is allocated, and decoding into a reused Rollout
// allocates nothing. Each message type also implements the library's
// Marshaler and Unmarshaler, so msgpack.Marshal writes the same bytes.
//
// The package must never import other podmedic packages (but
// internal/atomicfile, for snapshot files), hold global mutable
// state (beyond a small cache of reusable Encoders and Decoders), do I/O
// other than snapshot files, or panic on input from the wire.
package protocol
