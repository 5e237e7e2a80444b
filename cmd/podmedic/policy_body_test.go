package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"podmedic/envsim"
)

// TestEvaluateASavedPolicyBody: the body of /v1/policy saved to a file is
// a snapshot file that `evaluate --policy FILE` reads as is (one format:
// what the learner serves is what it writes and what evaluate reads).
func TestEvaluateASavedPolicyBody(t *testing.T) {
	_, svc := evalLearner(t, "bodyrun", envsim.DefaultConfig())
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/policy")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/policy: %s, %v", resp.Status, err)
	}
	file := filepath.Join(t.TempDir(), "saved.snapshot")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"--policy", file, "--episodes", "1", "--scenarios", "no-fault", "--policies", "trained,noop",
		"--bootstrap", "100", "--out", filepath.Join(t.TempDir(), "out")}
	if err := runEvaluate(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("evaluate the saved /v1/policy body: %v (stderr %s)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "policy version 0 from "+file) {
		t.Fatalf("stdout %q", stdout.String())
	}
}
