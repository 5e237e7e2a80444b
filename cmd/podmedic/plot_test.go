package main

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"podmedic/eval"
)

const plotTestCSV = `update,version,env_steps,wall_seconds,steps_per_second,episodes,return_mean,return_min,return_max,episode_length,policy_loss,value_loss,entropy,approx_kl,clip_fraction,explained_variance,grad_norm,learning_rate,skipped
1,1,2048,0.5,4000,0,,,,,-0.02,40,2.7,0.008,0.12,0.01,14,0.0003,0
2,2,4096,1.0,4100,12,-30,-90,-5,30,-0.03,19,2.6,0.012,0.21,0.2,2.6,0.0003,0
3,3,6144,1.5,4200,30,-20,-80,2,45,-0.01,10,2.5,0.01,0.15,0.4,2.1,0.0003,0
`

func TestPlotWritesCurves(t *testing.T) {
	tests := []struct {
		name   string
		args   func(run, out string) []string
		outDir func(run, out string) string
	}{
		{"into run dir", func(run, _ string) []string { return []string{run} }, func(run, _ string) string { return run }},
		{"out after dir", func(run, out string) []string { return []string{run, "--out", out} }, func(_, out string) string { return out }},
		{"out before dir", func(run, out string) []string { return []string{"--out", out, run} }, func(_, out string) string { return out }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, out := t.TempDir(), filepath.Join(t.TempDir(), "curves")
			if err := os.WriteFile(filepath.Join(run, "progress.csv"), []byte(plotTestCSV), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if err := runPlot(context.Background(), tt.args(run, out), &stdout, &stderr); err != nil {
				t.Fatalf("plot: %v (stderr %s)", err, stderr.String())
			}
			want := tt.outDir(run, out)
			lines := strings.Fields(stdout.String())
			if len(lines) != 4 {
				t.Fatalf("printed %q, want 4 paths", stdout.String())
			}
			for _, name := range []string{eval.CurveReturnFile, eval.CurveLengthFile, eval.CurvePPOFile, eval.CurveThroughputFile} {
				f, err := os.Open(filepath.Join(want, name))
				if err != nil {
					t.Fatal(err)
				}
				_, err = png.Decode(f)
				f.Close()
				if err != nil {
					t.Fatalf("%s is not a PNG: %v", name, err)
				}
			}
		})
	}
}

func TestPlotErrors(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name      string
		args      []string
		flagErr   bool
		wantIs    error
		wantInMsg string
	}{
		{"no run dir", nil, true, nil, "exactly one RUN_DIR"},
		{"two run dirs", []string{"a", "b"}, true, nil, "exactly one RUN_DIR"},
		{"missing progress", []string{empty}, false, os.ErrNotExist, "progress.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runPlot(context.Background(), tt.args, &stdout, &stderr)
			if err == nil {
				t.Fatal("plot succeeded")
			}
			if isFlagError(err) != tt.flagErr {
				t.Errorf("flag error = %v, want %v (%v)", isFlagError(err), tt.flagErr, err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantInMsg)
			}
		})
	}
}
