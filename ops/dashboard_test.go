package ops_test

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"podmedic/actor"
	"podmedic/learner"
	"podmedic/ops/grafana"
)

// Shipped files, relative to this package's directory.
const (
	dashboardPath  = "grafana/dashboards/podmedic.json"
	datasourcePath = "grafana/provisioning/datasources/prometheus.yml"
	providerPath   = "grafana/provisioning/dashboards/podmedic.yml"
	scrapePath     = "prometheus/prometheus.yml"
	rulesPath      = "prometheus/rules.yml"
)

// dashboard is the part of a Grafana dashboard JSON the tests read.
type dashboard struct {
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string     `json:"name"`
			Type       string     `json:"type"`
			Datasource datasource `json:"datasource"`
			Definition string     `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource datasource               `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("parse dashboard: %v", err)
	}
	return d
}

// queryPanels returns every panel with queries, rows flattened.
func queryPanels(d dashboard) []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			out = append(out, p)
		}
	}
	walk(d.Panels)
	return out
}

// exportedMetrics returns the names of every series family the learner
// and actor export, histograms expanded to _bucket, _sum and _count.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	lm := learner.NewMetrics(reg, []string{"noop"})
	actor.NewMetrics(reg)
	lm.Window.Add(1, 1, 1, 1)
	lm.ScenarioReturn.WithLabelValues("s").Set(1)
	lm.Episodes.WithLabelValues("s", "truncated").Inc()
	lm.PPO.WithLabelValues("entropy").Set(1)
	lm.RolloutsRejected.WithLabelValues("malformed")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		n := mf.GetName()
		names[n] = true
		if mf.GetType().String() == "HISTOGRAM" {
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		}
	}
	return names
}

var metricName = regexp.MustCompile(`podmedic_[a-z0-9_]+`)

func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t)
	if d.UID != "podmedic" || d.SchemaVersion < 36 {
		t.Errorf("uid %q schemaVersion %d, want podmedic and >= 36", d.UID, d.SchemaVersion)
	}
	if len(d.Templating.List) != 1 {
		t.Fatalf("%d template variables, want 1 (run)", len(d.Templating.List))
	}
	v := d.Templating.List[0]
	if v.Name != "run" || v.Type != "query" || v.Datasource.UID != "prometheus" ||
		v.Definition != "label_values(podmedic_learner_policy_version, run)" {
		t.Errorf("template variable %+v", v)
	}
	var rows []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			rows = append(rows, p.Title)
		}
	}
	wantRows := []string{"Overview", "Learning", "PPO diagnostics", "Throughput & transport", "Policy lag",
		"Behaviour", "Actors & rejections", "Process"}
	if strings.Join(rows, "|") != strings.Join(wantRows, "|") {
		t.Errorf("rows %q, want %q", rows, wantRows)
	}

	exported := exportedMetrics(t)
	ids := map[int]bool{}
	for _, p := range queryPanels(d) {
		if ids[p.ID] {
			t.Errorf("panel %q: duplicate id %d", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Datasource.UID != "prometheus" {
			t.Errorf("panel %q: datasource uid %q, want prometheus", p.Title, p.Datasource.UID)
		}
		if p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H < 1 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for _, tg := range p.Targets {
			names := metricName.FindAllString(tg.Expr, -1)
			for _, n := range names {
				if !exported[n] {
					t.Errorf("panel %q: query uses %s, which neither the learner nor the actor exports", p.Title, n)
				}
			}
			if len(names) > 0 && strings.Count(tg.Expr, `run="$run"`) < len(names) {
				t.Errorf("panel %q: query %q does not select run=\"$run\" on every podmedic metric", p.Title, tg.Expr)
			}
		}
	}
}

func TestRulesUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	var names []string
	for _, r := range loadRules(t) {
		ns := metricName.FindAllString(r.Expr, -1)
		if len(ns) == 0 {
			t.Errorf("alert %s uses no podmedic metric", r.Alert)
		}
		for _, n := range ns {
			if !exported[n] {
				t.Errorf("alert %s uses %s, which is not exported", r.Alert, n)
			}
		}
		names = append(names, r.Alert)
	}
	sort.Strings(names)
	want := []string{"PodmedicActorsLost", "PodmedicNoTrainingProgress", "PodmedicNonFiniteUpdateSkipped",
		"PodmedicPolicyLagHigh", "PodmedicRewardCollapse", "PodmedicRolloutRejectionRateHigh"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("alerts %v, want %v", names, want)
	}
}

// rule is one alerting rule of rules.yml.
type rule struct {
	Alert string `yaml:"alert"`
	Expr  string `yaml:"expr"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	data, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse rules: %v", err)
	}
	var out []rule
	for _, g := range doc.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct {
			Name, Type, UID, URL string
			JSONData             struct {
				TimeInterval string `yaml:"timeInterval"`
			} `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, datasourcePath, &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != grafana.DatasourceUID || ds.Datasources[0].Type != "prometheus" ||
		ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("datasources %+v, want one prometheus datasource, uid %s, url http://prometheus:9090", ds.Datasources, grafana.DatasourceUID)
	}
	// The datasource's timeInterval, the scrape interval and what the
	// dashboard definition (and so the preview) assumes must agree.
	var scrape struct {
		Global struct {
			ScrapeInterval string `yaml:"scrape_interval"`
		} `yaml:"global"`
	}
	readYAML(t, scrapePath, &scrape)
	want := grafana.ScrapeInterval.String()
	if ti, si := ds.Datasources[0].JSONData.TimeInterval, scrape.Global.ScrapeInterval; ti != want || si != want {
		t.Errorf("datasource timeInterval %q, Prometheus scrape_interval %q, want both %q (grafana.ScrapeInterval)", ti, si, want)
	}
	var prov struct {
		Providers []struct {
			Type    string
			Options struct{ Path string }
		} `yaml:"providers"`
	}
	readYAML(t, providerPath, &prov)
	if len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path != "/var/lib/grafana/dashboards" {
		t.Errorf("dashboard providers %+v, want one file provider reading /var/lib/grafana/dashboards", prov.Providers)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}
