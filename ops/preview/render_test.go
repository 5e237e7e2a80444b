package preview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/text"

	"podmedic/ops/grafana"
)

// fakeProm answers the two API calls the preview makes, like Prometheus
// would for a run "obs": label values, and range queries whose answers
// depend on the query: recovery series are absent (nothing recovered),
// the grad-norm query is refused as bad PromQL, histogram buckets come
// cumulative by le, everything else is one ramp per series.
type fakeProm struct {
	mu      sync.Mutex
	queries []string
	steps   []string
	runs    []string
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/v1/label/run/values":
		if r.URL.Query().Get("match[]") != "podmedic_learner_policy_version" {
			http.Error(w, "unexpected match", http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": f.runs})
	case "/api/v1/query_range":
		q := r.URL.Query()
		f.mu.Lock()
		f.queries = append(f.queries, q.Get("query"))
		f.steps = append(f.steps, q.Get("step"))
		f.mu.Unlock()
		start, err1 := strconv.ParseFloat(q.Get("start"), 64)
		end, err2 := strconv.ParseFloat(q.Get("end"), 64)
		step, err3 := strconv.ParseFloat(q.Get("step"), 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "errorType": "bad_data", "error": err.Error()})
			return
		}
		expr := q.Get("query")
		switch {
		case strings.Contains(expr, "grad_norm"):
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "errorType": "bad_data",
				"error": "1:10: parse error: unexpected identifier"})
		case strings.Contains(expr, "podmedic_recovery_steps"):
			writeJSON(w, http.StatusOK, matrixBody(nil))
		case strings.Contains(expr, "_bucket") && !strings.Contains(expr, "histogram_quantile"):
			var ss []map[string]any
			for i, le := range []string{"+Inf", "1", "0"} { // unordered, cumulative counts 4, 3, 1
				ss = append(ss, fakeSeries(map[string]string{"le": le}, start, end, step, func(int) float64 { return []float64{4, 3, 1}[i] }))
			}
			writeJSON(w, http.StatusOK, matrixBody(ss))
		default:
			ss := []map[string]any{fakeSeries(map[string]string{"scenario": "b"}, start, end, step, func(k int) float64 { return float64(k) }),
				fakeSeries(map[string]string{"scenario": "a"}, start, end, step, func(k int) float64 { return 2 * float64(k) })}
			writeJSON(w, http.StatusOK, matrixBody(ss))
		}
	default:
		http.NotFound(w, r)
	}
}

func fakeSeries(labels map[string]string, start, end, step float64, f func(int) float64) map[string]any {
	var vals [][2]any
	for k, ts := 0, start; ts <= end; k, ts = k+1, ts+step {
		vals = append(vals, [2]any{ts, strconv.FormatFloat(f(k), 'f', -1, 64)})
	}
	return map[string]any{"metric": labels, "values": vals}
}

func matrixBody(ss []map[string]any) map[string]any {
	if ss == nil {
		ss = []map[string]any{}
	}
	return map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": ss}}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the test client reads it
}

