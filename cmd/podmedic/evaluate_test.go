package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"podmedic/envsim"
	"podmedic/eval"
	"podmedic/internal/natsserver"
	"podmedic/learner"
	"podmedic/protocol"
)

// evalLearner starts an embedded NATS server and a learner service for
// envCfg (no actors: it serves its initial policy, version 0) and returns
// the NATS URL and the service.
func evalLearner(t *testing.T, run string, envCfg envsim.Config) (string, *learner.Service) {
	t.Helper()
	ns, err := natsserver.Start(natsserver.Config{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	spec, err := envSpec(envCfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := learner.DefaultServiceConfig()
	cfg.Run, cfg.Mode, cfg.HeartbeatTimeout, cfg.QueueCapacity = run, protocol.ModeAsync, time.Second, 16
	cfg.Hidden = []int{16, 16}
	svc, err := learner.NewService(cfg, spec, nc, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Close(ctx); err != nil {
			t.Errorf("close learner: %v", err)
		}
	})
	return ns.ClientURL(), svc
}

// writeWeights decodes the learner's snapshot, lets edit change it and
// writes it as a snapshot file.
func writeWeights(t *testing.T, svc *learner.Service, edit func(*protocol.Weights)) string {
	t.Helper()
	w, err := protocol.DecodeWeights(svc.Weights(), protocol.SnapshotLimits())
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(w)
	}
	path := filepath.Join(t.TempDir(), "policy.snapshot")
	if err := protocol.WriteSnapshotFile(path, w); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEvaluateSources(t *testing.T) {
	url, svc := evalLearner(t, "evalrun", envsim.DefaultConfig())
	httpSrv := httptest.NewServer(svc.Handler())
	defer httpSrv.Close()
	file := writeWeights(t, svc, nil)

	// Only the file case draws timelines (they need hpa): PNGs are slow
	// under the race detector.
	tests := []struct {
		name     string
		source   string
		policies string
	}{
		{"file", file, "trained,noop,hpa"},
		{"nats", url, "trained,noop"},
		{"nats-url flag", "nats", "trained,noop"},
		{"http", httpSrv.URL, "trained,noop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			args := []string{"--policy", tc.source, "--run", "evalrun", "--episodes", "2", "--scenarios", "no-fault,pod-kill",
				"--policies", tc.policies, "--bootstrap", "200", "--out", dir, "--timeout", "10s", "--nats-url", url}
			if err := runEvaluate(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("evaluate: %v (stderr %s)", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "run 1: policy version 0 from "+tc.source) {
				t.Errorf("stdout %q", stdout.String())
			}
			md, err := os.ReadFile(filepath.Join(dir, eval.ReportFile))
			if err != nil {
				t.Fatal(err)
			}
			wantFiles := []string{eval.EpisodesFile, eval.ReturnsChart, eval.RecoveryChart}
			wantText := []string{"| no-fault |", "| pod-kill |", "trained minus each baseline"}
			if strings.Contains(tc.policies, "hpa") {
				wantFiles = append(wantFiles, "timeline-pod-kill.png")
				wantText = append(wantText, "timeline-pod-kill.png")
			}
			for _, want := range wantText {
				if !strings.Contains(string(md), want) {
					t.Errorf("report lacks %q", want)
				}
			}
			for _, f := range wantFiles {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s missing: %v", f, err)
				}
			}
		})
	}
}

