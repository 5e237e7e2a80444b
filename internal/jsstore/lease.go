package jsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// LeaseConfig configures the lease of a run. Every learner of a run must
// use the same TTL: the bucket keeps the first one's.
type LeaseConfig struct {
	// TTL is how long the lease lives without renewal (>= 200ms). The
	// holder renews every TTL/6 and considers itself fenced a margin
	// (TTL/5, at most 2 s) before the lease can expire. Default 15s.
	TTL time.Duration
	// Replicas of the bucket (1..5); 0 means DefaultReplicas.
	Replicas int
}

// DefaultLeaseTTL is the lease TTL unless configured. When a NATS node
// dies that led the lease's stream, nobody can renew (or take) the lease
// until the other nodes elect a new leader (Raft election timeouts of 4
// to 9 s; 8 s measured in the compose test): the holder must not fence
// itself before that, so the holding lasts at least TTL - TTL/6 - 2 s
// (10.5 s) after the loss.
const DefaultLeaseTTL = 15 * time.Second

// LeaseRecord is the value of the lease key.
type LeaseRecord struct {
	// Holder names the learner holding the lease.
	Holder string `json:"holder"`
	// Epoch is the revision of the write that acquired the lease (0 in the
	// very first write, before the holder knows it).
	Epoch uint64 `json:"epoch"`
	// Acquired and Renewed are the holder's clock at those writes.
	Acquired time.Time `json:"acquired"`
	Renewed  time.Time `json:"renewed"`
}

// leaseKey is the one key of a run's lease bucket.
const leaseKey = "active"

// Lease is one learner's handle on its run's lease. Safe for concurrent
// use: Held and Epoch are cheap enough to check before every publish.
type Lease struct {
	kv     jetstream.KeyValue
	holder string
	ttl    time.Duration
	now    func() time.Time

	mu       sync.Mutex
	rev      uint64    // revision of our last write
	epoch    uint64    // revision of the acquiring write; 0 when not held
	acquired time.Time // our clock at the acquiring write
	fenceAt  time.Time // not held from here on
}

// OpenLease opens (creating if needed) the lease bucket of run for holder,
// a name unique to this learner process.
func OpenLease(ctx context.Context, js jetstream.JetStream, run, holder string, cfg LeaseConfig) (*Lease, error) {
	if err := checkRun(run); err != nil {
		return nil, err
	}
	if holder == "" {
		return nil, errors.New("jsstore: lease: empty holder name")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultLeaseTTL
	}
	if cfg.TTL < 200*time.Millisecond {
		return nil, fmt.Errorf("jsstore: lease: ttl %s, want >= 200ms", cfg.TTL)
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = DefaultReplicas(js.Conn())
	}
	if err := checkReplicas(cfg.Replicas); err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	bucket := leaseBucket(run)
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: bucket, Description: "podmedic active learner of run " + run,
			History: 1, TTL: cfg.TTL, Replicas: cfg.Replicas, Storage: jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("jsstore: lease bucket %s: %w", bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("jsstore: lease bucket %s: %w", bucket, err)
	}
	if st.TTL() != cfg.TTL {
		return nil, fmt.Errorf("%w: lease bucket %s has ttl %s, this learner wants %s: every learner of a run needs the same lease ttl",
			ErrLeaseTTL, bucket, st.TTL(), cfg.TTL)
	}
	return &Lease{kv: kv, holder: holder, ttl: cfg.TTL, now: time.Now}, nil
}

// TTL is the lease's time to live.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Holder is this learner's name.
func (l *Lease) Holder() string { return l.holder }

// margin is how long before the earliest possible expiry the holder
// fences itself: room for clock-rate differences and for messages in
// flight, which a successor could only overtake after acquiring the lease
// and resuming.
func (l *Lease) margin() time.Duration { return min(l.ttl/5, 2*time.Second) }

