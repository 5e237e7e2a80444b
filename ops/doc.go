// Package ops holds podmedic's operations files and their tests: the
// Grafana dashboard, defined in Go (ops/grafana, generated into
// grafana/dashboards/podmedic.json) with its provisioning, a renderer that
// draws the same dashboard from Prometheus without Grafana (ops/preview),
// and the Prometheus scrape configuration and alert rules (prometheus/).
// The package itself has no code; its tests check the dashboard against
// the metrics the learner and actors export, and run a real Prometheus
// against a live training run to evaluate every dashboard query and alert
// expression and render a preview of the dashboard.
package ops
