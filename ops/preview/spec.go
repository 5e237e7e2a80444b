package preview

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	"podmedic/ops/grafana"
)

// ErrDefinition reports a dashboard the preview cannot draw (a panel
// without a grid position, a query that is not PromQL, an unknown panel
// type).
var ErrDefinition = errors.New("preview: unsupported dashboard definition")

// Panel types the preview draws.
const (
	kindTimeSeries = "timeseries"
	kindStat       = "stat"
	kindBarGauge   = "bargauge"
	kindHeatmap    = "heatmap"
)

// panelSpec is what the preview reads of one dashboard panel.
type panelSpec struct {
	row, title, kind string
	unit             string
	decimals         int      // < 0: automatic
	min, max         *float64 // fixed axis bounds, if any
	stacking         common.StackingMode
	fill             float64 // area opacity under lines, 0..1
	grid             dashboard.GridPos
	targets          []target
}

// target is one PromQL query of a panel.
type target struct {
	refID, expr, legend string
	// buckets marks Grafana's heatmap format: series are cumulative
	// histogram buckets by le, shown as per-bucket counts.
	buckets bool
}

// rowSpec is a row header.
type rowSpec struct {
	title string
	y     uint32
}

// layout is the dashboard as the preview draws it.
type layout struct {
	title  string
	rows   []rowSpec
	panels []panelSpec
	height uint32 // grid units
	// runMetric and runLabel come from the run variable's
	// label_values(metric, label) definition ("" without one).
	runMetric, runLabel string
}

var labelValues = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)

// readLayout extracts rows, panels and the run variable from d.
func readLayout(d dashboard.Dashboard) (*layout, error) {
	l := &layout{}
	if d.Title != nil {
		l.title = *d.Title
	}
	for _, v := range d.Templating.List {
		if v.Name != grafana.RunVariable || v.Definition == nil {
			continue
		}
		if m := labelValues.FindStringSubmatch(*v.Definition); m != nil {
			l.runMetric, l.runLabel = m[1], m[2]
		}
	}
	row := ""
	for i, p := range d.Panels {
		switch {
		case p.RowPanel != nil:
			r := p.RowPanel
			if r.GridPos == nil {
				return nil, fmt.Errorf("%w: row %d has no grid position", ErrDefinition, i)
			}
			row = deref(r.Title)
			l.rows = append(l.rows, rowSpec{title: row, y: r.GridPos.Y})
			l.height = max(l.height, r.GridPos.Y+r.GridPos.H)
		case p.Panel != nil:
			ps, err := readPanel(row, p.Panel)
			if err != nil {
				return nil, err
			}
			l.panels = append(l.panels, ps)
			l.height = max(l.height, ps.grid.Y+ps.grid.H)
		}
	}
	if len(l.panels) == 0 {
		return nil, fmt.Errorf("%w: no panels", ErrDefinition)
	}
	return l, nil
}

func readPanel(row string, p *dashboard.Panel) (panelSpec, error) {
	ps := panelSpec{row: row, title: deref(p.Title), kind: p.Type, decimals: -1}
	name := panelKey(row, ps.title)
	switch p.Type {
	case kindTimeSeries, kindStat, kindBarGauge, kindHeatmap:
	default:
		return ps, fmt.Errorf("%w: panel %q has type %q", ErrDefinition, name, p.Type)
	}
	if p.GridPos == nil || p.GridPos.W < 1 || p.GridPos.H < 1 || p.GridPos.X+p.GridPos.W > 24 {
		return ps, fmt.Errorf("%w: panel %q has grid position %+v", ErrDefinition, name, p.GridPos)
	}
	ps.grid = *p.GridPos
	if fc := p.FieldConfig; fc != nil {
		ps.unit = deref(fc.Defaults.Unit)
		if fc.Defaults.Decimals != nil {
			ps.decimals = int(*fc.Defaults.Decimals)
		}
		ps.min, ps.max = fc.Defaults.Min, fc.Defaults.Max
		if g, ok := fc.Defaults.Custom.(*common.GraphFieldConfig); ok && g != nil {
			if g.Stacking != nil && g.Stacking.Mode != nil {
				ps.stacking = *g.Stacking.Mode
			}
			if g.FillOpacity != nil {
				ps.fill = min(1, max(0, *g.FillOpacity/100))
			}
		}
	}
	for i, t := range p.Targets {
		q, ok := grafana.PrometheusQuery(t)
		if !ok {
			return ps, fmt.Errorf("%w: panel %q query %d is %T, not PromQL", ErrDefinition, name, i, t)
		}
		ps.targets = append(ps.targets, target{refID: deref(q.RefId), expr: q.Expr, legend: deref(q.LegendFormat),
			buckets: q.Format != nil && *q.Format == prometheus.PromQueryFormatHeatmap})
	}
	if len(ps.targets) == 0 {
		return ps, fmt.Errorf("%w: panel %q has no queries", ErrDefinition, name)
	}
	return ps, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
