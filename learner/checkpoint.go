package learner

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	mrand "math/rand/v2"
	"os"
	"strings"

	"podmedic/learner/ppo"
	"podmedic/policy"
)

// What the service does with its checkpoint store (checkpoint_store.go):
//
//   - At start it resumes from the newest valid checkpoint. Newer ones that
//     are corrupt or foreign are logged (file and reason) and set aside as
//     *.corrupt. If the store holds checkpoints and none is valid, it
//     refuses to start (*NoValidCheckpointError) and moves nothing, so a
//     restart cannot silently begin again at version 0; Fresh starts over
//     after setting every checkpoint aside.
//   - Every CheckpointEvery updates and at Close it writes a checkpoint
//     and reads it back: only when the bytes read are the bytes written
//     does it count as written (LastCheckpoint). The first checkpoint a
//     service writes is also decoded back; later ones need not be, since
//     the same encoder made them (a checkpoint takes a few ms and the
//     default cadence is every 10 updates). A failed write leaves the
//     previous checkpoints as they were; it is counted
//     (podmedic_learner_checkpoint_errors_total), logged at most once a
//     minute, and training goes on.
//   - After a verified write it prunes: newest first, valid checkpoints are
//     kept up to KeepCheckpoints, invalid ones are set aside, older ones
//     removed. A broken file is never counted as kept: each is read again,
//     and decoded unless its checksum is that of bytes this service
//     verified.
//   - With every checkpoint it writes the policy snapshot (the bytes
//     /v1/policy serves) to the store's snapshot location.

// Suffixes of checkpoints set aside.
const (
	corruptSuffix    = ".corrupt"
	supersededSuffix = ".superseded"
)

// RefusedCheckpoint is a checkpoint that failed to load.
type RefusedCheckpoint struct {
	// Location names it (CheckpointStore.Location).
	Location string
	// Err says why (wraps ErrCorrupt, ErrForeign or ErrVersion).
	Err error
}

// NoValidCheckpointError is NewService's refusal to start on a store
// whose checkpoints are all invalid. It matches ErrNoValidCheckpoint.
type NoValidCheckpointError struct {
	// Store names the store (a directory).
	Store string
	// Refused lists every checkpoint, newest first, with its reason.
	Refused []RefusedCheckpoint
}

// Error implements error.
func (e *NoValidCheckpointError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "learner: none of the %d checkpoints in %s is valid:", len(e.Refused), e.Store)
	for _, r := range e.Refused {
		fmt.Fprintf(&b, " %s (%v);", r.Location, r.Err)
	}
	b.WriteString(" refusing to start from scratch over them: restore a valid checkpoint, or start over" +
		" with Fresh (podmedic: --fresh), which moves them aside as *" + corruptSuffix)
	return b.String()
}

// Is makes errors.Is(err, ErrNoValidCheckpoint) true.
func (e *NoValidCheckpointError) Is(target error) bool { return target == ErrNoValidCheckpoint }

// CheckpointInfo describes a checkpoint the service wrote and verified, or
// resumed from.
type CheckpointInfo struct {
	// Location names it (a path for DirStore).
	Location string
	// Version and EnvSteps are its policy version and env-step count.
	Version  uint64
	EnvSteps int64
}

// LastCheckpoint returns the newest checkpoint the service wrote and
// verified (or resumed from), and false if there is none. Safe for
// concurrent use.
func (s *Service) LastCheckpoint() (CheckpointInfo, bool) {
	if p := s.lastCheckpoint.Load(); p != nil {
		return *p, true
	}
	return CheckpointInfo{}, false
}

// openStore returns the configured store, nil for none.
func (s *Service) openStore() (CheckpointStore, error) {
	if s.cfg.Store != nil {
		return s.cfg.Store, nil
	}
	if s.cfg.CheckpointDir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(s.cfg.CheckpointDir, 0o755); err != nil {
		return nil, fmt.Errorf("learner: checkpoint dir: %w", err)
	}
	return DirStore{Dir: s.cfg.CheckpointDir, SnapshotPath: s.cfg.SnapshotPath}, nil
}

