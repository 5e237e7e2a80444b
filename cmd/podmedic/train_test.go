package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