func newFake(t *testing.T, runs ...string) (*fakeProm, string) {
	t.Helper()
	f := &fakeProm{runs: runs}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func podmedicDashboard(t *testing.T) dashboard.Dashboard {
	t.Helper()
	d, err := grafana.Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRenderDashboard renders the real dashboard definition from the fake
// and checks the report, the queries sent and where things are drawn.
func TestRenderDashboard(t *testing.T) {
	f, url := newFake(t, "obs", "other")
	end := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	var buf bytes.Buffer
	rep, err := Render(context.Background(), podmedicDashboard(t), Options{Prometheus: url, Run: "obs", End: end}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Panels) != 36 || !rep.Start.Equal(end.Add(-30*time.Minute)) || !rep.End.Equal(end) || rep.Step != 10*time.Second {
		t.Fatalf("report: %d panels, %v to %v step %v; want 36, the 30 minutes before %v, step 10s", len(rep.Panels), rep.Start, rep.End, rep.Step, end)
	}
	wantNoData := []string{"PPO diagnostics / Gradient norm", "Behaviour / Recovery time", "Behaviour / Recovery time distribution"}
	if got := rep.NoData(); !slices.Equal(got, wantNoData) {
		t.Errorf("no data: %q, want %q", got, wantNoData)
	}
	failed := rep.Failed()
	if len(failed) != 1 || failed[0].Name() != "PPO diagnostics / Gradient norm" || !strings.Contains(failed[0].Err.Error(), "parse error") {
		t.Errorf("failed panels %+v, want the gradient norm's refused query", failed)
	}
	// 181 points per series: 30 minutes at 10 s, both ends included.
	if p, ok := rep.Panel("Learning", "Episode return (last 100 episodes)"); !ok || p.Series != 6 || p.Points != 6*181 {
		t.Errorf("episode return panel %+v, want 6 series of 181 points (3 queries x 2 series)", p)
	}

	f.mu.Lock()
	queries, steps := slices.Clone(f.queries), slices.Clone(f.steps)
	f.mu.Unlock()
	if len(queries) != 63 {
		t.Errorf("%d range queries, want one per target (63)", len(queries))
	}
	for i, q := range queries {
		if strings.Contains(q, "$") {
			t.Errorf("query with an unreplaced variable: %s", q)
		}
		if strings.Contains(q, "podmedic_") && !strings.Contains(q, `run="obs"`) {
			t.Errorf("query without run=\"obs\": %s", q)
		}
		if steps[i] != "10" {
			t.Errorf("step %q, want 10", steps[i])
		}
	}
	// $__rate_interval at a 10 s step: max(10s + 5s, 4 x 5s) = 20s.
	if !slices.Contains(queries, `sum by (outcome) (rate(podmedic_episodes_total{run="obs"}[20s]))`) {
		t.Errorf("episodes query not sent with [20s]: %q", queries)
	}

	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("output is not a PNG: %v", err)
	}
	// The header, 114 grid units of 30 px, 8 px margin.
	if b := img.Bounds(); b.Dx() != 1800 || b.Dy() != headerPx+114*30+8 {
		t.Fatalf("image %v, want 1800x%d", b, headerPx+114*30+8)
	}
	d := podmedicDashboard(t)
	// A panel with data has lines in the palette's colours; the panel
	// without data and the gaps between panels have none.
	if n := colourful(img, panelRect(t, d, "Episode return (last 100 episodes)")); n < 500 {
		t.Errorf("episode return panel: %d coloured pixels, want its lines (>= 500)", n)
	}
	if n := colourful(img, panelRect(t, d, "Recovery time")); n != 0 {
		t.Errorf("recovery time panel (no data): %d coloured pixels, want 0", n)
	}
	if n := colourful(img, panelRect(t, d, "Recovery time distribution")); n != 0 {
		t.Errorf("recovery heatmap (no data): %d coloured pixels, want 0", n)
	}
	if n := colourful(img, panelRect(t, d, "Policy lag distribution (last 5m)")); n < 200 {
		t.Errorf("lag bar gauge: %d coloured pixels, want its bars", n)
	}
	gap := image.Rect(12*75-3, headerPx+6*30+20, 12*75+3, headerPx+14*30-20) // between the first two Learning panels
	if n := colourful(img, gap); n != 0 {
		t.Errorf("gap between panels has %d coloured pixels", n)
	}
}

// panelRect is where the renderer must draw the panel titled title: its
// grid cell at 75 px per column and 30 px per row under the header, less
// the padding.
func panelRect(t *testing.T, d dashboard.Dashboard, title string) image.Rectangle {
	t.Helper()
	for _, p := range d.Panels {
		if p.Panel != nil && p.Panel.Title != nil && *p.Panel.Title == title {
			g := p.Panel.GridPos
			return image.Rect(int(g.X)*75+6, headerPx+int(g.Y)*30+6, int(g.X+g.W)*75-6, headerPx+int(g.Y+g.H)*30-6)
		}
	}
	t.Fatalf("no panel %q", title)
	return image.Rectangle{}
}

// colourful counts saturated pixels in r: series colours, not the
// white, grey and black of frames, grids and text.
func colourful(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			hi := max(cr, cg, cb) >> 8
			lo := min(cr, cg, cb) >> 8
			if hi-lo > 60 {
				n++
			}
		}
	}
	return n
}

