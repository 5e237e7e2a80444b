package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"podmedic/envsim"
	"podmedic/eval"
	"podmedic/learner"
	"podmedic/protocol"
)

// TestTrainWritesARunDirectory runs the one-command mode end to end on a
// tiny budget: embedded NATS, learner and two actors over loopback.
func TestTrainWritesARunDirectory(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"train", "--steps", "4096", "--actors", "2", "--envs", "2",
		"--horizon", "64", "--epochs", "2", "--hidden", "16,16", "--http", "", "--out", dir, "--eval-episodes", "0",
		"--eval-every", "4", "--eval-curve-episodes", "1"}, &out, &errOut)
	if err != nil {
		t.Fatalf("train: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	// The periodic evaluation: a header and a row every 4 updates, one
	// column per scenario of the training mix.
	curve, err := os.ReadFile(filepath.Join(dir, eval.EvalCurveFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(curve)), "\n")
	mixed, _ := envsim.ScenarioByName(envsim.MixedScenarioName)
	if len(lines) < 3 || len(strings.Split(lines[0], ",")) != 4+len(mixed.Mix) {
		t.Fatalf("eval curve:\n%s", curve)
	}
	if _, err := os.Stat(filepath.Join(dir, eval.CurveEvalFile)); err != nil {
		t.Fatal(err)
	}
	w, err := protocol.ReadSnapshotFile(filepath.Join(dir, "policy.snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	// Rollouts are 2 envs x 64 steps = 128 env steps; an async update
	// takes at most MaxAhead (2) per actor, and one per live actor at
	// least (a single one before the second actor has joined), so 4096
	// steps make between 8 and 32 updates.
	if w.Version < 8 || w.Version > 32 {
		t.Fatalf("final policy at version %d, want 8..32", w.Version)
	}
	if _, _, err := learner.LatestCheckpoint(filepath.Join(dir, "checkpoints")); err != nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	f, err := os.Open(filepath.Join(dir, "progress.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(rows)) != 1+w.Version || strings.Join(rows[0], ",") != strings.Join(learner.ProgressColumns(), ",") {
		t.Fatalf("progress.csv has %d rows, header %v", len(rows), rows[0])
	}
	if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "trained ") || !strings.Contains(out.String(), "transport is") {
		t.Fatalf("no summary in output:\n%s", out.String())
	}
}

// TestTrainPerPodMode trains the per-pod action space for a few updates:
// its long feature names must reach the actors in the weights.
func TestTrainPerPodMode(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "env.yaml")
	if err := os.WriteFile(cfgPath, []byte("action_mode: per-pod\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := Run(ctx, []string{"train", "--steps", "2048", "--actors", "1", "--envs", "2", "--horizon", "64",
		"--epochs", "1", "--hidden", "16,16", "--http", "", "--out", filepath.Join(dir, "run"), "--eval-episodes", "0",
		"--eval-every", "0", "--env-config", cfgPath}, &out, &errOut)
	if err != nil {
		t.Fatalf("train: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	w, err := protocol.ReadSnapshotFile(filepath.Join(dir, "run", "policy.snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Version < 8 || !strings.Contains(w.Meta["actions"], "restart_pod_9") {
		t.Fatalf("per-pod run ended at version %d, actions %q", w.Version, w.Meta["actions"])
	}
}
