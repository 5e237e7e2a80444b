package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"podmedic/envsim"
	"podmedic/internal/policywire"
	"podmedic/policy"
	"podmedic/protocol"
)

// writeSnapshot writes an untrained policy for cfg's layout, with the
// observation names of obsNames.
func writeSnapshot(t *testing.T, cfg envsim.Config, obsNames []string) string {
	t.Helper()
	c, err := envsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	arch := policy.DefaultArch(c.ObservationSize(), c.NumActions())
	net, err := policy.New(arch, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	w := &protocol.Weights{Version: 1, Arch: protocol.Arch{ObsSize: arch.ObsSize, NumActions: arch.NumActions,
		Hidden: arch.Hidden, Activation: arch.Activation}, Params: net.Params(),
		Norm: policywire.Norm(policy.NewNormalizer(arch.ObsSize).Snapshot()),
		Meta: map[string]string{"obs_names": strings.Join(obsNames, ",")}}
	path := filepath.Join(t.TempDir(), "policy.snapshot")
	if err := protocol.WriteSnapshotFile(path, w); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSimulateWithASnapshot(t *testing.T) {
	cfg := envsim.DefaultConfig()
	c, err := envsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	names := c.ObservationSpec().Names
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	snap := writeSnapshot(t, cfg, names)
	if err := Run(context.Background(), []string{"simulate", "--scenario", "pod-kill", "--policy", snap, "--steps", "20", "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("simulate: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "policy trained") {
		t.Fatalf("summary does not name the trained policy: %s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(out, "timeline.png")); err != nil {
		t.Fatal(err)
	}

	// A snapshot of another observation layout is refused with the
	// mismatch named.
	other := append([]string(nil), names...)
	other[7] = "cpu_p99"
	err = Run(context.Background(), []string{"simulate", "--policy", writeSnapshot(t, cfg, other), "--out", t.TempDir()}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `"cpu_p99"`) {
		t.Fatalf("incompatible snapshot: got %v", err)
	}
}