func TestRenderErrors(t *testing.T) {
	_, url := newFake(t, "obs", "other")
	_, empty := newFake(t)
	notProm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "<html>podmedic learner</html>")
	}))
	defer notProm.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	tests := []struct {
		name   string
		opts   Options
		want   error
		inText string
	}{
		{"no scheme", Options{Prometheus: "localhost:9090", Run: "obs"}, ErrBadURL, "http://host:port"},
		{"ftp", Options{Prometheus: "ftp://prom:21", Run: "obs"}, ErrBadURL, "ftp://prom:21"},
		{"no host", Options{Prometheus: "http://", Run: "obs"}, ErrBadURL, "http://host:port"},
		{"query in URL", Options{Prometheus: url + "?x=1", Run: "obs"}, ErrBadURL, "no query"},
		{"unreachable", Options{Prometheus: closed, Run: "obs"}, ErrUnreachable, "connection refused"},
		{"not Prometheus", Options{Prometheus: notProm.URL, Run: "obs"}, ErrUnreachable, "is this Prometheus's address?"},
		{"unknown run", Options{Prometheus: url, Run: "nope"}, ErrUnknownRun, "runs there: obs, other"},
		{"no runs at all", Options{Prometheus: empty, Run: "obs"}, ErrUnknownRun, "has no podmedic_learner_policy_version series"},
		{"no run", Options{Prometheus: url}, ErrOptions, "no run"},
		{"range too short", Options{Prometheus: url, Run: "obs", Range: 10 * time.Second}, ErrOptions, "range 10s"},
		{"width too small", Options{Prometheus: url, Run: "obs", Width: 100}, ErrOptions, "width 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Render(context.Background(), podmedicDashboard(t), tc.opts, &buf)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.inText) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.want, tc.inText)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}

// TestRenderOtherDashboards: the renderer draws any dashboard of the
// panel kinds it knows and refuses what it cannot draw.
func TestRenderOtherDashboards(t *testing.T) {
	_, url := newFake(t, "obs")
	small, err := dashboard.NewDashboardBuilder("small").
		WithRow(dashboard.NewRowBuilder("Only row")).
		WithPanel(stat.NewPanelBuilder().Title("Version").Span(24).Height(4).Unit("short").
			Targets(targets(`max(podmedic_learner_policy_version{run="$run"})`))).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep, err := Render(context.Background(), small, Options{Prometheus: url, Run: "obs", Width: 900}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// Half the width scales every size by half: header, 5 units of 15 px, 4 px margin.
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != headerPx/2+5*15+4 || len(rep.Panels) != 1 || !rep.Panels[0].HasData() {
		t.Errorf("image %v, report %+v; want 900x%d with one panel with data", b, rep.Panels, headerPx/2+5*15+4)
	}

	withText, err := dashboard.NewDashboardBuilder("text").
		WithPanel(text.NewPanelBuilder().Title("Notes").Content("hello")).Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(context.Background(), withText, Options{Prometheus: url, Run: "obs"}, &buf); !errors.Is(err, ErrDefinition) ||
		!strings.Contains(err.Error(), `"text"`) {
		t.Errorf("text panel: err = %v, want ErrDefinition naming the type", err)
	}
}

func targets(exprs ...string) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(exprs))
	for i, e := range exprs {
		out[i] = prometheus.NewDataqueryBuilder().RefId(string(rune('A' + i))).Expr(e).Range()
	}
	return out
}

func TestPerBucketAndStack(t *testing.T) {
	nan := math.NaN()
	bs := perBucket([]series{
		{le: math.Inf(1), v: []float64{10, 7, nan}},
		{le: 1, v: []float64{4, 7, 2}},
		{le: 0.5, v: []float64{1, 6, 2}},
	})
	want := [][]float64{{1, 6, 2}, {3, 1, 0}, {6, 0, nan}}
	for i := range want {
		for k := range want[i] {
			if g, w := bs[i].v[k], want[i][k]; g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Fatalf("per-bucket counts %v, want %v", [][]float64{bs[0].v, bs[1].v, bs[2].v}, want)
			}
		}
	}
	st := stack([][]float64{{1, nan, nan}, {3, 2, nan}}, false)
	if st[0][0] != 1 || st[1][0] != 4 || st[0][1] != 0 || st[1][1] != 2 || !math.IsNaN(st[1][2]) {
		t.Errorf("stacked %v", st)
	}
	pc := stack([][]float64{{1, 0}, {3, 0}}, true)
	if pc[0][0] != 0.25 || pc[1][0] != 1 || pc[1][1] != 0 {
		t.Errorf("percent-stacked %v", pc)
	}
}

func TestLegendAndVariables(t *testing.T) {
	m := map[string]string{"job": "podmedic-learner", "instance": "h:1", "le": "0.5"}
	for tmpl, want := range map[string]string{
		"{{job}} {{instance}}": "podmedic-learner h:1", "<= {{ le }}": "<= 0.5", "p50": "p50",
		"{{missing}}x": "x", "": `{instance="h:1", job="podmedic-learner", le="0.5"}`, "{{open": "{{open",
	} {
		if got := legend(tmpl, m); got != want {
			t.Errorf("legend(%q) = %q, want %q", tmpl, got, want)
		}
	}
	r := templateVars(`a"b\c`, 10*time.Second, 30*time.Minute)
	if got := r.Replace(`x{run="$run",r="${run}"}[$__rate_interval] $__interval $__range $__interval_ms`); got !=
		`x{run="a\"b\\c",r="a\"b\\c"}[20s] 10s 1800s 10000` {
		t.Errorf("replaced %s", got)
	}
	for rng, want := range map[time.Duration]time.Duration{
		2 * time.Minute: 5 * time.Second, 30 * time.Minute: 10 * time.Second, 3 * time.Hour: time.Minute, 24 * time.Hour: 5 * time.Minute,
	} {
		if got := stepFor(rng); got != want {
			t.Errorf("stepFor(%v) = %v, want %v", rng, got, want)
		}
	}
}

// TestRenderCancelled: an interrupted render reports the cancellation,
// not an unreachable Prometheus.
func TestRenderCancelled(t *testing.T) {
	_, url := newFake(t, "obs")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if _, err := Render(ctx, podmedicDashboard(t), Options{Prometheus: url, Run: "obs"}, &buf); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
