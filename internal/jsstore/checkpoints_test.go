package jsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

func TestCheckpointsOrderByEpochThenVersion(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 30*time.Second)
	c, err := CreateCheckpoints(ctx, js, "run1", CheckpointConfig{Keep: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Epoch 2 took over at version 10 while epoch 1 was still finishing
	// its write of version 20: epoch 2's line wins from its first write.
	for _, w := range []struct{ e, v uint64 }{{1, 10}, {2, 15}, {1, 20}, {2, 5}} {
		if _, err := c.Put(ctx, w.e, w.v, payload(3000, byte(w.e*100+w.v))); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(infos[0].Epoch, infos[0].Version, infos[1].Epoch, infos[1].Version, infos[2].Epoch, infos[2].Version); len(infos) != 3 || got != "1 20 2 5 2 15" {
		t.Fatalf("kept %+v, want (1,20) (2,5) (2,15)", infos)
	}
	data, in, skipped, err := c.Latest(ctx, nil)
	if err != nil || in.Epoch != 2 || in.Version != 15 || len(skipped) != 0 || !bytes.Equal(data, payload(3000, 215)) {
		t.Fatalf("latest (%d,%d) %d bytes skipped %v: %v", in.Epoch, in.Version, len(data), skipped, err)
	}
	// A checkpoint the caller cannot use (another network, say) is passed over.
	_, in, skipped, err = c.Latest(ctx, func(b []byte) error {
		if b[0] == 215 {
			return errors.New("unusable")
		}
		return nil
	})
	if err != nil || in.Version != 5 || len(skipped) != 1 {
		t.Fatalf("latest usable: (%d,%d) skipped %v: %v", in.Epoch, in.Version, skipped, err)
	}
}

// A checkpoint whose bytes do not match the checksum its writer stored is
// refused by name and the next older one is used.
func TestCheckpointsSkipCorrupt(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 30*time.Second)
	c, err := CreateCheckpoints(ctx, js, "run1", CheckpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for v := uint64(1); v <= 2; v++ {
		if _, err := c.Put(ctx, 1, v, payload(1000, byte(v))); err != nil {
			t.Fatal(err)
		}
	}
	name := checkpointName(1, 2)
	info, err := c.objs.obs.GetInfo(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info.Metadata[metaCRC] = "00000000"
	if err := c.objs.obs.UpdateMeta(ctx, name, info.ObjectMeta); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, CheckpointInfo{Epoch: 1, Version: 2}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("get corrupt: got %v, want ErrCorrupt", err)
	}
	data, in, skipped, err := c.Latest(ctx, nil)
	if err != nil || in.Version != 1 || !bytes.Equal(data, payload(1000, 1)) || len(skipped) != 1 || !errors.Is(skipped[0], ErrCorrupt) {
		t.Fatalf("latest: version %d skipped %v: %v", in.Version, skipped, err)
	}
}

// A reader only ever sees whole checkpoints: not while a writer is half
// way through one, nor after a writer died between its chunks and its
// metadata.
func TestCheckpointsVisibleOnlyWhole(t *testing.T) {
	js, nc := jetStream(t)
	ctx := testCtx(t, 60*time.Second)
	c, err := CreateCheckpoints(ctx, js, "run1", CheckpointConfig{Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	const size = 1<<20 + 12345 // 9 chunks of 128 KiB
	// A writer that died after its chunks: they are in the stream, but no
	// metadata names them.
	dead := fmt.Sprintf("$O.%s.C.%s", checkpointsBucket("run1"), nuid.Next())
	for range 5 {
		if _, err := js.Publish(ctx, dead, payload(128<<10, 0xEE)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := c.Latest(ctx, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("latest with only a dead writer's chunks: got %v, want ErrNotFound", err)
	}

	// One reader polls while the writer writes versions 1..8.
	var wg sync.WaitGroup
	rctx, stop := context.WithCancel(ctx)
	reads, errs := 0, []error{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		rjs, err := jetstream.New(nc)
		if err != nil {
			errs = append(errs, err)
			return
		}
		obs, err := rjs.ObjectStore(rctx, checkpointsBucket("run1"))
		if err != nil {
			errs = append(errs, err)
			return
		}
		r := &Checkpoints{objs: objects{obs: obs, what: "checkpoint", bucket: checkpointsBucket("run1")}, keep: 2}
		for rctx.Err() == nil {
			data, in, _, err := r.Latest(rctx, nil)
			if errors.Is(err, ErrNotFound) || rctx.Err() != nil {
				continue
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			reads++
			if !bytes.Equal(data, payload(size, byte(in.Version))) {
				errs = append(errs, fmt.Errorf("version %d: torn read of %d bytes", in.Version, len(data)))
			}
		}
	}()
	for v := uint64(1); v <= 8; v++ {
		if _, err := c.Put(ctx, 1, v, payload(size, byte(v))); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if reads == 0 {
		t.Fatal("the reader never read a checkpoint")
	}
	t.Logf("%d whole reads during 8 writes of %d bytes", reads, size)
}

func TestCheckpointsRemoveAndSetAside(t *testing.T) {
	js, _ := jetStream(t)
	ctx := testCtx(t, 30*time.Second)
	c, err := CreateCheckpoints(ctx, js, "run1", CheckpointConfig{Keep: 5})
	if err != nil {
		t.Fatal(err)
	}
	for v := uint64(1); v <= 3; v++ {
		if _, err := c.Put(ctx, 4, v, payload(100, byte(v))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Remove(ctx, CheckpointInfo{Epoch: 4, Version: 1}); err != nil {
		t.Fatal(err)
	}
	to, err := c.SetAside(ctx, CheckpointInfo{Epoch: 4, Version: 3}, ".corrupt")
	if err != nil || to != checkpointName(4, 3)+".corrupt" {
		t.Fatalf("set aside: %q %v", to, err)
	}
	infos, err := c.List(ctx)
	if err != nil || len(infos) != 1 || infos[0].Version != 2 {
		t.Fatalf("after remove and set aside: %+v %v", infos, err)
	}
	if got, err := c.objs.obs.GetBytes(ctx, to); err != nil || !bytes.Equal(got, payload(100, 3)) {
		t.Fatalf("set-aside copy: %v", err)
	}
	in, ok := ParseCheckpointName(infos[0].Name())
	if !ok || in.Epoch != 4 || in.Version != 2 {
		t.Fatalf("parse %q: %+v %v", infos[0].Name(), in, ok)
	}
	for _, bad := range []string{"ckpt-00000000000000000002.ckpt", to, "e1-v2", ""} {
		if _, ok := ParseCheckpointName(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}
