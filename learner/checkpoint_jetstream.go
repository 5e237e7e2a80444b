package learner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"podmedic/internal/jsstore"
)

// JetStreamStore is a CheckpointStore in the run's JetStream checkpoint
// bucket (internal/jsstore), so that a learner on another host, with no
// shared disk, resumes where this one stopped. Checkpoints are stored
// under the learner's epoch and listed in (epoch, version) order: the
// newest term's line of training wins over an older term's, even over a
// write a fenced learner completed late. Its names are the objects'
// ("e<epoch>-v<version>"); Write and Read also take CheckpointName names,
// which mean this store's Epoch. Policy snapshots go to the policy store
// through Hooks.Snapshot, so WriteSnapshot does nothing.
type JetStreamStore struct {
	// Checkpoints is the bucket.
	Checkpoints *jsstore.Checkpoints
	// Epoch is written with every checkpoint (the lease epoch).
	Epoch uint64
	// Fence, if set, must report true for a write, removal or set-aside
	// to start (ErrFenced otherwise).
	Fence func() bool
	// ReadTimeout bounds a listing or a read; 0 means 5 s.
	// WriteTimeout bounds a write, removal or set-aside; 0 means 3 s.
	// The service writes, reads back and prunes checkpoints on its update
	// loop, so a store without a leader (a NATS node lost, the rest
	// electing one: 4 to 9 s) must not hold training up for long: after
	// an operation fails for want of the store, every operation fails at
	// once for Backoff (0: 5 s), counted as checkpoint errors, and
	// training goes on. A crash then loses the updates since the last
	// checkpoint that got through. A resume that fails this way gives the
	// lease up and a later term tries again (Failover).
	ReadTimeout, WriteTimeout, Backoff time.Duration

	mu        sync.Mutex
	failUntil time.Time
}

// ErrStoreUnavailable: a write refused at once because a recent one
// failed (see JetStreamStore.Backoff).
var ErrStoreUnavailable = errors.New("learner: checkpoint store unavailable")

var _ CheckpointStore = (*JetStreamStore)(nil)

// readCtx checks the back-off, then bounds one listing or read.
func (j *JetStreamStore) readCtx() (context.Context, context.CancelFunc, error) {
	return j.opCtx(j.ReadTimeout, 5*time.Second)
}

// writeCtx checks the fence and the back-off, then bounds one write.
func (j *JetStreamStore) writeCtx() (context.Context, context.CancelFunc, error) {
	if j.Fence != nil && !j.Fence() {
		return nil, nil, ErrFenced
	}
	return j.opCtx(j.WriteTimeout, 3*time.Second)
}

func (j *JetStreamStore) opCtx(t, def time.Duration) (context.Context, context.CancelFunc, error) {
	j.mu.Lock()
	until := j.failUntil
	j.mu.Unlock()
	if left := time.Until(until); left > 0 {
		return nil, nil, fmt.Errorf("%w: an operation failed, next attempt in %s", ErrStoreUnavailable, left.Round(time.Second))
	}
	if t <= 0 {
		t = def
	}
	ctx, cancel := context.WithTimeout(context.Background(), t)
	return ctx, cancel, nil
}

// outcome records an operation's outcome for the back-off: answers about
// the data (not found, corrupt, too large) say the store is there.
func (j *JetStreamStore) outcome(err error) error {
	if err != nil && !errors.Is(err, jsstore.ErrTooLarge) && !errors.Is(err, jsstore.ErrNotFound) && !errors.Is(err, jsstore.ErrCorrupt) {
		b := j.Backoff
		if b <= 0 {
			b = 5 * time.Second
		}
		j.mu.Lock()
		j.failUntil = time.Now().Add(b)
		j.mu.Unlock()
	}
	return err
}

// info maps a name to the object it means.
func (j *JetStreamStore) info(name string) (jsstore.CheckpointInfo, error) {
	if in, ok := jsstore.ParseCheckpointName(name); ok {
		return in, nil
	}
	var v uint64
	if n, err := fmt.Sscanf(name, "ckpt-%020d"+CheckpointExt, &v); err == nil && n == 1 && CheckpointName(v) == name {
		return jsstore.CheckpointInfo{Epoch: j.Epoch, Version: v}, nil
	}
	return jsstore.CheckpointInfo{}, fmt.Errorf("learner: %q names no checkpoint of %s", name, j.Location(""))
}

// List implements CheckpointStore: (epoch, version) order, oldest first.
func (j *JetStreamStore) List() ([]string, error) {
	ctx, cancel, err := j.readCtx()
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	defer cancel()
	infos, err := j.Checkpoints.List(ctx)
	if err != nil {
		return nil, j.outcome(fmt.Errorf("list checkpoints: %w", err))
	}
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = in.Name()
	}
	return names, nil
}

