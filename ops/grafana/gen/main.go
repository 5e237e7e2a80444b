// Command gen writes podmedic's Grafana dashboard (package
// podmedic/ops/grafana) as JSON: `go generate ./ops/...` runs it to
// refresh ops/grafana/dashboards/podmedic.json.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"podmedic/ops/grafana"
)

func main() {
	out := flag.String("out", "dashboards/podmedic.json", "file to write")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

// write replaces path with the dashboard JSON through a temporary file in
// the same directory, so a failed run never leaves half a dashboard.
func write(path string) error {
	data, err := grafana.JSON()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".podmedic-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
