package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runHealthcheck probes an HTTP health endpoint and fails unless it answers
// 200 OK. It exists for container healthchecks: the podmedic image is built
// on scratch and has no curl or wget.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", "healthcheck [--url http://127.0.0.1:8080/healthz] [--timeout 2s]", stderr)
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "URL to probe; healthy only if it answers 200 OK")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long (0 < timeout <= 1m)")
	quiet := fs.Bool("quiet", false, "print nothing on success")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *timeout <= 0 || *timeout > time.Minute {
		return flagError{fmt.Errorf("--timeout: want 0 < timeout <= 1m, got %v", *timeout)}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return flagError{fmt.Errorf("--url: %w", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", *url, err)
	}
	defer resp.Body.Close()
	// The body (e.g. the learner's JSON status) goes to stdout, where
	// docker inspect shows it; it is capped so a wrong URL cannot flood it.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return fmt.Errorf("read %s: %w", *url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: status %s: %s", *url, resp.Status, body)
	}
	if !*quiet {
		fmt.Fprintf(stdout, "%s", body)
	}
	return nil
}