// Held reports whether this learner holds the lease now: it acquired or
// renewed it less than TTL minus the margin ago, measured from when it
// sent that write (the key expires TTL after the server stored it, which
// is later). A learner must check it before publishing weights,
// snapshots or checkpoints.
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch != 0 && l.now().Before(l.fenceAt)
}

// Epoch is the epoch of the current or last holding (0 if never held).
func (l *Lease) Epoch() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch
}

// FenceAt is when the current holding ends unless renewed.
func (l *Lease) FenceAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fenceAt
}

func (l *Lease) record(epoch uint64, acquired, renewed time.Time) []byte {
	b, _ := json.Marshal(LeaseRecord{Holder: l.holder, Epoch: epoch, Acquired: acquired, Renewed: renewed})
	return b
}

// TryAcquire creates the lease key if it is absent (expired, released or
// never written) and reports whether this learner now holds the lease,
// with a new epoch. It reports false, nil while another holds it.
func (l *Lease) TryAcquire(ctx context.Context) (bool, error) {
	sent := l.now()
	rev, err := l.kv.Create(ctx, leaseKey, l.record(0, sent, sent))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("jsstore: acquire lease: %w", err)
	}
	l.mu.Lock()
	l.rev, l.epoch, l.acquired, l.fenceAt = rev, rev, sent, sent.Add(l.ttl-l.margin())
	l.mu.Unlock()
	// Say the epoch in the record for observers; a failure here is a
	// failed renewal like any other.
	if err := l.Renew(ctx); err != nil && errors.Is(err, ErrLeaseLost) {
		return false, nil
	}
	return true, nil
}

// Renew extends the lease by compare-and-set on the revision of our last
// write. ErrLeaseLost (and Held false from then on) if another learner
// holds it or it expired; other errors (no NATS, no JetStream leader)
// leave the holding to run out at FenceAt unless a later Renew succeeds.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	rev, epoch, acquired, over := l.rev, l.epoch, l.acquired, l.fenceAt.IsZero()
	l.mu.Unlock()
	if epoch == 0 || over {
		// Never acquired, released, or known to be taken: only TryAcquire
		// may hold it again, under a new epoch.
		return fmt.Errorf("%w: not held", ErrLeaseLost)
	}
	sent := l.now()
	newRev, err := l.kv.Update(ctx, leaseKey, l.record(epoch, acquired, sent), rev)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epoch != epoch || l.fenceAt.IsZero() {
		return fmt.Errorf("%w: released", ErrLeaseLost)
	}
	switch {
	case err == nil:
		l.rev, l.fenceAt = newRev, sent.Add(l.ttl-l.margin())
		return nil
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound):
		l.fenceAt = time.Time{}
		return fmt.Errorf("%w: epoch %d: %w", ErrLeaseLost, epoch, err)
	}
	return fmt.Errorf("jsstore: renew lease: %w", err)
}

// Release fences this learner at once and deletes the lease key if it is
// still ours, so that a standby takes over without waiting for the TTL.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	rev, held := l.rev, l.epoch != 0 && l.now().Before(l.fenceAt)
	l.fenceAt = time.Time{}
	l.mu.Unlock()
	if !held {
		return nil
	}
	err := l.kv.Delete(ctx, leaseKey, jetstream.LastRevision(rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("jsstore: release lease: %w", err)
	}
	return nil
}

// Current reads the lease record; ok is false when nobody holds it.
func (l *Lease) Current(ctx context.Context) (rec LeaseRecord, revision uint64, ok bool, err error) {
	e, err := l.kv.Get(ctx, leaseKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return LeaseRecord{}, 0, false, nil
	}
	if err != nil {
		return LeaseRecord{}, 0, false, fmt.Errorf("jsstore: read lease: %w", err)
	}
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return LeaseRecord{}, 0, false, fmt.Errorf("jsstore: lease record: %w", err)
	}
	if rec.Epoch == 0 {
		rec.Epoch = e.Revision()
	}
	return rec, e.Revision(), true, nil
}
