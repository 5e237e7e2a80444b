package jsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// CheckpointConfig configures a run's checkpoint store. Zero fields take
// the defaults of DefaultCheckpointConfig.
type CheckpointConfig struct {
	// Keep is how many of the newest checkpoints stay (>= 1). Default 3.
	Keep int
	// MaxBytes bounds the bucket in bytes; a checkpoint may take at most
	// MaxBytes/(Keep+1). Default 256 MiB.
	MaxBytes int64
	// Replicas of the bucket (1..5); 0 means DefaultReplicas.
	Replicas int
}

// DefaultCheckpointConfig returns the documented defaults.
func DefaultCheckpointConfig() CheckpointConfig {
	return CheckpointConfig{Keep: 3, MaxBytes: 256 << 20}
}

// CheckpointInfo names one stored checkpoint.
type CheckpointInfo struct {
	// Epoch of the learner that wrote it and the policy Version it holds.
	Epoch, Version uint64
	// Size in bytes and Created (server time).
	Size    int64
	Created time.Time
}

// Checkpoints is a run's checkpoint store. Checkpoints are ordered by
// (epoch, version): a learner that lost its lease may still complete a
// write it began, but its epoch is below its successor's, so readers
// never prefer its line of training over the new holder's once that one
// has written a checkpoint.
type Checkpoints struct {
	objs objects
	keep int
}

// CreateCheckpoints opens the checkpoint store of run, creating its bucket
// if needed.
func CreateCheckpoints(ctx context.Context, js jetstream.JetStream, run string, cfg CheckpointConfig) (*Checkpoints, error) {
	if err := checkRun(run); err != nil {
		return nil, err
	}
	objs, got, err := openStore(ctx, js, storeKind{
		bucket: checkpointsBucket(run), description: "podmedic learner checkpoints of run " + run,
		what: "checkpoint", spare: 1,
	}, storeConfig(cfg), storeConfig(DefaultCheckpointConfig()), true)
	if err != nil {
		return nil, err
	}
	c := &Checkpoints{objs: objs, keep: got.Keep}
	return c, nil
}

// MaxCheckpointBytes is the largest checkpoint Put accepts (0: no bound).
func (c *Checkpoints) MaxCheckpointBytes() int64 { return c.objs.maxObject }

// checkpointName sorts by epoch, then version.
func checkpointName(epoch, version uint64) string {
	return fmt.Sprintf("e%020d-v%020d", epoch, version)
}

// Put stores a checkpoint of version written under epoch, then deletes all
// but the Keep newest. ErrTooLarge if it is over MaxCheckpointBytes.
func (c *Checkpoints) Put(ctx context.Context, epoch, version uint64, data []byte) (CheckpointInfo, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	meta := map[string]string{metaEpoch: strconv.FormatUint(epoch, 10), metaVersion: strconv.FormatUint(version, 10)}
	o, err := c.objs.put(ctx, checkpointName(epoch, version), meta, data)
	if err != nil {
		return CheckpointInfo{}, err
	}
	info := CheckpointInfo{Epoch: epoch, Version: version, Size: int64(o.Size), Created: o.ModTime}
	infos, err := c.list(ctx)
	if err != nil {
		return info, err
	}
	for len(infos) > c.keep {
		if err := c.objs.remove(ctx, checkpointName(infos[0].Epoch, infos[0].Version)); err != nil {
			return info, fmt.Errorf("jsstore: prune checkpoints: %w", err)
		}
		infos = infos[1:]
	}
	return info, nil
}

// List returns the stored checkpoints, oldest (epoch, version) first.
func (c *Checkpoints) List(ctx context.Context) ([]CheckpointInfo, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	return c.list(ctx)
}

