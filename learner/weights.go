package learner

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"podmedic/internal/policywire"
	"podmedic/protocol"
)

// Weights broadcast: after every update (and on Open) the loop encodes the
// current policy once as a snapshot, keeps the bytes for the latest
// requests (requests.go), /v1/policy and the snapshot file, and publishes
// the Weights message they hold on the weights subject.

// buildWeights builds the message actors and evaluate consume.
func (s *Service) buildWeights() *protocol.Weights {
	arch := s.net.Arch()
	return &protocol.Weights{
		Version: s.upd.Version(), Epoch: s.epoch, Run: s.cfg.Run,
		Arch:            protocol.Arch{ObsSize: arch.ObsSize, NumActions: arch.NumActions, Hidden: arch.Hidden, Activation: arch.Activation, SharedTrunk: arch.SharedTrunk},
		Params:          s.net.Params(),
		Norm:            policywire.Norm(s.norm.Snapshot()),
		CreatedUnixNano: s.now().UnixNano(),
		Meta: map[string]string{
			"env_steps": strconv.FormatInt(s.envSteps, 10),
			"obs_names": strings.Join(s.spec.ObsNames, ","),
			"actions":   strings.Join(s.spec.ActionNames, ","),
		},
	}
}

// publishWeights encodes the current policy as a snapshot, keeps it for
// the latest requests and /v1/policy, and broadcasts its Weights message.
func (s *Service) publishWeights() error {
	data, err := protocol.EncodeSnapshot(s.buildWeights())
	if err != nil {
		return fmt.Errorf("learner: encode weights: %w", err)
	}
	msg := data[len(protocol.SnapshotMagic):]
	if mp := int(s.nc.MaxPayload()); mp > 0 && len(msg) > mp {
		return fmt.Errorf("learner: encode weights: %w", &protocol.SizeError{What: "weights", Size: len(msg), Limit: mp})
	}
	if s.fenced() {
		// Keep serving nothing newer: the lease is gone.
		s.metrics.Fenced.Inc()
		return fmt.Errorf("learner: publish weights of version %d: %w", s.upd.Version(), ErrFenced)
	}
	if !s.nc.IsConnected() && s.cfg.Fence != nil {
		// Under a lease, nothing waits in the reconnect buffer: sent after
		// a reconnection it could arrive after a successor's weights.
		s.metrics.Fenced.Inc()
		return fmt.Errorf("learner: publish weights of version %d: not connected to NATS", s.upd.Version())
	}
	s.snapshot.Store(&data)
	if err := s.nc.Publish(s.subj.Weights, msg); err != nil {
		return fmt.Errorf("learner: publish weights: %w", err)
	}
	if s.hooks.Snapshot != nil {
		s.hooks.Snapshot(s.snapshotEvent(data))
	}
	return nil
}

// ErrFenced: the service did not publish or write because
// ServiceConfig.Fence forbade it.
var ErrFenced = errors.New("learner: fenced (the lease is not held)")

// snapshotEvent describes the snapshot just published.
func (s *Service) snapshotEvent(data []byte) SnapshotEvent {
	w := s.metrics.Window.Stats()
	ev := SnapshotEvent{Version: s.upd.Version(), Epoch: s.epoch, Snapshot: data, Score: math.NaN(),
		Metrics: map[string]float64{"env_steps": float64(s.envSteps), "updates": float64(s.upd.Updates())}}
	if w.N > 0 {
		ev.Score = w.Mean
		ev.Metrics["return_mean"], ev.Metrics["episodes"] = w.Mean, float64(w.N)
	}
	return ev
}

// PolicySnapshot returns the policy snapshot of the current version
// (protocol.EncodeSnapshot): the bytes /v1/policy serves, policy.latest
// replies, the snapshot file holds and `evaluate --policy FILE` reads.
// Safe for concurrent use; the bytes must not be modified.
func (s *Service) PolicySnapshot() []byte {
	if p := s.snapshot.Load(); p != nil {
		return *p
	}
	return nil
}

// Weights returns the encoded Weights message of the current version
// (what actors receive on weights and weights.latest: PolicySnapshot
// without its magic line). Safe for concurrent use; the bytes must not be
// modified.
func (s *Service) Weights() []byte {
	if b := s.PolicySnapshot(); b != nil {
		return b[len(protocol.SnapshotMagic):]
	}
	return nil
}
