package learner

import (
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"

	"podmedic/learner/ppo"
	"podmedic/policy"
)

// initModel builds fresh parameters or resumes from the newest valid
// checkpoint, at the version it was saved with.
func (s *Service) initModel() error {
	arch := policy.DefaultArch(s.spec.ObsSize, s.spec.NumActions)
	if len(s.cfg.Hidden) > 0 {
		arch.Hidden = append([]int(nil), s.cfg.Hidden...)
	}
	if s.cfg.CheckpointDir != "" {
		if err := os.MkdirAll(s.cfg.CheckpointDir, 0o755); err != nil {
			return fmt.Errorf("learner: checkpoint dir: %w", err)
		}
		path, ck, err := LatestCheckpoint(s.cfg.CheckpointDir)
		switch {
		case errors.Is(err, ErrNoCheckpoint):
		case err != nil:
			return fmt.Errorf("learner: find checkpoint: %w", err)
		case !ck.Arch.Equal(arch):
			return fmt.Errorf("learner: resume from %s: checkpoint network %+v differs from this run's %+v (use another checkpoint dir)", path, ck.Arch, arch)
		default:
			upd, norm, err := ck.Restore()
			if err != nil {
				return fmt.Errorf("learner: resume from %s: %w", path, err)
			}
			s.upd, s.net, s.norm, s.envSteps = upd, upd.Net(), norm, ck.EnvSteps
			s.lastCkpt = upd.Version()
			s.log.Info("resumed from checkpoint", "path", path, "version", upd.Version(), "env_steps", ck.EnvSteps)
			return nil
		}
	}
	net, err := policy.New(arch, mrand.New(mrand.NewPCG(s.cfg.Seed, 0x9e3779b97f4a7c15)))
	if err != nil {
		return fmt.Errorf("learner: build network: %w", err)
	}
	s.net, s.norm = net, policy.NewNormalizer(s.spec.ObsSize)
	if !s.cfg.NormalizeObs {
		s.norm = policy.NewIdentityNormalizer(s.spec.ObsSize)
	}
	s.upd, err = ppo.New(net, s.cfg.PPO, s.totalUpdates(), mrand.New(mrand.NewPCG(s.cfg.Seed, 0xda3e39cb94b95bdb)))
	if err != nil {
		return fmt.Errorf("learner: build PPO: %w", err)
	}
	return nil
}

// checkpoint writes the full training state, prunes old checkpoints and
// returns the path written.
func (s *Service) checkpoint() (string, error) {
	if s.cfg.CheckpointDir == "" {
		return "", nil
	}
	ck := NewCheckpoint(s.upd.State(), s.norm, s.envSteps, map[string]string{"run": s.cfg.Run})
	path := filepath.Join(s.cfg.CheckpointDir, CheckpointName(s.upd.Version()))
	if err := SaveCheckpoint(path, ck); err != nil {
		s.metrics.CheckpointErrors.Inc()
		return "", err
	}
	s.lastCkpt = s.upd.Version()
	s.metrics.Checkpoints.Inc()
	if err := pruneCheckpoints(s.cfg.CheckpointDir, s.cfg.KeepCheckpoints); err != nil {
		s.log.Warn("prune checkpoints failed", "error", err)
	}
	return path, nil
}
