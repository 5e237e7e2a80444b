package jsstore

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Uploader puts policy snapshots into a Policies store from a goroutine
// of its own, so that a slow or unavailable store (a cluster electing a
// leader) never holds up training. It keeps one snapshot waiting: a newer
// one offered before the waiting one is stored replaces it (counted as
// skipped). New starts nothing; Run uploads until its context ends.
type Uploader struct {
	store *Policies
	// fence, if set, must report true for an upload to start: a learner
	// that lost its lease stores nothing.
	fence func() bool
	// Timeout bounds one upload. Default 10s.
	Timeout time.Duration
	// OnResult, if set, is called after each attempt with its error (nil:
	// stored) from Run's goroutine.
	OnResult func(info PolicyInfo, err error)

	mu      sync.Mutex
	pending *upload
	skipped int
	wake    chan struct{}
}

type upload struct {
	info PolicyInfo
	data []byte
}

// NewUploader returns an uploader into store; fence may be nil.
func NewUploader(store *Policies, fence func() bool) *Uploader {
	return &Uploader{store: store, fence: fence, Timeout: 10 * time.Second, wake: make(chan struct{}, 1)}
}

// Offer hands a snapshot over without blocking; data must not change
// afterwards. Safe for concurrent use.
func (u *Uploader) Offer(info PolicyInfo, data []byte) {
	u.mu.Lock()
	if u.pending != nil {
		u.skipped++
	}
	u.pending = &upload{info, data}
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// Skipped counts snapshots replaced by newer ones before they were stored.
func (u *Uploader) Skipped() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.skipped
}

// ErrFenced: an upload refused because the lease is no longer held.
var ErrFenced = errors.New("jsstore: fenced: the lease is not held")

// Run uploads offered snapshots until ctx ends, then uploads the one still
// waiting (if the fence allows) within Timeout.
func (u *Uploader) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			u.uploadPending(context.WithoutCancel(ctx))
			return
		case <-u.wake:
			u.uploadPending(ctx)
		}
	}
}

func (u *Uploader) uploadPending(ctx context.Context) {
	u.mu.Lock()
	p := u.pending
	u.pending = nil
	u.mu.Unlock()
	if p == nil {
		return
	}
	var err error
	if u.fence != nil && !u.fence() {
		err = ErrFenced
	} else {
		uctx, cancel := context.WithTimeout(ctx, u.Timeout)
		err = u.store.Put(uctx, p.info, p.data)
		cancel()
	}
	if u.OnResult != nil {
		u.OnResult(p.info, err)
	}
}