func TestEvaluateRefuses(t *testing.T) {
	_, svc := evalLearner(t, "refuse", envsim.DefaultConfig())
	renamed := writeWeights(t, svc, func(w *protocol.Weights) {
		names := strings.Split(w.Meta["obs_names"], ",")
		names[7] = "cpu_p99"
		w.Meta["obs_names"] = strings.Join(names, ",")
	})
	hist := envsim.DefaultConfig()
	hist.HistorySteps = 2
	_, svcHist := evalLearner(t, "refuse2", hist)
	bigger := writeWeights(t, svcHist, nil)
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("not a snapshot at all"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		wantErr error
		wantMsg string
	}{
		{"renamed observation", []string{"--policy", renamed}, eval.ErrIncompatible, `observation 7 is "cpu_p99" in the snapshot, "cpu_avg" in the environment`},
		{"other observation size", []string{"--policy", bigger}, eval.ErrIncompatible,
			fmt.Sprintf("observation size %d, environment has %d", 3*envsim.NumBaseFeatures, 2*envsim.NumBaseFeatures)},
		{"not a snapshot", []string{"--policy", garbage}, protocol.ErrNotSnapshot, "not a podmedic snapshot"},
		{"no learner on nats", []string{"--policy", "nats://127.0.0.1:1", "--timeout", "300ms"}, nil, "request podmedic.default.policy.latest"},
		{"missing policy", nil, nil, "--policy is required"},
		{"unknown policy", []string{"--policy", renamed, "--policies", "trained,oracle"}, eval.ErrInvalidConfig, "policies[1]"},
		{"stochastic without --policy", []string{"--policies", "trained-stochastic,hpa"}, nil, "--policy is required for the trained policies"},
		{"runs of two shapes", []string{"--policy", renamed + "," + bigger}, eval.ErrIncompatible, "runs 1 and 2 of 2"},
		{"unknown suite", []string{"--suite", "holdout"}, eval.ErrUnknownSuite, "--suite"},
		{"unknown held-out condition", []string{"--policies", "noop", "--scenarios", "heldout:meteor"}, envsim.ErrUnknownScenario, "heldout:load-2x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--episodes", "1", "--scenarios", "no-fault", "--out", t.TempDir()}, tc.args...)
			err := runEvaluate(context.Background(), args, &stdout, &stderr)
			if err == nil {
				t.Fatal("evaluate succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantMsg)
			}
		})
	}
}

// TestEvaluateSnapshotForTrain runs the short evaluation podmedic train
// ends with, on every scenario with one episode each.
func TestEvaluateSnapshotForTrain(t *testing.T) {
	_, svc := evalLearner(t, "trainrun", envsim.DefaultConfig())
	file := writeWeights(t, svc, nil)
	dir := filepath.Join(t.TempDir(), "eval")
	var stdout bytes.Buffer
	if err := evaluateSnapshot(context.Background(), file, dir, 1, envsim.DefaultConfig(), &stdout); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, eval.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range append(envsim.ScenarioNames(), eval.HeldOutSuite()...) {
		if !strings.Contains(string(md), "| "+sc+" |") {
			t.Errorf("report lacks scenario %s", sc)
		}
	}
	if !strings.Contains(stdout.String(), "overall mean return: trained ") {
		t.Errorf("stdout %q", stdout.String())
	}
}

// TestEvaluateBaselinesOnly: without --policy, baselines alone are
// compared; the held-out table and the across-runs IQMs still render.
func TestEvaluateBaselinesOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	args := []string{"--policies", "runbook,noop", "--scenarios", "bad-config,heldout:load-2x", "--episodes", "2",
		"--bootstrap", "100", "--out", dir}
	if err := runEvaluate(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("evaluate: %v (stderr %s)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "(0 training runs)") || !strings.Contains(stdout.String(), "overall (held-out) mean return: runbook") {
		t.Errorf("stdout %q", stdout.String())
	}
	md, err := os.ReadFile(filepath.Join(dir, eval.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| bad-config |", "## Held-out conditions", "| heldout:load-2x |", "IQM, training suite", "### Performance profile"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(string(md), "trained") {
		t.Error("report of baselines mentions a trained policy")
	}
	if _, err := os.Stat(filepath.Join(dir, eval.ProfileChart)); err != nil {
		t.Error(err)
	}
}

// TestEvaluateSeveralRuns: --policy A,B evaluates two training runs and
// reports them across runs.
func TestEvaluateSeveralRuns(t *testing.T) {
	_, svc := evalLearner(t, "runs", envsim.DefaultConfig())
	first := writeWeights(t, svc, nil)
	second := writeWeights(t, svc, func(w *protocol.Weights) {
		w.Version = 5
		for i := range w.Params {
			w.Params[i] *= -1
		}
	})
	dir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	args := []string{"--policy", first + "," + second, "--policies", "trained,noop", "--scenarios", "pod-kill",
		"--episodes", "2", "--bootstrap", "100", "--out", dir}
	if err := runEvaluate(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("evaluate: %v (stderr %s)", err, stderr.String())
	}
	for _, want := range []string{"run 1: policy version 0 from " + first, "run 2: policy version 5 from " + second, "(2 training runs)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q: %s", want, stdout.String())
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, eval.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 training runs of one configuration (versions 0, 5)", "run 2 (v5)", "standard deviation"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, eval.EpisodesFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(csv), "scenario,sampled,policy,run,episode,") || !strings.Contains(string(csv), ",trained,1,1,") {
		t.Errorf("episodes.csv lacks the run column or run 2's episodes:\n%s", csv)
	}
}