func (c *Checkpoints) list(ctx context.Context) ([]CheckpointInfo, error) {
	objs, err := c.objs.list(ctx)
	if err != nil {
		return nil, err
	}
	var out []CheckpointInfo
	for _, o := range objs {
		e, err1 := strconv.ParseUint(o.Metadata[metaEpoch], 10, 64)
		v, err2 := strconv.ParseUint(o.Metadata[metaVersion], 10, 64)
		if err1 != nil || err2 != nil || o.Name != checkpointName(e, v) {
			continue // not ours
		}
		out = append(out, CheckpointInfo{Epoch: e, Version: v, Size: int64(o.Size), Created: o.ModTime})
	}
	return out, nil // objs are in name order: (epoch, version)
}

// Get reads one checkpoint whole, verified against its sums.
func (c *Checkpoints) Get(ctx context.Context, info CheckpointInfo) ([]byte, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	data, _, err := c.objs.get(ctx, checkpointName(info.Epoch, info.Version))
	return data, err
}

// Latest returns the newest checkpoint whose bytes pass accept (nil
// accepts all), trying newer ones first. Checkpoints that fail their sums
// or accept are reported in skipped and passed over. ErrNotFound if none
// is left.
func (c *Checkpoints) Latest(ctx context.Context, accept func([]byte) error) (data []byte, info CheckpointInfo, skipped []error, err error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	infos, err := c.list(ctx)
	if err != nil {
		return nil, CheckpointInfo{}, nil, err
	}
	for _, in := range slices.Backward(infos) {
		data, _, err := c.objs.get(ctx, checkpointName(in.Epoch, in.Version))
		switch {
		case isNotFound(err):
			continue // pruned since the listing
		case errors.Is(err, ErrCorrupt):
			skipped = append(skipped, err)
			continue
		case err != nil:
			return nil, CheckpointInfo{}, skipped, err
		}
		if accept != nil {
			if err := accept(data); err != nil {
				skipped = append(skipped, fmt.Errorf("checkpoint %s: %w", checkpointName(in.Epoch, in.Version), err))
				continue
			}
		}
		return data, in, skipped, nil
	}
	return nil, CheckpointInfo{}, skipped, fmt.Errorf("%w: no valid checkpoint in %s", ErrNotFound, c.objs.bucket)
}

// Remove deletes one checkpoint.
func (c *Checkpoints) Remove(ctx context.Context, info CheckpointInfo) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	return c.objs.remove(ctx, checkpointName(info.Epoch, info.Version))
}

// SetAside takes one checkpoint out of List's view without destroying it:
// its bytes are stored again under its name plus suffix (which List
// skips), then the original is deleted. It returns the new name.
func (c *Checkpoints) SetAside(ctx context.Context, info CheckpointInfo, suffix string) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	name := checkpointName(info.Epoch, info.Version)
	res, err := c.objs.obs.GetBytes(ctx, name)
	if err != nil {
		// A checkpoint so broken it cannot be read is deleted instead.
		if rerr := c.objs.remove(ctx, name); rerr != nil {
			return "", fmt.Errorf("jsstore: set checkpoint %s aside: %w", name, errors.Join(err, rerr))
		}
		return "(deleted: unreadable)", nil
	}
	to := name + suffix
	if _, err := c.objs.obs.Put(ctx, jetstream.ObjectMeta{Name: to, Description: "set aside"}, bytes.NewReader(res)); err != nil {
		return "", fmt.Errorf("jsstore: set checkpoint %s aside: %w", name, err)
	}
	if err := c.objs.remove(ctx, name); err != nil {
		return "", err
	}
	return to, nil
}

// Bucket names the store's bucket.
func (c *Checkpoints) Bucket() string { return c.objs.bucket }

// ParseCheckpointName reads the epoch and version of an object name List
// returns (Name), and reports whether it is one.
func ParseCheckpointName(name string) (CheckpointInfo, bool) {
	var e, v uint64
	if n, err := fmt.Sscanf(name, "e%020d-v%020d", &e, &v); err != nil || n != 2 || checkpointName(e, v) != name {
		return CheckpointInfo{}, false
	}
	return CheckpointInfo{Epoch: e, Version: v}, true
}

// Name is the object name of a checkpoint.
func (in CheckpointInfo) Name() string { return checkpointName(in.Epoch, in.Version) }
