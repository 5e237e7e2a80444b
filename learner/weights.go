package learner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"podmedic/internal/policywire"
	"podmedic/protocol"
)

// Weights broadcast: after every update (and on Open) the loop encodes the
// current policy once, keeps the bytes for latest requests and /v1/policy,
// and publishes them on the weights subject.

// weights builds the message actors and evaluate consume.
func (s *Service) weights() *protocol.Weights {
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

// publishWeights encodes the current weights, keeps them for the latest
// requests and broadcasts them.
func (s *Service) publishWeights() error {
	data, err := protocol.EncodeWeights(s.weights(), int(s.nc.MaxPayload()))
	if err != nil {
		return fmt.Errorf("learner: encode weights: %w", err)
	}
	s.latest.Store(&data)
	if err := s.nc.Publish(s.subj.Weights, data); err != nil {
		return fmt.Errorf("learner: publish weights: %w", err)
	}
	return nil
}

// Snapshot returns the encoded Weights of the current version, what
// policy.latest and /v1/policy serve. Safe for concurrent use; the bytes
// must not be modified.
func (s *Service) Snapshot() []byte {
	if p := s.latest.Load(); p != nil {
		return *p
	}
	return nil
}

// onLatest answers weights.latest and policy.latest with the current
// encoded Weights, whatever the request body holds.
func (s *Service) onLatest(msg *nats.Msg) {
	if msg.Reply == "" {
		return
	}
	if err := msg.Respond(s.Snapshot()); err != nil {
		s.log.Warn("reply latest weights failed", "error", err)
	}
}
