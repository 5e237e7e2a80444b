// Package preview draws podmedic's Grafana dashboard without Grafana: it
// reads the dashboard definition (podmedic/ops/grafana), runs every
// panel's PromQL as a range query against a Prometheus HTTP API, and
// draws the panels with gonum/plot where the dashboard's 24-column grid
// puts them, with their titles, units and legends, in one PNG headed as a
// preview. It is what `podmedic dashboard-preview` runs and what the
// real-Prometheus test checks a live training run with.
//
// It draws what the dashboard uses: time series (lines, or stacked areas
// when the panel stacks), stats (last value over a sparkline), bar gauges
// (last value per series) and heatmaps of histogram buckets. It reads
// Prometheus and writes the image; it changes nothing anywhere.
package preview
