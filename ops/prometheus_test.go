package ops_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"podmedic/ops/grafana"
	"podmedic/ops/preview"
)

// testRun is the run name of the training process the test scrapes.
const testRun = "obs"

// mayBeEmpty lists panels whose queries may return no series after a
// minute of training (nothing has to recover in a minute). Every other
// panel must have data.
var mayBeEmpty = map[string]bool{
	"Recovery time":              true,
	"Recovery time distribution": true,
}

// grafanaVars replaces Grafana's template variables with what Grafana
// would send for a 30-minute range at a 5 s scrape interval.
var grafanaVars = strings.NewReplacer(
	"${run}", testRun, "$run", testRun,
	"$__rate_interval", "1m", "$__interval", "15s", "$__range", "5m",
)

// TestRealPrometheus runs a short training and a real Prometheus with the
// shipped scrape config and rules, then evaluates every dashboard query
// and alert expression through Prometheus's HTTP API.
func TestRealPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a training run and Prometheus for about a minute")
	}
	promBin, err1 := exec.LookPath("prometheus")
	promtool, err2 := exec.LookPath("promtool")
	if err1 != nil || err2 != nil {
		t.Skip("prometheus or promtool not found: install Debian's prometheus package (apt-get install -y prometheus)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 170*time.Second)
	defer cancel()

	for _, args := range [][]string{{"check", "config", scrapePath}, {"check", "rules", rulesPath}} {
		if out, err := exec.CommandContext(ctx, promtool, args...).CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "podmedic")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/podmedic")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build podmedic: %v\n%s", err, out)
	}

	trainAddr := freeAddr(t)
	train := startProcess(t, "train", bin, "train", "--steps", "200000000", "--run", testRun,
		"--http", trainAddr, "--out", filepath.Join(tmp, "run"), "--log-level", "warn")
	waitHTTP(ctx, t, "http://"+trainAddr+"/healthz", train)

	promAddr := freeAddr(t)
	cfgPath := writeTestScrapeConfig(t, tmp, trainAddr)
	prom := startProcess(t, "prometheus", promBin, "--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(tmp, "tsdb"), "--web.listen-address="+promAddr, "--log.level=warn")
	waitHTTP(ctx, t, "http://"+promAddr+"/-/ready", prom)
	api := promAPI{base: "http://" + promAddr}

	d := loadDashboard(t)
	panels := queryPanels(d)
	for title := range mayBeEmpty {
		if !hasPanel(panels, title) {
			t.Fatalf("mayBeEmpty names panel %q, which the dashboard does not have", title)
		}
	}

	// Wait until every panel that must have data has it (rates need two
	// scrapes, returns need finished episodes), then evaluate everything.
	for {
		missing, err := missingPanels(ctx, api, panels)
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) == 0 {
			break
		}
		if ctx.Err() != nil || !train.running() || !prom.running() {
			t.Fatalf("panels without data: %q\ntrain output:\n%s\nprometheus output:\n%s", missing, train.out, prom.out)
		}
		time.Sleep(5 * time.Second)
	}

	for _, p := range panels {
		for _, tg := range p.Targets {
			res, err := api.query(ctx, grafanaVars.Replace(tg.Expr))
			if err != nil {
				t.Errorf("panel %q query %s: %v", p.Title, tg.RefID, err)
				continue
			}
			if len(res) == 0 && !mayBeEmpty[p.Title] {
				t.Errorf("panel %q query %s returned no series: %s", p.Title, tg.RefID, tg.Expr)
			}
		}
	}
	checkValues(ctx, t, api)
	checkPreview(ctx, t, api)

	for _, r := range loadRules(t) {
		if _, err := api.query(ctx, r.Expr); err != nil {
			t.Errorf("alert %s: %v", r.Alert, err)
		}
	}
	checkRuleHealth(ctx, t, api)

	// The run variable: label_values(podmedic_learner_policy_version, run).
	res, err := api.query(ctx, "group by (run) (podmedic_learner_policy_version)")
	if err != nil || len(res) != 1 || res[0].Metric["run"] != testRun {
		t.Errorf("run variable values %+v (err %v), want [%s]", res, err, testRun)
	}
}

// checkValues asserts numbers a minute of training must produce.
func checkValues(ctx context.Context, t *testing.T, api promAPI) {
	t.Helper()
	for _, c := range []struct {
		expr     string
		min, max float64
	}{
		{`sum(rate(podmedic_learner_env_steps_consumed_total{run="obs"}[1m]))`, 100, math.Inf(1)},
		{`max(podmedic_learner_policy_version{run="obs"})`, 1, math.Inf(1)},
		{`max(podmedic_learner_actors_connected{run="obs"})`, 2, 2},
		{`podmedic_episode_return_mean{run="obs"}`, -1e6, 1e6},
		{`podmedic_episode_slo_attainment{run="obs"}`, 0, 1},
		{`up{job="podmedic-learner"}`, 1, 1},
	} {
		res, err := api.query(ctx, c.expr)
		if err != nil || len(res) != 1 {
			t.Errorf("%s: %d series, err %v; want one", c.expr, len(res), err)
			continue
		}
		if v := res[0].value(); !(v >= c.min && v <= c.max) {
			t.Errorf("%s = %v, want in [%v, %v]", c.expr, v, c.min, c.max)
		}
	}
}

