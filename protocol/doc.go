// Package protocol holds the wire contract between podmedic actors and the
// learner: the msgpack message types (Rollout, Weights, Hello, Heartbeat,
// WeightsRequest), the NATS subjects of a run, the schema version, size
// limits, validation and the typed errors the learner counts by reason.
//
// Every message is a msgpack map with string keys whose first entry is the
// schema version "v". Float arrays travel as msgpack bin (little-endian
// IEEE 754), boolean arrays as bitsets, so a rollout costs one memory copy to
// decode, not one msgpack value per float. Decoders check sizes before they
// allocate, then shapes, ranges and finiteness, and return a *DecodeError
// carrying a stable Reason.
//
// The codec is written against the msgpack specification by hand so that it
// allocates nothing in steady state and can bound every allocation by the
// input size; the output is plain msgpack that
// github.com/vmihailenco/msgpack/v5 (and any other msgpack library) reads,
// and each message type implements that library's Marshaler and Unmarshaler.
//
// The package must never import other podmedic packages, hold global mutable
// state, do I/O other than snapshot files, or panic on input from the wire.
package protocol
