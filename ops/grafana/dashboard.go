package grafana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

const (
	// UID is the dashboard's uid (its URL is /d/podmedic).
	UID = "podmedic"
	// DatasourceUID is the uid of the Prometheus datasource every panel
	// queries (provisioning/datasources/prometheus.yml).
	DatasourceUID = "prometheus"
	// RunVariable is the template variable every podmedic_* selector
	// filters on: run="$run".
	RunVariable = "run"
	// RunVariableQuery lists the runs Prometheus knows of.
	RunVariableQuery = "label_values(podmedic_learner_policy_version, run)"
	// ScrapeInterval is the Prometheus scrape interval of the shipped
	// config, which the datasource declares as its timeInterval: the
	// smallest $__interval and the base of $__rate_interval.
	ScrapeInterval = 5 * time.Second
	// DefaultRange is the dashboard's time range ending now.
	DefaultRange = 30 * time.Minute
	// schemaVersion is the Grafana dashboard schema the JSON is written
	// in; 39 loads unmigrated in the compose Grafana (11.3) and later.
	schemaVersion = 39
)

// Dashboard returns podmedic's dashboard: one template variable (run),
// eight rows of panels on Grafana's 24-column grid, every panel querying
// the Prometheus datasource. It is the definition that both the JSON file
// and the preview are made from. It fails only if the definition itself
// is broken (a builder reports an error), which the package's tests catch.
func Dashboard() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("podmedic").
		Uid(UID).
		Description("podmedic training: throughput, returns, PPO diagnostics, policy lag, behaviour, actors and processes.").
		Tags([]string{"podmedic"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-"+shortDuration(DefaultRange), "now").
		Timezone("").
		Refresh("10s").
		Version(1).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Annotations & Alerts").
			Datasource(common.DataSourceRef{Type: cog.ToPtr("grafana"), Uid: cog.ToPtr("-- Grafana --")}).
			Enable(true).Hide(true).IconColor("rgba(0, 211, 255, 1)").Type("dashboard").BuiltIn(1)).
		WithVariable(dashboard.NewQueryVariableBuilder(RunVariable).
			Label("Run").
			Datasource(datasource()).
			Query(dashboard.StringOrMap{Map: map[string]any{
				"query": RunVariableQuery, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1,
			}}).
			Definition(RunVariableQuery).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc).
			IncludeAll(false).
			Multi(false))
	for _, r := range rows() {
		b.WithRow(dashboard.NewRowBuilder(r.title))
		for _, p := range r.panels {
			b.WithPanel(p)
		}
	}
	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("build dashboard: %w", err)
	}
	d.SchemaVersion = schemaVersion
	// Panel ids are positions in the dashboard, stable while the order is.
	for i, p := range d.Panels {
		id := uint32(i + 1)
		switch {
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		case p.Panel != nil:
			p.Panel.Id = &id
		}
	}
	return d, nil
}

// JSON returns Dashboard as the indented JSON written to
// dashboards/podmedic.json, with a final newline.
func JSON() ([]byte, error) {
	d, err := Dashboard()
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode dashboard: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return nil, fmt.Errorf("indent dashboard: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// row is one dashboard row and the panels under it, laid out left to
// right and wrapped at 24 columns by the SDK's builder.
type row struct {
	title  string
	panels []cog.Builder[dashboard.Panel]
}

func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(DatasourceUID)}
}

// query is one PromQL expression with Grafana's legend template.
type query struct{ expr, legend string }

// targets turns queries into range queries with refIds A, B, ...
func targets(qs []query) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(qs))
	for i, q := range qs {
		out[i] = prometheus.NewDataqueryBuilder().
			Datasource(datasource()).
			RefId(string(rune('A' + i))).
			Expr(q.expr).
			LegendFormat(q.legend).
			Range()
	}
	return out
}

// shortDuration writes d as Grafana writes relative times: 30m, 6h, 45s.
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return fmt.Sprintf("%ds", d/time.Second)
	}
}

// PrometheusQuery returns a panel target as a Prometheus query: built
// dashboards hold queries as values, unmarshalled ones as pointers.
func PrometheusQuery(v variants.Dataquery) (prometheus.Dataquery, bool) {
	switch q := v.(type) {
	case prometheus.Dataquery:
		return q, true
	case *prometheus.Dataquery:
		if q != nil {
			return *q, true
		}
	}
	return prometheus.Dataquery{}, false
}
