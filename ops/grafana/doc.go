// Package grafana defines podmedic's Grafana dashboard as Go code, built
// with Grafana's foundation SDK (github.com/grafana/grafana-foundation-sdk).
// Dashboard is the one definition of the dashboard: `go generate ./ops/...`
// writes it as dashboards/podmedic.json, which Grafana provisions (compose
// mounts dashboards/ and provisioning/), and the preview renderer
// (podmedic/ops/preview, `podmedic dashboard-preview`) draws the same
// panels from Prometheus without Grafana. A test fails when the committed
// JSON differs from what Dashboard generates, so edit the Go code, never
// the JSON.
//
// The package only builds values: it performs no I/O (the generator in
// gen/ writes the file).
package grafana

//go:generate go run ./gen -out dashboards/podmedic.json
