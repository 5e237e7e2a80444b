package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimulateWritesTraceAndTimeline(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := runSimulate(context.Background(), []string{"--scenario", "memory-leak-oom", "--policy", "heuristic", "--seed", "2", "--steps", "60", "--out", dir}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("simulate: %v (stderr %s)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "scenario memory-leak-oom, policy heuristic, seed 2: 60 steps") {
		t.Fatalf("summary %q", stdout.String())
	}
	f, err := os.Open(filepath.Join(dir, "trace.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 62 || rows[0][0] != "step" {
		t.Fatalf("trace has %d rows, header %v", len(rows), rows[0][:3])
	}
	pf, err := os.Open(filepath.Join(dir, "timeline.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatalf("timeline is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Fatalf("timeline is %v, too small", b)
	}
}

func TestSimulateScenarioFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "leak.yaml")
	doc := "base: memory-leak-oom\nname: fast-leak\nfaults:\n  - {kind: memory-leak, start: 2, magnitude: 60}\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := runSimulate(context.Background(), []string{"--scenario", path, "--policy", "noop", "--steps", "20", "--out", dir}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "scenario fast-leak") {
		t.Fatalf("summary %q", stdout.String())
	}
}

func TestSimulateBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing out", []string{"--scenario", "pod-kill"}, "--out is required"},
		{"unknown scenario", []string{"--scenario", "meteor", "--out", "x"}, "neither a built-in scenario"},
		{"unknown policy", []string{"--policy", "oracle", "--out", "x"}, "unknown policy"},
		{"negative steps", []string{"--steps", "-1", "--out", "x"}, "--steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runSimulate(context.Background(), append(tt.args[:len(tt.args):len(tt.args)], "--out", t.TempDir()), &stdout, &stderr)
			if tt.name == "missing out" {
				err = runSimulate(context.Background(), tt.args, &stdout, &stderr)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !isFlagError(err) {
				t.Fatalf("error %v, want a flag error containing %q", err, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if err := runSimulate(ctx, []string{"--out", t.TempDir()}, &stdout, &stderr); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}
