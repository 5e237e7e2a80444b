package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// emptyPrometheus knows the run "obs" but has no samples: every range
// query answers an empty matrix. It counts the range queries.
func emptyPrometheus(t *testing.T, queries *atomic.Int64) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body any
		switch r.URL.Path {
		case "/api/v1/label/run/values":
			body = map[string]any{"status": "success", "data": []string{"obs"}}
		case "/api/v1/query_range":
			queries.Add(1)
			body = map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": []any{}}}
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body) // the client under test reads it
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDashboardPreviewErrors(t *testing.T) {
	var n atomic.Int64
	prom := emptyPrometheus(t, &n)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	out := filepath.Join(t.TempDir(), "p.png")
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		msg  string
	}{
		{"no prometheus", []string{"--run", "obs", "--out", out}, nil, 2, "--prometheus is required"},
		{"no run", []string{"--prometheus", prom, "--out", out}, nil, 2, "--run is required"},
		{"no out", []string{"--prometheus", prom, "--run", "obs"}, nil, 2, "--out is required"},
		{"bad URL", []string{"--prometheus", "localhost:9090", "--run", "obs", "--out", out}, nil, 2, `--prometheus: preview: bad Prometheus URL "localhost:9090"`},
		{"bad range", []string{"--prometheus", prom, "--run", "obs", "--out", out, "--range", "5s"}, nil, 2, "range 5s"},
		{"bad range syntax", []string{"--prometheus", prom, "--run", "obs", "--out", out, "--range", "soon"}, nil, 2, "range"},
		{"bad end", []string{"--prometheus", prom, "--run", "obs", "--out", out, "--end", "yesterday"}, nil, 2, "RFC 3339"},
		{"bad env URL", []string{"--run", "obs", "--out", out}, map[string]string{"PODMEDIC_PROMETHEUS": "ftp://x"}, 2, "bad Prometheus URL"},
		{"unreachable", []string{"--prometheus", closed, "--run", "obs", "--out", out}, nil, 1, "Prometheus unreachable"},
		{"unknown run", []string{"--prometheus", prom, "--run", "other", "--out", out}, nil, 1, "runs there: obs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), append([]string{"dashboard-preview"}, c.args...), &stdout, &stderr)
			code := exitCode(err, &stderr)
			if code != c.code || !strings.Contains(stderr.String(), c.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr.String(), c.code, c.msg)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("%s exists after a failed run (stat err %v)", out, err)
			}
		})
	}
}

// TestDashboardPreviewNoData: against a Prometheus without samples the
// command still writes the image (every panel saying "No data") and lists
// every panel as without data; flags come from PODMEDIC_* variables too.
func TestDashboardPreviewNoData(t *testing.T) {
	var n atomic.Int64
	prom := emptyPrometheus(t, &n)
	out := filepath.Join(t.TempDir(), "preview.png")
	t.Setenv("PODMEDIC_PROMETHEUS", prom)
	t.Setenv("PODMEDIC_RUN", "obs")
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"dashboard-preview", "--out", out, "--range", "10m", "--width", "900"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v (stderr %s)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "36 panels, 0 with data") || !strings.Contains(stdout.String(), "(step 5s)") {
		t.Errorf("stdout %q, want 36 panels, 0 with data, step 5s", stdout.String())
	}
	noData := ""
	for _, line := range strings.Split(stdout.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "no data: "); ok {
			noData = rest
		}
	}
	if got := len(strings.Split(noData, "; ")); got != 36 || !strings.Contains(noData, "Overview / Env steps/s") ||
		!strings.Contains(noData, "Throughput & transport / Env steps/s") {
		t.Errorf("no-data list has %d entries (%q), want all 36 named by row and title", got, noData)
	}
	if n.Load() != 63 {
		t.Errorf("%d range queries, want 63 (one per panel query)", n.Load())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", out, err)
	}
	if b := img.Bounds(); b.Dx() != 900 {
		t.Errorf("image width %d, want 900", b.Dx())
	}
}
