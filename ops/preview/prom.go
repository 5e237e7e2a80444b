package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"podmedic/ops/grafana"
)

var (
	// ErrBadURL reports a Prometheus URL that is not http(s)://host[:port][/path].
	ErrBadURL = errors.New("preview: bad Prometheus URL")
	// ErrUnreachable reports a Prometheus that could not be reached or did
	// not answer like Prometheus's HTTP API.
	ErrUnreachable = errors.New("preview: Prometheus unreachable")
	// ErrUnknownRun reports a run Prometheus has no series of.
	ErrUnknownRun = errors.New("preview: run not found in Prometheus")
)

// maxDataPoints is how many points the preview asks for per series over
// the range, about a panel's width in pixels as Grafana asks.
const maxDataPoints = 300

// parseURL checks a Prometheus base URL.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadURL, raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w %q: want http://host:port or https://host:port", ErrBadURL, raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w %q: the base URL takes no query or fragment", ErrBadURL, raw)
	}
	return u, nil
}

// source runs a dashboard's queries against Prometheus over one range.
type source struct {
	client     *http.Client
	baseURL    *url.URL
	base       string
	start, end time.Time
	step       time.Duration
	points     int           // steps in the range, end included
	rate       time.Duration // $__rate_interval
	vars       *strings.Replacer
}

func newSource(base *url.URL, client *http.Client, run string, end time.Time, rng time.Duration) (*source, error) {
	step := stepFor(rng)
	end = end.Truncate(time.Second)
	s := &source{client: client, baseURL: base, base: base.String(), end: end, start: end.Add(-rng), step: step,
		points: int(rng/step) + 1}
	s.rate = rateInterval(step)
	s.vars = templateVars(run, step, rng)
	return s, nil
}

// stepFor is Grafana's query interval for a range: range/maxDataPoints
// rounded up to a round step, never below the scrape interval.
func stepFor(rng time.Duration) time.Duration {
	raw := rng / maxDataPoints
	for _, s := range []time.Duration{grafana.ScrapeInterval, 10 * time.Second, 15 * time.Second, 20 * time.Second,
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
		30 * time.Minute, time.Hour} {
		if s >= raw && s >= grafana.ScrapeInterval {
			return s
		}
	}
	return raw.Round(time.Hour)
}

// templateVars replaces what Grafana would in a query: the run variable
// (escaped for a PromQL string) and the interval variables, with
// $__rate_interval = max($__interval + scrape interval, 4 × scrape
// interval) as Grafana documents it.
func templateVars(run string, step, rng time.Duration) *strings.Replacer {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(run)
	rate := rateInterval(step)
	secs := func(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) + "s" }
	// Longer names first: the replacer tries the arguments in order.
	return strings.NewReplacer(
		"${"+grafana.RunVariable+"}", esc, "$"+grafana.RunVariable, esc,
		"$__rate_interval", secs(rate), "$__interval_ms", strconv.FormatInt(step.Milliseconds(), 10),
		"$__interval", secs(step), "$__range_s", strconv.FormatInt(int64(rng/time.Second), 10),
		"$__range", secs(rng),
	)
}

// rateInterval is Grafana's $__rate_interval for a query step.
func rateInterval(step time.Duration) time.Duration {
	return max(step+grafana.ScrapeInterval, 4*grafana.ScrapeInterval)
}

// apiError is an error answer of Prometheus's HTTP API.
type apiError struct {
	status          int
	errType, detail string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.errType, e.status, e.detail)
}

// queryFault reports whether Prometheus blamed the query itself: bad
// PromQL, an evaluation error or a query timeout.
func (e *apiError) queryFault() bool {
	return e.errType == "bad_data" || e.errType == "execution" || e.errType == "timeout"
}

// get calls an API endpoint and decodes its data into v. A network
// failure or an answer that is not the Prometheus API's wraps
// ErrUnreachable; an API error is an *apiError.
func (s *source) get(ctx context.Context, path string, q url.Values, v any) error {
	u := s.baseURL.JoinPath(path)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // interrupted, not unreachable
		}
		return fmt.Errorf("%w at %s: %v", ErrUnreachable, s.base, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&body); err != nil || body.Status == "" {
		return fmt.Errorf("%w: %s answered %s with HTTP %d and no Prometheus API response (is this Prometheus's address?)",
			ErrUnreachable, s.base, path, resp.StatusCode)
	}
	if body.Status != "success" {
		return &apiError{status: resp.StatusCode, errType: body.ErrorType, detail: body.Error}
	}
	if err := json.Unmarshal(body.Data, v); err != nil {
		return fmt.Errorf("%w: decode %s answer of %s: %v", ErrUnreachable, path, s.base, err)
	}
	return nil
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// checkRun asks Prometheus for the run variable's values
// (label_values(metric, label)) over the day before the range's end and
// fails, naming the runs it knows, when run is not among them.
func (s *source) checkRun(ctx context.Context, metric, label, run string) error {
	var known []string
	q := url.Values{"match[]": {metric}, "start": {promTime(s.start.Add(-24 * time.Hour))}, "end": {promTime(s.end)}}
	if err := s.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", q, &known); err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	if slices.Contains(known, run) {
		return nil
	}
	if len(known) == 0 {
		return fmt.Errorf("%w: %s has no %s series in the day before %s (is it scraping a podmedic learner?)",
			ErrUnknownRun, s.base, metric, s.end.UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: no %s{%s=%q} in the day before %s; runs there: %s", ErrUnknownRun, metric, label, run,
		s.end.UTC().Format(time.RFC3339), strings.Join(known, ", "))
}