// initModel builds fresh parameters or resumes from the newest valid
// checkpoint, at the version it was saved with.
func (s *Service) initModel() error {
	arch := policy.DefaultArch(s.spec.ObsSize, s.spec.NumActions)
	if len(s.cfg.Hidden) > 0 {
		arch.Hidden = append([]int(nil), s.cfg.Hidden...)
	}
	if s.store != nil {
		name, ck, err := s.resume()
		if err != nil {
			return err
		}
		if ck != nil {
			where := s.store.Location(name)
			if !ck.Arch.Equal(arch) {
				return fmt.Errorf("learner: resume from %s: checkpoint network %+v differs from this run's %+v (use another checkpoint dir)", where, ck.Arch, arch)
			}
			upd, norm, err := ck.Restore()
			if err != nil {
				return fmt.Errorf("learner: resume from %s: %w", where, err)
			}
			s.upd, s.net, s.norm, s.envSteps = upd, upd.Net(), norm, ck.EnvSteps
			s.lastCkpt = upd.Version()
			s.lastCheckpoint.Store(&CheckpointInfo{Location: where, Version: ck.Version, EnvSteps: ck.EnvSteps})
			s.metrics.CheckpointVersion.Set(float64(ck.Version))
			s.log.Info("resumed from checkpoint", "path", where, "version", upd.Version(), "env_steps", ck.EnvSteps)
			s.prune()
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

// invalidCheckpoint reports an error that says the bytes are not a usable
// checkpoint (as opposed to a store that could not be read).
func invalidCheckpoint(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrForeign) || errors.Is(err, ErrVersion)
}

// readCheckpoint reads and decodes checkpoint name.
func (s *Service) readCheckpoint(name string) (*Checkpoint, error) {
	data, err := s.store.Read(name)
	if err != nil {
		return nil, err
	}
	return s.decodeCheckpoint(name, data)
}

// decodeCheckpoint decodes data, read from checkpoint name.
func (s *Service) decodeCheckpoint(name string, data []byte) (*Checkpoint, error) {
	ck, err := DecodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.store.Location(name), err)
	}
	return ck, nil
}

// checkCheckpoint reads checkpoint name and reports whether it is valid:
// bytes this service wrote and verified (same checksum), or bytes that
// decode.
func (s *Service) checkCheckpoint(name string) error {
	data, err := s.store.Read(name)
	if err != nil {
		return err
	}
	if sum, ok := s.verified[name]; ok && crc32.Checksum(data, castagnoli) == sum {
		return nil
	}
	_, err = s.decodeCheckpoint(name, data)
	return err
}

// resume finds the checkpoint to start from (nil: start fresh) as the
// comment at the top of this file says.
func (s *Service) resume() (string, *Checkpoint, error) {
	names, err := s.store.List()
	if err != nil {
		return "", nil, fmt.Errorf("learner: %s: %w", s.store.Location(""), err)
	}
	if s.cfg.Fresh {
		return "", nil, s.setAsideAll(names)
	}
	var refused []RefusedCheckpoint
	var bad []string
	for i := len(names) - 1; i >= 0; i-- {
		ck, err := s.readCheckpoint(names[i])
		switch {
		case err == nil:
			for j, n := range bad {
				s.quarantine(n, refused[j].Err)
			}
			return names[i], ck, nil
		case errors.Is(err, ErrVersion):
			// Written by a newer build: setting it aside to train on
			// older state would lose the newer training.
			return "", nil, fmt.Errorf("learner: resume: %w (run the build that wrote it, or start over with Fresh / --fresh)", err)
		case invalidCheckpoint(err):
			refused = append(refused, RefusedCheckpoint{Location: s.store.Location(names[i]), Err: err})
			bad = append(bad, names[i])
		default:
			return "", nil, fmt.Errorf("learner: resume: %w", err)
		}
	}
	if len(refused) > 0 {
		return "", nil, &NoValidCheckpointError{Store: s.store.Location(""), Refused: refused}
	}
	return "", nil, nil
}

// setAsideAll moves every checkpoint out of the way of a fresh start.
func (s *Service) setAsideAll(names []string) error {
	for _, n := range names {
		_, err := s.readCheckpoint(n)
		suffix := supersededSuffix
		switch {
		case invalidCheckpoint(err):
			suffix = corruptSuffix
		case err != nil:
			return fmt.Errorf("learner: fresh start: %w", err)
		}
		to, err := s.store.SetAside(n, suffix)
		if err != nil {
			return fmt.Errorf("learner: fresh start: %w", err)
		}
		s.log.Warn("fresh start: checkpoint moved aside", "file", s.store.Location(n), "moved_to", to)
	}
	return nil
}