// corePanels must have data in a preview of a minute of training:
// throughput, return, policy version, lag and rejections (zero, but
// present).
var corePanels = []struct{ row, title string }{
	{"Overview", "Env steps/s"},
	{"Throughput & transport", "Env steps/s"},
	{"Overview", "Return (mean, last 100 episodes)"},
	{"Learning", "Episode return (last 100 episodes)"},
	{"Overview", "Policy version"},
	{"Policy lag", "Learner vs actor weights version"},
	{"Policy lag", "Policy lag of consumed rollouts"},
	{"Actors & rejections", "Rollouts rejected/s by reason"},
}

// checkPreview renders the dashboard definition from the live run's
// range queries, as podmedic dashboard-preview does, and asserts the
// core panels drew data and Prometheus accepted every query.
func checkPreview(ctx context.Context, t *testing.T, api promAPI) {
	t.Helper()
	d, err := grafana.Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep, err := preview.Render(ctx, d, preview.Options{Prometheus: api.base, Run: testRun, Range: 5 * time.Minute}, &buf)
	if err != nil {
		t.Fatalf("render preview: %v", err)
	}
	for _, p := range rep.Failed() {
		t.Errorf("preview panel %s: %v", p.Name(), p.Err)
	}
	for _, c := range corePanels {
		p, ok := rep.Panel(c.row, c.title)
		if !ok {
			t.Errorf("preview has no panel %s / %s", c.row, c.title)
			continue
		}
		if !p.HasData() {
			t.Errorf("preview panel %s drew no data", p.Name())
		}
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("preview is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1800 || b.Dy() < 3000 {
		t.Errorf("preview is %v, want 1800 px wide and the dashboard's height", b)
	}
	t.Logf("preview: %d panels, without data: %q", len(rep.Panels), rep.NoData())
}

// checkRuleHealth asserts Prometheus loaded every shipped rule and
// evaluates each without error.
func checkRuleHealth(ctx context.Context, t *testing.T, api promAPI) {
	t.Helper()
	var body struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name, Health, LastError string
				}
			}
		}
	}
	if err := api.get(ctx, "/api/v1/rules", nil, &body); err != nil {
		t.Fatalf("list rules: %v", err)
	}
	n := 0
	for _, g := range body.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health == "err" {
				t.Errorf("rule %s: %s", r.Name, r.LastError)
			}
		}
	}
	if want := len(loadRules(t)); n != want {
		t.Errorf("Prometheus loaded %d rules, want %d", n, want)
	}
}

func hasPanel(ps []panel, title string) bool {
	for _, p := range ps {
		if p.Title == title {
			return true
		}
	}
	return false
}

// missingPanels returns the panels that must have data and do not yet;
// a query that Prometheus refuses is an error at once.
func missingPanels(ctx context.Context, api promAPI, panels []panel) ([]string, error) {
	var missing []string
	for _, p := range panels {
		for _, tg := range p.Targets {
			res, err := api.query(ctx, grafanaVars.Replace(tg.Expr))
			if err != nil {
				return nil, fmt.Errorf("panel %q query %s: %w", p.Title, tg.RefID, err)
			}
			if len(res) == 0 && !mayBeEmpty[p.Title] {
				missing = append(missing, p.Title)
				break
			}
		}
	}
	return missing, nil
}

// writeTestScrapeConfig rewrites the shipped prometheus.yml for loopback:
// job names, relabelling and rule files stay; the learner job scrapes the
// train process (which serves learner and actor metrics on one /metrics)
// and the actor job, which discovers replicas by DNS in compose, gets no
// targets.
func writeTestScrapeConfig(t *testing.T, dir, trainAddr string) string {
	t.Helper()
	var cfg map[string]any
	readYAML(t, scrapePath, &cfg)
	jobs, _ := cfg["scrape_configs"].([]any)
	names := map[string]bool{}
	for _, j := range jobs {
		job, ok := j.(map[string]any)
		if !ok {
			t.Fatalf("scrape config entry %v is not a mapping", j)
		}
		name, _ := job["job_name"].(string)
		names[name] = true
		delete(job, "dns_sd_configs")
		switch name {
		case "podmedic-learner":
			static, _ := job["static_configs"].([]any)
			if len(static) != 1 {
				t.Fatalf("learner job has %d static configs, want 1", len(static))
			}
			static[0].(map[string]any)["targets"] = []string{trainAddr}
		case "podmedic-actor":
			job["static_configs"] = []any{}
		default:
			t.Fatalf("unexpected scrape job %q", name)
		}
	}
	if !names["podmedic-learner"] || !names["podmedic-actor"] {
		t.Fatalf("scrape jobs %v, want podmedic-learner and podmedic-actor", names)
	}
	rules, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