// matrix is a range query's result.
type matrix struct {
	ResultType string `json:"resultType"`
	Result     []struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	} `json:"result"`
}

// series is one query result on the step grid.
type series struct {
	name string
	le   float64   // bucket bound of a heatmap-format series
	v    []float64 // one value per step, NaN where Prometheus had none
}

// finite counts the series' values.
func (s *series) finite() int {
	n := 0
	for _, v := range s.v {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			n++
		}
	}
	return n
}

// queryError is a query Prometheus refused or failed to evaluate: the
// panel shows it, the rest of the dashboard is drawn.
type queryError struct {
	refID, expr string
	err         error
}

func (e *queryError) Error() string {
	return fmt.Sprintf("query %s %s: %v", e.refID, e.expr, e.err)
}

// fetch runs one target as a range query. A *queryError is the query's
// fault; any other error is Prometheus's or the network's.
func (s *source) fetch(ctx context.Context, t target) ([]series, error) {
	expr := s.vars.Replace(t.expr)
	q := url.Values{"query": {expr}, "start": {promTime(s.start)}, "end": {promTime(s.end)},
		"step": {strconv.FormatFloat(s.step.Seconds(), 'f', -1, 64)}}
	var m matrix
	if err := s.get(ctx, "/api/v1/query_range", q, &m); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.queryFault() {
			return nil, &queryError{refID: t.refID, expr: expr, err: err}
		}
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	if m.ResultType != "matrix" {
		return nil, &queryError{refID: t.refID, expr: expr, err: fmt.Errorf("result type %q, want matrix", m.ResultType)}
	}
	out := make([]series, 0, len(m.Result))
	for _, ss := range m.Result {
		sr := series{name: legend(t.legend, ss.Metric), v: make([]float64, s.points)}
		for i := range sr.v {
			sr.v[i] = math.NaN()
		}
		for _, p := range ss.Values {
			ts, ok1 := p[0].(float64)
			vs, ok2 := p[1].(string)
			v, err := strconv.ParseFloat(vs, 64)
			if !ok1 || !ok2 || err != nil {
				return nil, fmt.Errorf("%w: malformed sample %v in the answer to %s", ErrUnreachable, p, expr)
			}
			i := int(math.Round((ts - unix(s.start)) / s.step.Seconds()))
			if i >= 0 && i < s.points {
				sr.v[i] = v
			}
		}
		if t.buckets {
			le, err := strconv.ParseFloat(ss.Metric["le"], 64)
			if err != nil {
				return nil, &queryError{refID: t.refID, expr: expr, err: fmt.Errorf("heatmap series %v without a numeric le label", ss.Metric)}
			}
			sr.le = le
		}
		out = append(out, sr)
	}
	if t.buckets {
		out = perBucket(out)
	} else {
		slices.SortStableFunc(out, func(a, b series) int { return strings.Compare(a.name, b.name) })
	}
	return out, nil
}

// perBucket turns cumulative histogram buckets into counts per bucket
// (each bucket minus the one below it), ordered by le, as Grafana does
// for queries in heatmap format.
func perBucket(bs []series) []series {
	slices.SortFunc(bs, func(a, b series) int { return cmpFloat(a.le, b.le) })
	for i := len(bs) - 1; i > 0; i-- {
		for k, v := range bs[i].v {
			if below := bs[i-1].v[k]; !math.IsNaN(v) && !math.IsNaN(below) {
				bs[i].v[k] = max(0, v-below)
			}
		}
	}
	return bs
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// legend fills Grafana's {{label}} placeholders from a series' labels; an
// empty template names the series by its labels.
func legend(tmpl string, m map[string]string) string {
	if tmpl == "" {
		keys := slices.Sorted(maps.Keys(m))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + strconv.Quote(m[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "{{")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.Index(tmpl[i:], "}}")
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		b.WriteString(m[strings.TrimSpace(tmpl[i+2:i+j])])
		tmpl = tmpl[i+j+2:]
	}
}
