package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(`{"updates":3}`))
		case "/down":
			http.Error(w, "nats disconnected", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name     string
		args     []string
		wantErr  bool
		wantCode int
		wantOut  string
		errHas   string
	}{
		{name: "healthy", args: []string{"--url", srv.URL + "/ok"}, wantOut: `{"updates":3}`},
		{name: "healthy quiet", args: []string{"--url", srv.URL + "/ok", "--quiet"}},
		{name: "unavailable", args: []string{"--url", srv.URL + "/down"}, wantErr: true, wantCode: 1, errHas: "503"},
		{name: "not found", args: []string{"--url", srv.URL + "/missing"}, wantErr: true, wantCode: 1, errHas: "404"},
		{name: "connection refused", args: []string{"--url", closedURL + "/ok"}, wantErr: true, wantCode: 1, errHas: "probe"},
		{name: "bad timeout", args: []string{"--url", srv.URL, "--timeout", "0s"}, wantErr: true, wantCode: 2, errHas: "--timeout"},
		{name: "stray argument", args: []string{"extra"}, wantErr: true, wantCode: 2, errHas: "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runHealthcheck(context.Background(), tc.args, &stdout, &stderr)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("err = %q, want it to mention %q", err, tc.errHas)
				}
				if isFlagError(err) != (tc.wantCode == 2) {
					t.Errorf("flag error = %v, want exit code %d", isFlagError(err), tc.wantCode)
				}
				if errors.Is(err, context.Canceled) {
					t.Errorf("err = %v: must not look like an interrupt", err)
				}
			}
			if got := stdout.String(); got != tc.wantOut {
				t.Errorf("stdout = %q, want %q", got, tc.wantOut)
			}
		})
	}
}

func TestHealthcheckEnvURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	t.Setenv("PODMEDIC_URL", srv.URL)
	var stdout, stderr bytes.Buffer
	err := runHealthcheck(context.Background(), []string{"--quiet"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("err = %v, want a failed probe of %s (set through PODMEDIC_URL)", err, srv.URL)
	}
}
