package jsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"podmedic/protocol"
)

// Errors, checked with errors.Is.
var (
	// ErrNoStore: the run's bucket does not exist (no learner has written
	// to JetStream for this run yet, or JetStream is off).
	ErrNoStore = errors.New("jsstore: no such store")
	// ErrNotFound: no object of that version, or an empty store.
	ErrNotFound = errors.New("jsstore: not found")
	// ErrTooLarge: an object over the store's per-object limit.
	ErrTooLarge = errors.New("jsstore: over the store's limit")
	// ErrCorrupt: an object whose bytes do not match its checksums.
	ErrCorrupt = errors.New("jsstore: corrupt object")
	// ErrLeaseTTL: the run's lease bucket has another TTL than asked for.
	ErrLeaseTTL = errors.New("jsstore: lease ttl mismatch")
	// ErrLeaseLost: the lease was taken over or expired.
	ErrLeaseLost = errors.New("jsstore: lease lost")
)

// Bucket names of a run.
func policiesBucket(run string) string    { return "podmedic-" + run + "-policies" }
func checkpointsBucket(run string) string { return "podmedic-" + run + "-checkpoints" }
func leaseBucket(run string) string       { return "podmedic-" + run + "-lease" }

// DefaultReplicas is the replica count for buckets of a run reached
// through nc: 3 when the server is a cluster node, 1 on a single server.
// A cluster of fewer than 3 JetStream nodes needs an explicit count.
func DefaultReplicas(nc *nats.Conn) int {
	if nc.ConnectedClusterName() != "" {
		return 3
	}
	return 1
}

// OpTimeout bounds one store operation (a context may bound it sooner).
// While a cluster elects a new stream leader a request can go unanswered:
// the caller retries rather than waits.
const OpTimeout = 20 * time.Second

// withTimeout bounds ctx by OpTimeout.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, OpTimeout)
}

func checkRun(run string) error {
	if err := protocol.ValidateRunName(run); err != nil {
		return fmt.Errorf("jsstore: %w", err)
	}
	return nil
}

func checkReplicas(r int) error {
	if r < 1 || r > 5 {
		return fmt.Errorf("jsstore: replicas %d, want 1..5", r)
	}
	return nil
}

// openObjects binds to bucket, creating it with cfg when create is set
// and it is missing. An existing bucket keeps its own settings, except
// that its byte limit is raised to cfg's when lower.
func openObjects(ctx context.Context, js jetstream.JetStream, cfg jetstream.ObjectStoreConfig, create bool) (jetstream.ObjectStore, error) {
	obs, err := js.ObjectStore(ctx, cfg.Bucket)
	switch {
	case err == nil:
		return obs, nil
	case !errors.Is(err, jetstream.ErrBucketNotFound):
		return nil, fmt.Errorf("jsstore: open bucket %s: %w", cfg.Bucket, err)
	case !create:
		return nil, fmt.Errorf("%w: bucket %s", ErrNoStore, cfg.Bucket)
	}
	obs, err = js.CreateObjectStore(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		// Another learner created it a moment ago.
		obs, err = js.ObjectStore(ctx, cfg.Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("jsstore: create bucket %s (replicas %d): %w", cfg.Bucket, cfg.Replicas, err)
	}
	return obs, nil
}

// bucketLimit reads the bucket's byte limit (-1 or 0: unlimited).
func bucketLimit(ctx context.Context, obs jetstream.ObjectStore) (int64, error) {
	st, err := obs.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("jsstore: bucket status: %w", err)
	}
	return st.(*jetstream.ObjectBucketStatus).StreamInfo().Config.MaxBytes, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
