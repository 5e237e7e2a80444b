// Package ops holds podmedic's operations files: the Grafana dashboard and
// provisioning (grafana/) and the Prometheus scrape configuration and alert
// rules (prometheus/). It has no code of its own; its tests check the
// dashboard against the metrics the learner and actors export, and run a
// real Prometheus against a live training run to evaluate every dashboard
// query and alert expression.
package ops