// quarantine sets an invalid checkpoint aside, logging the file and why.
func (s *Service) quarantine(name string, reason error) {
	s.metrics.CheckpointsRefused.Inc()
	to, err := s.store.SetAside(name, corruptSuffix)
	if err != nil {
		s.log.Warn("invalid checkpoint, could not move it aside", "file", s.store.Location(name), "reason", reason, "error", err)
		return
	}
	s.log.Warn("invalid checkpoint moved aside", "file", s.store.Location(name), "reason", reason, "moved_to", to)
}

// checkpoint writes the full training state, verifies it, prunes and
// writes the policy snapshot; it returns the location written. On error
// the store's previous checkpoints are untouched.
func (s *Service) checkpoint() (string, error) {
	if s.store == nil {
		return "", nil
	}
	defer s.writeSnapshot()
	v := s.upd.Version()
	ck := NewCheckpoint(s.upd.State(), s.norm, s.envSteps, map[string]string{"run": s.cfg.Run})
	name := CheckpointName(v)
	where := s.store.Location(name)
	data, err := EncodeCheckpoint(ck)
	if err == nil {
		err = s.store.Write(name, data)
	}
	if err == nil {
		err = s.verify(name, ck, data)
	}
	if err != nil {
		s.metrics.CheckpointErrors.Inc()
		s.failLog.Error("checkpoint", "checkpoint failed; the previous checkpoints stay and training goes on",
			"checkpoint", where, "version", v, "error", err)
		return "", fmt.Errorf("learner: checkpoint %s: %w", where, err)
	}
	s.lastCkpt = v
	s.lastCheckpoint.Store(&CheckpointInfo{Location: where, Version: v, EnvSteps: s.envSteps})
	s.metrics.Checkpoints.Inc()
	s.metrics.CheckpointVersion.Set(float64(v))
	s.prune()
	return where, nil
}

// verify reads checkpoint name back and checks it holds data, the
// encoding of ck (and, for this service's first checkpoint, that it
// decodes to ck); a copy that does not decode is set aside. A verified
// checkpoint's checksum is remembered for prune.
func (s *Service) verify(name string, ck *Checkpoint, data []byte) error {
	back, err := s.store.Read(name)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	same := bytes.Equal(back, data)
	if !same || len(s.verified) == 0 {
		// Decoding says what is wrong with a changed copy (and sets it
		// aside if it is no checkpoint at all).
		got, err := s.decodeCheckpoint(name, back)
		if invalidCheckpoint(err) {
			s.quarantine(name, err)
		}
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if got.Version != ck.Version || got.EnvSteps != ck.EnvSteps || len(got.Params) != len(ck.Params) {
			return fmt.Errorf("verify: read back version %d, %d env steps, %d params; wrote %d, %d, %d",
				got.Version, got.EnvSteps, len(got.Params), ck.Version, ck.EnvSteps, len(ck.Params))
		}
		if !same {
			return fmt.Errorf("verify: read back %d bytes that differ from the %d written", len(back), len(data))
		}
	}
	if s.verified == nil {
		s.verified = map[string]uint32{}
	}
	s.verified[name] = crc32.Checksum(data, castagnoli)
	return nil
}

// prune keeps the newest KeepCheckpoints valid checkpoints, sets invalid
// ones aside and removes the rest.
func (s *Service) prune() {
	names, err := s.store.List()
	if err != nil {
		s.failLog.Warn("prune", "prune checkpoints failed", "error", err)
		return
	}
	kept := 0
	for i := len(names) - 1; i >= 0; i-- {
		n := names[i]
		if kept >= s.cfg.KeepCheckpoints {
			if err := s.store.Remove(n); err != nil {
				s.failLog.Warn("prune", "prune checkpoints failed", "error", err)
			}
			delete(s.verified, n)
			continue
		}
		err := s.checkCheckpoint(n)
		switch {
		case err == nil:
			kept++
		case invalidCheckpoint(err):
			delete(s.verified, n)
			s.quarantine(n, err)
		default:
			s.failLog.Warn("prune", "prune checkpoints: cannot read one", "error", err)
		}
	}
	s.metrics.CheckpointsKept.Set(float64(kept))
}

// writeSnapshot writes the current policy snapshot to the store.
func (s *Service) writeSnapshot() {
	data := s.PolicySnapshot()
	if data == nil {
		return
	}
	if err := s.store.WriteSnapshot(data); err != nil {
		s.metrics.SnapshotErrors.Inc()
		s.failLog.Error("snapshot", "writing the policy snapshot failed", "error", err)
	}
}
