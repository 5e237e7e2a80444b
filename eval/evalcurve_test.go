package eval

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

func TestEvalCurveAppendsPerScenarioMeans(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, EvalCurveFile)
	w, err := OpenEvalCurve(path, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	// Episodes alternate scenarios: a, b, a, b.
	if err := w.Add(10, 1000, 2.5, 1, []float64{1, 3, 2, 4}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A resumed run appends without a second header.
	w, err = OpenEvalCurve(path, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(20, 2000, 5, 0, []float64{5, 5}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f, _ := os.Open(path)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"update", "env_steps", "mean_return", "std_return", "a", "b"},
		{"10", "1000", "2.5", "1", "1.5", "3.5"},
		{"20", "2000", "5", "0", "5", "5"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %v", len(rows), len(want), rows)
	}
	for i := range want {
		for j := range want[i] {
			if rows[i][j] != want[i][j] {
				t.Fatalf("row %d col %d = %q, want %q", i, j, rows[i][j], want[i][j])
			}
		}
	}
	png := filepath.Join(dir, CurveEvalFile)
	if err := WriteEvalCurveChart(path, png); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Fatalf("chart missing or empty: %v", err)
	}
	if err := os.WriteFile(path, []byte("update,env_steps,mean_return\n1,x,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteEvalCurveChart(path, png); err == nil {
		t.Fatal("a malformed curve was drawn")
	}
}