// Read implements CheckpointStore. Bytes that fail the store's checksums
// are ErrCorrupt, like a damaged file.
func (j *JetStreamStore) Read(name string) ([]byte, error) {
	in, err := j.info(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel, err := j.readCtx()
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", j.Location(name), err)
	}
	defer cancel()
	data, err := j.Checkpoints.Get(ctx, in)
	err = j.outcome(err)
	switch {
	case errors.Is(err, jsstore.ErrCorrupt):
		return nil, fmt.Errorf("read checkpoint %s: %w: %w", j.Location(name), ErrCorrupt, err)
	case err != nil:
		return nil, fmt.Errorf("read checkpoint %s: %w", j.Location(name), err)
	case len(data) > MaxCheckpointBytes:
		return nil, fmt.Errorf("read checkpoint %s: %w: over %d bytes", j.Location(name), ErrCorrupt, MaxCheckpointBytes)
	}
	return data, nil
}

// Write implements CheckpointStore: the checkpoint becomes visible to
// readers only whole, after its last chunk (jsstore).
func (j *JetStreamStore) Write(name string, data []byte) error {
	in, err := j.info(name)
	if err != nil {
		return err
	}
	ctx, cancel, err := j.writeCtx()
	if err != nil {
		return fmt.Errorf("write checkpoint %s: %w", j.Location(name), err)
	}
	defer cancel()
	if _, err := j.Checkpoints.Put(ctx, in.Epoch, in.Version, data); err != nil {
		return j.outcome(fmt.Errorf("write checkpoint: %w", err))
	}
	return nil
}

// Remove implements CheckpointStore.
func (j *JetStreamStore) Remove(name string) error {
	in, err := j.info(name)
	if err != nil {
		return err
	}
	ctx, cancel, err := j.writeCtx()
	if err != nil {
		return fmt.Errorf("remove checkpoint %s: %w", j.Location(name), err)
	}
	defer cancel()
	return j.outcome(j.Checkpoints.Remove(ctx, in))
}

// SetAside implements CheckpointStore: the bytes are kept under
// name+suffix, which List does not show.
func (j *JetStreamStore) SetAside(name, suffix string) (string, error) {
	in, err := j.info(name)
	if err != nil {
		return "", err
	}
	ctx, cancel, err := j.writeCtx()
	if err != nil {
		return "", fmt.Errorf("set checkpoint %s aside: %w", j.Location(name), err)
	}
	defer cancel()
	to, err := j.Checkpoints.SetAside(ctx, in, suffix)
	if err != nil {
		return "", j.outcome(err)
	}
	return j.Location(to), nil
}

// WriteSnapshot implements CheckpointStore; see the type's comment.
func (j *JetStreamStore) WriteSnapshot([]byte) error { return nil }

// Location implements CheckpointStore: "jetstream:<bucket>/<name>".
func (j *JetStreamStore) Location(name string) string {
	if name == "" {
		return "jetstream:" + j.Checkpoints.Bucket()
	}
	if in, err := j.info(name); err == nil {
		name = in.Name()
	}
	return "jetstream:" + j.Checkpoints.Bucket() + "/" + name
}

// MirrorStore keeps the checkpoints of Primary (which List, Read, Remove
// and SetAside use: the shared truth) and writes a copy of each into
// Mirror as well, a local directory say (podmedic learner --store both),
// keeping the newest Keep copies there. A failed mirror write fails the
// checkpoint: the two are meant to agree.
type MirrorStore struct {
	Primary, Mirror CheckpointStore
	// Keep bounds the mirror's copies (>= 1).
	Keep int
}

var _ CheckpointStore = (*MirrorStore)(nil)

// List implements CheckpointStore.
func (m *MirrorStore) List() ([]string, error) { return m.Primary.List() }

// Read implements CheckpointStore.
func (m *MirrorStore) Read(name string) ([]byte, error) { return m.Primary.Read(name) }

// Write implements CheckpointStore: primary first, then the mirror, whose
// older copies are pruned.
func (m *MirrorStore) Write(name string, data []byte) error {
	if err := m.Primary.Write(name, data); err != nil {
		return err
	}
	if err := m.Mirror.Write(name, data); err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	names, err := m.Mirror.List()
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	var errs []error
	for len(names) > max(m.Keep, 1) {
		errs = append(errs, m.Mirror.Remove(names[0]))
		names = names[1:]
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mirror: prune: %w", err)
	}
	return nil
}

// Remove implements CheckpointStore (the primary's; the mirror prunes
// itself).
func (m *MirrorStore) Remove(name string) error { return m.Primary.Remove(name) }

// SetAside implements CheckpointStore.
func (m *MirrorStore) SetAside(name, suffix string) (string, error) {
	return m.Primary.SetAside(name, suffix)
}

// WriteSnapshot implements CheckpointStore: both.
func (m *MirrorStore) WriteSnapshot(data []byte) error {
	return errors.Join(m.Primary.WriteSnapshot(data), m.Mirror.WriteSnapshot(data))
}

// Location implements CheckpointStore.
func (m *MirrorStore) Location(name string) string {
	if name == "" {
		return strings.Join([]string{m.Primary.Location(""), m.Mirror.Location("")}, " (mirrored in ") + ")"
	}
	return m.Primary.Location(name)
}
