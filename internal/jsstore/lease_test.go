package jsstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLeaseCreateRenewExpireTakeover(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 30*time.Second)
	const ttl = time.Second
	a, err := OpenLease(ctx, js, "run1", "a", LeaseConfig{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenLease(ctx, js, "run1", "b", LeaseConfig{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("a: acquire %v %v", ok, err)
	}
	e1 := a.Epoch()
	if ok, err := b.TryAcquire(ctx); ok || err != nil {
		t.Fatalf("b acquired a held lease (%v)", err)
	}
	rec, _, held, err := b.Current(ctx)
	if err != nil || !held || rec.Holder != "a" || rec.Epoch != e1 {
		t.Fatalf("b sees %+v held %v (%v), want a at epoch %d", rec, held, err, e1)
	}
	// Renewals keep it past its TTL.
	for range 6 {
		time.Sleep(ttl / 4)
		if err := a.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, _ := b.TryAcquire(ctx); ok {
			t.Fatal("b acquired a lease renewed in time")
		}
	}
	if !a.Held() {
		t.Fatal("a renewed but does not hold")
	}
	// a stops renewing (paused, partitioned): it fences itself before the
	// key can expire, and b takes over only after that.
	lastRenew := time.Now()
	fence := a.FenceAt()
	var bAt time.Time
	for bAt.IsZero() {
		if ok, err := b.TryAcquire(ctx); err != nil {
			t.Fatal(err)
		} else if ok {
			bAt = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a.Held() {
		t.Fatal("a still holds after b acquired")
	}
	if !bAt.After(fence) {
		t.Fatalf("b acquired at +%s, before a's fence at +%s", bAt.Sub(lastRenew), fence.Sub(lastRenew))
	}
	if took := bAt.Sub(lastRenew); took < ttl*4/5 || took > ttl+time.Second {
		t.Fatalf("takeover %s after the last renewal, want about the TTL %s", took, ttl)
	}
	e2 := b.Epoch()
	if e2 <= e1 {
		t.Fatalf("epoch %d after takeover, want > %d", e2, e1)
	}
	if err := a.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("a renews a lease b holds: got %v, want ErrLeaseLost", err)
	}
	// Release hands over at once.
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Held() {
		t.Fatal("b holds after release")
	}
	if ok, err := a.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("a could not acquire a released lease: %v %v", ok, err)
	}
	if e3 := a.Epoch(); e3 <= e2 {
		t.Fatalf("epoch %d after release and acquire, want > %d", e3, e2)
	}
	if err := b.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("b renews after releasing: got %v, want ErrLeaseLost", err)
	}
}

func TestLeaseTTLMustMatch(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 10*time.Second)
	if _, err := OpenLease(ctx, js, "run1", "a", LeaseConfig{TTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	_, err := OpenLease(ctx, js, "run1", "b", LeaseConfig{TTL: 2 * time.Second})
	if !errors.Is(err, ErrLeaseTTL) || !strings.Contains(err.Error(), "same lease ttl") {
		t.Fatalf("got %v, want a ttl mismatch error", err)
	}
	if _, err := OpenLease(ctx, js, "run1", "", LeaseConfig{}); err == nil {
		t.Fatal("empty holder accepted")
	}
	if _, err := OpenLease(ctx, js, "run1", "c", LeaseConfig{TTL: time.Millisecond}); err == nil {
		t.Fatal("1ms ttl accepted")
	}
}

// term is one holding as its lead function saw it.
type term struct {
	holder       string
	epoch        uint64
	start, until time.Time // first and last instant Held was true
}

// leader runs lead functions that note, every few milliseconds, whether
// the lease is held, as a learner does before each publish.
type leader struct {
	mu    sync.Mutex
	terms []term
}

func (ld *leader) lead(l *Lease) func(context.Context, uint64) error {
	return func(ctx context.Context, epoch uint64) error {
		tm := term{holder: l.Holder(), epoch: epoch}
		defer func() {
			ld.mu.Lock()
			ld.terms = append(ld.terms, tm)
			ld.mu.Unlock()
		}()
		for {
			if l.Held() {
				now := time.Now()
				if tm.start.IsZero() {
					tm.start = now
				}
				tm.until = now
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
}

// checkTerms asserts that no two holdings overlapped and epochs rose.
func checkTerms(t *testing.T, terms []term) {
	t.Helper()
	for i := range terms {
		for j := range terms {
			a, b := terms[i], terms[j]
			if i != j && !a.start.IsZero() && !b.start.IsZero() && a.start.Before(b.start) && !a.until.Before(b.start) {
				t.Errorf("%s (epoch %d) held until %s, after %s (epoch %d) started at %s",
					a.holder, a.epoch, a.until.Format("15:04:05.000"), b.holder, b.epoch, b.start.Format("15:04:05.000"))
			}
			if a.start.Before(b.start) && a.epoch >= b.epoch {
				t.Errorf("epoch %d of %s started before epoch %d of %s", a.epoch, a.holder, b.epoch, b.holder)
			}
		}
	}
}

// Two electors: the first leads; when its connection is cut, it stops
// holding before the second starts, and the second leads under a higher
// epoch.
func TestElectorFailover(t *testing.T) {
	js, nc := jetStream(t)
	ctx := testCtx(t, 60*time.Second)
	const ttl = time.Second
	la, err := OpenLease(ctx, js, "run1", "a", LeaseConfig{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	jsB, _ := connect(t, nc.ConnectedUrl())
	lb, err := OpenLease(ctx, jsB, "run1", "b", LeaseConfig{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	var ld leader
	var changes sync.Map
	run := func(l *Lease) (stop func() error) {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		el := &Elector{Lease: l, Poll: 50 * time.Millisecond, OnChange: func(active bool, _ uint64) {
			if active {
				n, _ := changes.LoadOrStore(l.Holder(), new(atomic.Int32))
				n.(*atomic.Int32).Add(1)
			}
		}}
		go func() { done <- el.Run(rctx, ld.lead(l)) }()
		return func() error { cancel(); return <-done }
	}
	stopA := run(la)
	deadline := time.Now().Add(5 * time.Second)
	for !la.Held() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !la.Held() {
		t.Fatal("a did not acquire")
	}
	stopB := run(lb)
	time.Sleep(2 * ttl) // b stands by while a renews
	if lb.Held() {
		t.Fatal("b holds while a renews")
	}
	// Cut a off: its renewals fail and it fences itself.
	cut := time.Now()
	nc.Close()
	activeB := func() int {
		if n, ok := changes.Load("b"); ok {
			return int(n.(*atomic.Int32).Load())
		}
		return 0
	}
	for !lb.Held() && time.Since(cut) < 5*ttl {
		time.Sleep(10 * time.Millisecond)
	}
	if !lb.Held() {
		t.Fatal("b did not take over")
	}
	took := time.Since(cut)
	// b's elector says so just after the lease is held; stopping it before
	// then would hand the lease back unannounced.
	for activeB() == 0 && time.Since(cut) < 5*ttl {
		time.Sleep(10 * time.Millisecond)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	checkTerms(t, ld.terms)
	if n := activeB(); n != 1 {
		t.Fatalf("b became active %d times, want 1", n)
	}
	if took > ttl+time.Second {
		t.Fatalf("takeover took %s with a %s lease", took, ttl)
	}
	t.Logf("takeover %s after the cut; terms %+v", took, ld.terms)
}
