package jsstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Elector campaigns for a lease: a standby polls until the lease is free,
// then leads while it holds it, renewing in the background.
type Elector struct {
	// Lease is the run's lease.
	Lease *Lease
	// Log, if set, receives lease events.
	Log hclog.Logger
	// Poll is how often a standby tries to acquire; default TTL/10.
	Poll time.Duration
	// OnChange, if set, is called with true when this learner becomes
	// active (with its epoch) and false when it stops being active.
	OnChange func(active bool, epoch uint64)
}

// Run campaigns until ctx ends. Whenever it holds the lease it calls lead
// with a context that is cancelled once the lease is lost or ctx ends; it
// keeps renewing until lead returns, then releases the lease (if still
// held) and either returns (ctx ended, or lead failed) or goes back to
// standby (lead lost the lease, or gave its term up by returning nil).
// Cancellation comes at FenceAt at the latest, but lead must still check
// Lease.Held before each publish: a cancelled context is noticed late.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context, epoch uint64) error) error {
	log := e.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	l := e.Lease
	poll := e.Poll
	if poll <= 0 {
		poll = l.ttl / 10
	}
	waiting := false
	for {
		ok, err := l.TryAcquire(ctx)
		if ctx.Err() != nil {
			if ok { // acquired as we were told to stop: hand it back rather than let it expire
				e.release(ctx, log)
			}
			return nil
		}
		if err != nil {
			log.Warn("lease: acquire failed", "error", err)
		}
		if !ok {
			if !waiting {
				waiting = true
				if rec, _, held, err := l.Current(ctx); err == nil && held {
					log.Info("lease: standby", "holder", rec.Holder, "epoch", rec.Epoch)
				}
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(poll):
			}
			continue
		}
		waiting = false
		epoch := l.Epoch()
		log.Info("lease: acquired", "epoch", epoch, "ttl", l.ttl)
		if e.OnChange != nil {
			e.OnChange(true, epoch)
		}
		err = e.term(ctx, lead, epoch, log)
		if e.OnChange != nil {
			e.OnChange(false, epoch)
		}
		e.release(ctx, log)
		if ctx.Err() != nil || err != nil {
			return err
		}
		log.Warn("lease: lost, back to standby", "epoch", epoch)
	}
}

// release hands the lease back, even when ctx has ended, bounded at 5 s.
func (e *Elector) release(ctx context.Context, log hclog.Logger) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := e.Lease.Release(rctx); err != nil {
		log.Warn("lease: release failed; it expires by itself", "error", err)
	}
}

// term runs lead while the lease is held. Renewal goes on until lead has
// returned, so that lead may finish its work (a last checkpoint) after ctx
// ends; lead's context ends with ctx or with the lease.
func (e *Elector) term(ctx context.Context, lead func(context.Context, uint64) error, epoch uint64, log hclog.Logger) error {
	lctx, cancelLead := context.WithCancel(ctx)
	defer cancelLead()
	rctx, stopRenew := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.renew(rctx, log)
		cancelLead() // lost (or lead is done already)
	}()
	err := lead(lctx, epoch)
	stopRenew()
	wg.Wait()
	if err != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// renew renews every TTL/6, retrying every TTL/20 after a failure, and
// returns when ctx ends or the lease is no longer held.
func (e *Elector) renew(ctx context.Context, log hclog.Logger) {
	l := e.Lease
	every, retry := l.ttl/6, l.ttl/20
	next := every
	failing := false
	for {
		wait := min(next, time.Until(l.FenceAt()))
		if wait <= 0 {
			log.Warn("lease: not renewed in time, fenced", "epoch", l.Epoch())
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if !l.Held() {
			log.Warn("lease: not renewed in time, fenced", "epoch", l.Epoch())
			return
		}
		rctx, cancel := context.WithDeadline(ctx, l.FenceAt())
		err := l.Renew(rctx)
		cancel()
		switch {
		case err == nil:
			if failing {
				log.Info("lease: renewed again", "epoch", l.Epoch())
			}
			failing, next = false, every
		case errors.Is(err, ErrLeaseLost):
			log.Warn("lease: taken over", "error", err)
			return
		default:
			if !failing {
				log.Warn("lease: renewal failed, retrying", "error", err, "fenced_in", time.Until(l.FenceAt()).Round(time.Millisecond))
			}
			failing, next = true, retry
		}
	}
}
