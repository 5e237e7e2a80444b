package jsstore

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestUploaderStoresNewestAndHonoursFence(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 30*time.Second)
	p, err := CreatePolicies(ctx, js, "up", PolicyConfig{Keep: 3})
	if err != nil {
		t.Fatal(err)
	}
	var held atomic.Bool
	held.Store(true)
	u := NewUploader(p, held.Load)
	var mu sync.Mutex
	var stored []uint64
	var fenced int
	u.OnResult = func(in PolicyInfo, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			stored = append(stored, in.Version)
		case errors.Is(err, ErrFenced):
			fenced++
		default:
			t.Errorf("upload %d: %v", in.Version, err)
		}
	}
	// Offers before Run starts: only the newest is stored.
	for v := uint64(1); v <= 5; v++ {
		u.Offer(PolicyInfo{Version: v, Score: math.NaN()}, payload(5000, byte(v)))
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); u.Run(rctx) }()
	wait := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			got := len(stored) + fenced
			mu.Unlock()
			if got >= n || time.Now().After(deadline) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait(1)
	u.Offer(PolicyInfo{Version: 6, Score: math.NaN()}, payload(5000, 6))
	wait(2)
	held.Store(false)
	u.Offer(PolicyInfo{Version: 7, Score: math.NaN()}, payload(5000, 7))
	wait(3)
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(stored) != 2 || stored[0] != 5 || stored[1] != 6 || fenced != 1 || u.Skipped() != 4 {
		t.Fatalf("stored %v, fenced %d, skipped %d; want [5 6], 1, 4", stored, fenced, u.Skipped())
	}
	if _, _, err := p.Get(ctx, 7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a fenced upload reached the store: %v", err)
	}
}
