package protocol

import "fmt"

// SchemaVersion is the wire schema version written into every message's
// "v" field. Decoders refuse other versions with ReasonSchemaVersion.
// Adding an optional field keeps the version (decoders skip unknown keys);
// removing a field or changing a field's meaning or encoding bumps it.
//
// Version 2 ties actors to their membership: Hello became a request
// answered by a MemberReply carrying a member token, Rollout, Heartbeat
// and the new Goodbye carry that token, and Heartbeat became a request
// too. Messages of version 1 of those types are refused
// (schema_version). Weights and WeightsRequest did not change, so their
// version-1 encodings still decode (OldestWeightsVersion): snapshot files
// written before stay loadable.
const SchemaVersion = 2

// OldestWeightsVersion is the oldest schema version of Weights and
// WeightsRequest that decoders read (converted to SchemaVersion in
// memory); the other messages are read at SchemaVersion only.
const OldestWeightsVersion = 1

// Tolerances applied by validation.
const (
	// LogProbTolerance is how far above 0 a behaviour log-probability may
	// be (rounding in a log-softmax) before it is rejected.
	LogProbTolerance = 1e-6
	// MaxMetaEntries bounds Weights.Meta.
	MaxMetaEntries = 64
	// MaxHiddenLayers bounds Arch.Hidden.
	MaxHiddenLayers = 16
	// MaxHiddenWidth bounds every Arch.Hidden entry.
	MaxHiddenWidth = 1 << 16
	// MaxIDLen bounds actor ids and Meta keys, in bytes.
	MaxIDLen = 128
)

// Limits bound what decoders accept. They are checked before any
// allocation, so a small message declaring huge arrays is refused cheaply.
type Limits struct {
	// MaxPayload is the largest encoded message in bytes (>= 1 KiB).
	// Default 8 MiB. The NATS server's own default max_payload is 1 MiB;
	// podmedic starts its embedded server with 8 MiB
	// (internal/natsserver.DefaultMaxPayload) and encoders are given the
	// connection's MaxPayload(), so a message that does not fit is refused
	// with ErrTooLarge on the sending side instead of being truncated.
	MaxPayload int
	// MaxEnvs bounds Rollout.NumEnvs (1..2^20). Default 1024.
	MaxEnvs int
	// MaxHorizon bounds Rollout.Horizon in steps (1..2^20). Default 4096.
	MaxHorizon int
	// MaxObsSize bounds observation lengths (1..2^20). Default 4096.
	MaxObsSize int
	// MaxActions bounds the number of discrete actions (2..65536).
	// Default 256.
	MaxActions int
	// MaxParams bounds Weights.Params (1..2^30). Default 50M.
	MaxParams int
	// MaxEpisodes bounds Rollout.Episodes (0..2^20). Default 4096.
	MaxEpisodes int
	// MaxRecoveries bounds EpisodeSummary.RecoverySteps (0..2^20).
	// Default 1024.
	MaxRecoveries int
	// MaxStringLen bounds free-text strings (scenario, hostname, version),
	// in bytes (>= 16). Default 1024.
	MaxStringLen int
	// MaxMetaValueLen bounds a Weights.Meta value, in bytes (>= 16).
	// Default 64 KiB: the observation's feature names of a per-pod
	// cluster with 64 slots and a long history fit.
	MaxMetaValueLen int
	// MaxAbsReward bounds |reward| and |episode return| (> 0). Default 1e9.
	MaxAbsReward float64
}

// DefaultLimits returns the limits used by podmedic processes.
func DefaultLimits() Limits {
	return Limits{
		MaxPayload:      8 << 20,
		MaxEnvs:         1024,
		MaxHorizon:      4096,
		MaxObsSize:      4096,
		MaxActions:      256,
		MaxParams:       50_000_000,
		MaxEpisodes:     4096,
		MaxRecoveries:   1024,
		MaxStringLen:    1024,
		MaxMetaValueLen: 64 << 10,
		MaxAbsReward:    1e9,
	}
}

// Validate reports the first out-of-range field.
func (l Limits) Validate() error {
	const big = 1 << 20
	checks := []struct {
		name     string
		v, lo, h int
	}{
		{"MaxPayload", l.MaxPayload, 1 << 10, 1 << 31},
		{"MaxEnvs", l.MaxEnvs, 1, big},
		{"MaxHorizon", l.MaxHorizon, 1, big},
		{"MaxObsSize", l.MaxObsSize, 1, big},
		{"MaxActions", l.MaxActions, 2, 1 << 16},
		{"MaxParams", l.MaxParams, 1, 1 << 30},
		{"MaxEpisodes", l.MaxEpisodes, 0, big},
		{"MaxRecoveries", l.MaxRecoveries, 0, big},
		{"MaxStringLen", l.MaxStringLen, 16, big},
		{"MaxMetaValueLen", l.MaxMetaValueLen, 16, big},
	}
	for _, c := range checks {
		if c.v < c.lo || c.v > c.h {
			return fmt.Errorf("protocol: limits: %s = %d out of range [%d, %d]", c.name, c.v, c.lo, c.h)
		}
	}
	if !(l.MaxAbsReward > 0) || l.MaxAbsReward > 1e300 {
		return fmt.Errorf("protocol: limits: MaxAbsReward = %g out of range (0, 1e300]", l.MaxAbsReward)
	}
	return nil
}
