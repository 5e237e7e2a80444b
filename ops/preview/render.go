package preview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"podmedic/ops/grafana"
)

// ErrOptions reports bad Options (a missing run, a range or width out of
// bounds).
var ErrOptions = errors.New("preview: bad options")

// Options select what to draw. Prometheus and Run are required.
type Options struct {
	// Prometheus is the base URL of the Prometheus HTTP API, e.g.
	// http://127.0.0.1:9090.
	Prometheus string
	// Run is the value of the dashboard's run variable.
	Run string
	// End is the end of the time range (zero: now); Range its length
	// (zero: grafana.DefaultRange, the dashboard's 30 minutes).
	End   time.Time
	Range time.Duration
	// Width is the image width in pixels (zero: 1800); the height follows
	// from the dashboard's grid.
	Width int
	// Client makes the HTTP requests (nil: a client with a 30 s timeout).
	Client *http.Client
}

// Bounds on Options.
const (
	defaultWidth = 1800
	minWidth     = 800
	maxWidth     = 6000
	maxRange     = 31 * 24 * time.Hour
)

// PanelReport says what one panel showed.
type PanelReport struct {
	// Row and Title name the panel (titles repeat across rows).
	Row, Title string
	// Series counts the series the queries returned, Points their values.
	Series, Points int
	// Err is a query Prometheus refused or failed to evaluate; the panel
	// shows it.
	Err error
}

// Name is "Row / Title".
func (p PanelReport) Name() string { return panelKey(p.Row, p.Title) }

// HasData reports whether the panel drew at least one value.
func (p PanelReport) HasData() bool { return p.Points > 0 }

// Report describes a rendered preview.
type Report struct {
	// Start and End bound the range; Step is the query resolution.
	Start, End time.Time
	Step       time.Duration
	// Panels are in dashboard order.
	Panels []PanelReport
}

// NoData names the panels that drew no value ("Row / Title").
func (r *Report) NoData() []string {
	var out []string
	for _, p := range r.Panels {
		if !p.HasData() {
			out = append(out, p.Name())
		}
	}
	return out
}

// Failed returns the panels with a query error.
func (r *Report) Failed() []PanelReport {
	var out []PanelReport
	for _, p := range r.Panels {
		if p.Err != nil {
			out = append(out, p)
		}
	}
	return out
}

// Panel returns the report of the panel titled title in row (ok false if
// there is none).
func (r *Report) Panel(row, title string) (PanelReport, bool) {
	for _, p := range r.Panels {
		if p.Row == row && p.Title == title {
			return p, true
		}
	}
	return PanelReport{}, false
}

// Render draws every panel of d from Prometheus range queries for the
// run and writes the PNG to w: rows and panels where d's grid puts them,
// titles and units from d, the whole image headed as a preview rendered
// without Grafana. A panel without data says so in the image and in the
// report; a query Prometheus refuses is shown in its panel and listed by
// Report.Failed. Render fails (writing nothing) on bad options, a
// dashboard it cannot draw (ErrDefinition), a Prometheus it cannot reach
// (ErrUnreachable) or a run Prometheus does not know (ErrUnknownRun).
func Render(ctx context.Context, d dashboard.Dashboard, opts Options, w io.Writer) (*Report, error) {
	base, err := parseURL(opts.Prometheus)
	if err != nil {
		return nil, err
	}
	if opts.Run == "" {
		return nil, fmt.Errorf("%w: no run given", ErrOptions)
	}
	if opts.Range == 0 {
		opts.Range = grafana.DefaultRange
	}
	if opts.Range < time.Minute || opts.Range > maxRange {
		return nil, fmt.Errorf("%w: range %v outside [1m0s, %v]", ErrOptions, opts.Range, maxRange)
	}
	if opts.Width == 0 {
		opts.Width = defaultWidth
	}
	if opts.Width < minWidth || opts.Width > maxWidth {
		return nil, fmt.Errorf("%w: width %d px outside [%d, %d]", ErrOptions, opts.Width, minWidth, maxWidth)
	}
	if opts.End.IsZero() {
		opts.End = time.Now()
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second}
	}
	l, err := readLayout(d)
	if err != nil {
		return nil, err
	}
	src, err := newSource(base, opts.Client, opts.Run, opts.End, opts.Range)
	if err != nil {
		return nil, err
	}
	if l.runMetric != "" {
		if err := src.checkRun(ctx, l.runMetric, l.runLabel, opts.Run); err != nil {
			return nil, err
		}
	}
	rep := &Report{Start: src.start, End: src.end, Step: src.step}
	data := make([]panelData, len(l.panels))
	for i, p := range l.panels {
		pr := PanelReport{Row: p.row, Title: p.title}
		for _, t := range p.targets {
			ss, err := src.fetch(ctx, t)
			var qe *queryError
			switch {
			case errors.As(err, &qe):
				pr.Err = qe
			case err != nil:
				return nil, err
			}
			data[i].series = append(data[i].series, ss...)
		}
		for k := range data[i].series {
			n := data[i].series[k].finite()
			pr.Points += n
			if n > 0 {
				pr.Series++
			}
		}
		data[i].err = pr.Err
		rep.Panels = append(rep.Panels, pr)
	}
	img := newCanvas(l, opts.Width)
	img.header(l.title, opts.Run, src)
	for _, r := range l.rows {
		img.row(r)
	}
	for i, p := range l.panels {
		img.panel(p, data[i], src)
	}
	if err := img.writePNG(w); err != nil {
		return nil, fmt.Errorf("preview: write PNG: %w", err)
	}
	return rep, nil
}
