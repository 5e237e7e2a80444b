package envsim

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestTraceCSV(t *testing.T) {
	c, obs := newTestCluster(t, 3, 150, Fault{Kind: FaultPodCrash, Start: 2})
	tr := NewTrace(c, "noop", 1)
	tr.Record(c)
	for _, a := range []int{ActionNoop, ActionScaleUp, ActionNoop} {
		c.Step(a, obs)
		tr.Record(c)
	}
	if len(tr.Steps) != 4 || tr.Steps[2].ActionName != "scale_up" {
		t.Fatalf("steps %d, action %q", len(tr.Steps), tr.Steps[2].ActionName)
	}
	var buf bytes.Buffer
	if err := tr.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || len(rows[0]) != 20+c.NumPodSlots() {
		t.Fatalf("csv shape %dx%d", len(rows), len(rows[0]))
	}
	if rows[3][19] == "" || rows[3][15] != "scale_up" {
		t.Fatalf("row 2 events %q action %q", rows[3][19], rows[3][15])
	}
	if rows[1][20] != "healthy" {
		t.Fatalf("pod0 state %q", rows[1][20])
	}
}
