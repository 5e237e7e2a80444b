package jsstore

import (
	"errors"
	"testing"
	"time"
)

// Past our own bound, the bucket's byte limit refuses a write too, with
// the same error.
func TestFullBucketIsTooLarge(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 30*time.Second)
	p, err := CreatePolicies(ctx, js, "full", PolicyConfig{Keep: 2, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	p.objs.maxObject = 0 // only the bucket's limit
	err = p.Put(ctx, PolicyInfo{Version: 1}, make([]byte, 2<<20))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if err := p.Put(ctx, PolicyInfo{Version: 1}, make([]byte, 100_000)); err != nil {
		t.Fatalf("a snapshot that fits after a refused one: %v", err)
	}
}
