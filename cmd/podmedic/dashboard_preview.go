package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"podmedic/ops/grafana"
	"podmedic/ops/preview"
)

// runDashboardPreview draws the Grafana dashboard of a run from
// Prometheus into one PNG, without Grafana.
func runDashboardPreview(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dashboard-preview", "dashboard-preview --prometheus URL --run NAME --out FILE.png [--range DURATION] [--end TIME]\n\n"+
		"Draws every panel of podmedic's Grafana dashboard (defined in ops/grafana) from\n"+
		"Prometheus range queries into one PNG, laid out as the dashboard's grid with its\n"+
		"titles and units, headed as a preview: a look at the dashboard without Grafana.\n"+
		"Panels without data say so in the image and are listed on stdout.", stderr)
	promURL := fs.String("prometheus", "", "Prometheus base URL, e.g. http://127.0.0.1:9090 (required)")
	run := fs.String("run", "", "run name, the dashboard's $run variable (required)")
	out := fs.String("out", "", "PNG file to write (required)")
	rng := fs.Duration("range", grafana.DefaultRange, "length of the time range, ending at --end (1m to 744h)")
	end := fs.String("end", "", "end of the time range, RFC 3339 like 2025-01-02T15:04:05Z (default now)")
	width := fs.Int("width", 1800, "image width in pixels (800 to 6000)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	for _, req := range []struct{ name, v string }{{"prometheus", *promURL}, {"run", *run}, {"out", *out}} {
		if req.v == "" {
			return flagError{fmt.Errorf("dashboard-preview: --%s is required", req.name)}
		}
	}
	opts := preview.Options{Prometheus: *promURL, Run: *run, Range: *rng, Width: *width}
	if *end != "" {
		t, err := time.Parse(time.RFC3339, *end)
		if err != nil {
			return flagError{fmt.Errorf("dashboard-preview: --end %q is not an RFC 3339 time: %v", *end, err)}
		}
		opts.End = t
	}
	d, err := grafana.Dashboard()
	if err != nil {
		return fmt.Errorf("dashboard-preview: %w", err)
	}
	var png bytes.Buffer
	rep, err := preview.Render(ctx, d, opts, &png)
	switch {
	case errors.Is(err, preview.ErrBadURL):
		return flagError{fmt.Errorf("dashboard-preview: --prometheus: %w", err)}
	case errors.Is(err, preview.ErrOptions):
		return flagError{fmt.Errorf("dashboard-preview: %w", err)}
	case err != nil:
		return fmt.Errorf("dashboard-preview: %w", err)
	}
	if err := writeFileWith(*out, func(w io.Writer) error { _, err := png.WriteTo(w); return err }); err != nil {
		return fmt.Errorf("dashboard-preview: %w", err)
	}
	withData := len(rep.Panels) - len(rep.NoData())
	fmt.Fprintf(stdout, "wrote %s: %d panels, %d with data, run %q, %s to %s UTC (step %s)\n", *out, len(rep.Panels), withData,
		*run, rep.Start.UTC().Format("2006-01-02 15:04:05"), rep.End.UTC().Format("15:04:05"), rep.Step)
	if nd := rep.NoData(); len(nd) > 0 {
		fmt.Fprintf(stdout, "no data: %s\n", strings.Join(nd, "; "))
	}
	if failed := rep.Failed(); len(failed) > 0 {
		msgs := make([]string, len(failed))
		for i, p := range failed {
			msgs[i] = fmt.Sprintf("%s: %v", p.Name(), p.Err)
		}
		return fmt.Errorf("dashboard-preview: wrote %s, but Prometheus refused %d panel queries:\n  %s", *out, len(failed), strings.Join(msgs, "\n  "))
	}
	return nil
}
