package grafana

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

const committedPath = "dashboards/podmedic.json"

// TestCommittedJSONIsGenerated fails when dashboards/podmedic.json is not
// exactly what Dashboard generates: someone edited the JSON by hand or
// changed the Go definition without running go generate.
func TestCommittedJSONIsGenerated(t *testing.T) {
	want, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(committedPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the generated dashboard (%s); edit ops/grafana/*.go and run `go generate ./ops/...`",
			committedPath, firstDifference(got, want))
	}
}

// firstDifference names the first line where a and b differ.
func firstDifference(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return fmt.Sprintf("line %d: committed %q, generated %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("committed has %d lines, generated %d", len(la), len(lb))
}

// TestLayout checks the grid Grafana and the preview draw: rows span the
// width, panels lie inside the 24 columns, nothing overlaps, ids are
// unique, and every panel has Prometheus range or instant queries with
// refIds.
func TestLayout(t *testing.T) {
	d, err := Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	type cell struct{ x, y uint32 }
	used := map[cell]string{}
	ids := map[uint32]string{}
	var rows, panels int
	for _, p := range d.Panels {
		var title string
		var gp *dashboard.GridPos
		var id uint32
		switch {
		case p.RowPanel != nil:
			rows++
			title, gp, id = *p.RowPanel.Title, p.RowPanel.GridPos, p.RowPanel.Id
			if gp.X != 0 || gp.W != 24 || gp.H != 1 || p.RowPanel.Collapsed {
				t.Errorf("row %q: gridPos %+v collapsed %v, want a full-width open row", title, *gp, p.RowPanel.Collapsed)
			}
		case p.Panel != nil:
			panels++
			title, gp, id = *p.Panel.Title, p.Panel.GridPos, *p.Panel.Id
			checkTargets(t, title, p.Panel)
			if p.Panel.FieldConfig == nil || p.Panel.FieldConfig.Defaults.Unit == nil && p.Panel.Type != "heatmap" {
				t.Errorf("panel %q has no unit", title)
			}
		default:
			t.Fatal("dashboard entry is neither panel nor row")
		}
		if prev, dup := ids[id]; dup {
			t.Errorf("panels %q and %q share id %d", prev, title, id)
		}
		ids[id] = title
		if gp.W < 1 || gp.H < 1 || gp.X+gp.W > 24 {
			t.Errorf("%q: gridPos %+v outside the 24-column grid", title, *gp)
		}
		for x := gp.X; x < gp.X+gp.W; x++ {
			for y := gp.Y; y < gp.Y+gp.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Fatalf("%q overlaps %q at column %d, row %d", title, other, x, y)
				}
				used[cell{x, y}] = title
			}
		}
	}
	if rows != 8 || panels != 36 {
		t.Errorf("%d rows and %d panels, want 8 and 36", rows, panels)
	}
}

func checkTargets(t *testing.T, title string, p *dashboard.Panel) {
	t.Helper()
	if len(p.Targets) == 0 {
		t.Errorf("panel %q has no queries", title)
	}
	for i, tg := range p.Targets {
		q, ok := PrometheusQuery(tg)
		if !ok {
			t.Errorf("panel %q target %d is %T, want a Prometheus query", title, i, tg)
			continue
		}
		if want := string(rune('A' + i)); q.RefId == nil || *q.RefId != want {
			t.Errorf("panel %q target %d: refId %v, want %s", title, i, q.RefId, want)
		}
		if q.Expr == "" || q.LegendFormat == nil {
			t.Errorf("panel %q target %d: expr %q, legend %v", title, i, q.Expr, q.LegendFormat)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Minute: "30m", 2 * time.Hour: "2h", 45 * time.Second: "45s", 90 * time.Second: "90s"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
