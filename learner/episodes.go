package learner

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"podmedic/protocol"
)

// Episode metrics: every episode summary of a valid rollout is booked when
// it arrives (what actors produced), whether or not an update consumes the
// rollout. The hooks (hooks.go) report what updates consumed.

// recordEpisode books one episode summary in the metrics and the window.
func (s *Service) recordEpisode(e *protocol.EpisodeSummary) {
	outcome := "truncated"
	if e.Terminated {
		outcome = "terminated"
	}
	s.metrics.Episodes.WithLabelValues(e.Scenario, outcome).Inc()
	s.metrics.EpisodeReturn.Observe(e.Return)
	s.recordScenarioReturn(e.Scenario, e.Return)
	for a, n := range e.ActionCounts {
		if a < len(s.spec.ActionNames) && n > 0 {
			s.metrics.Actions.WithLabelValues(s.spec.ActionNames[a]).Add(float64(n))
		}
	}
	for _, rs := range e.RecoverySteps {
		s.metrics.RecoverySteps.Observe(float64(rs))
	}
	healthy, slo := 0.0, 0.0
	if e.Length > 0 {
		healthy = e.HealthyFraction
		slo = float64(e.SLOSteps) / float64(e.Length)
	}
	s.metrics.Window.Add(e.Return, float64(e.Length), healthy, slo)
}

// recordScenarioReturn updates the per-scenario moving average of returns.
// Scenario names come from actors: beyond maxScenarioSeries distinct names
// they are folded into "other" to bound label cardinality.
func (s *Service) recordScenarioReturn(scenario string, ret float64) {
	const alpha, maxScenarioSeries = 0.05, 64
	if scenario == "" {
		scenario = "unknown"
	}
	mean, ok := s.scenarioMeans[scenario]
	if !ok && len(s.scenarioMeans) >= maxScenarioSeries {
		scenario = "other"
		mean, ok = s.scenarioMeans[scenario]
	}
	if ok {
		mean += alpha * (ret - mean)
	} else {
		mean = ret
	}
	s.scenarioMeans[scenario] = mean
	s.metrics.ScenarioReturn.WithLabelValues(scenario).Set(mean)
}

// EpisodeWindow summarises the last N finished episodes. It is a
// prometheus.Collector that exports nothing until the first episode ends,
// so dashboards never show NaN.
type EpisodeWindow struct {
	mu      sync.Mutex
	returns []float64
	lengths []float64
	healthy []float64
	slo     []float64
	next    int
	full    bool

	meanDesc, minDesc, maxDesc, lenDesc, healthyDesc, sloDesc *prometheus.Desc
}

// NewEpisodeWindow keeps the last n episodes.
func NewEpisodeWindow(n int) *EpisodeWindow {
	return &EpisodeWindow{
		returns: make([]float64, n), lengths: make([]float64, n),
		healthy: make([]float64, n), slo: make([]float64, n),
		meanDesc:    prometheus.NewDesc("podmedic_episode_return_mean", "Mean return over the last finished episodes.", nil, nil),
		minDesc:     prometheus.NewDesc("podmedic_episode_return_min", "Lowest return over the last finished episodes.", nil, nil),
		maxDesc:     prometheus.NewDesc("podmedic_episode_return_max", "Highest return over the last finished episodes.", nil, nil),
		lenDesc:     prometheus.NewDesc("podmedic_episode_length_mean", "Mean length in steps over the last finished episodes.", nil, nil),
		healthyDesc: prometheus.NewDesc("podmedic_episode_healthy_fraction", "Mean share of steps with every pod healthy over the last finished episodes.", nil, nil),
		sloDesc:     prometheus.NewDesc("podmedic_episode_slo_attainment", "Mean share of steps meeting the SLO over the last finished episodes.", nil, nil),
	}
}

// Add records one finished episode.
func (w *EpisodeWindow) Add(ret, length, healthyFrac, sloFrac float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.returns[w.next], w.lengths[w.next] = ret, length
	w.healthy[w.next], w.slo[w.next] = healthyFrac, sloFrac
	w.next++
	if w.next == len(w.returns) {
		w.next, w.full = 0, true
	}
}

// WindowStats summarises an EpisodeWindow.
type WindowStats struct {
	N                       int
	Mean, Min, Max, MeanLen float64
	MeanHealthy, MeanSLO    float64
}

// Stats returns the summary; N is 0 before the first episode.
func (w *EpisodeWindow) Stats() WindowStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.next
	if w.full {
		n = len(w.returns)
	}
	s := WindowStats{N: n}
	if n == 0 {
		return s
	}
	s.Min, s.Max = w.returns[0], w.returns[0]
	for i := 0; i < n; i++ {
		r := w.returns[i]
		s.Mean += r
		s.MeanLen += w.lengths[i]
		s.MeanHealthy += w.healthy[i]
		s.MeanSLO += w.slo[i]
		s.Min = min(s.Min, r)
		s.Max = max(s.Max, r)
	}
	f := float64(n)
	s.Mean, s.MeanLen, s.MeanHealthy, s.MeanSLO = s.Mean/f, s.MeanLen/f, s.MeanHealthy/f, s.MeanSLO/f
	return s
}

// Describe implements prometheus.Collector.
func (w *EpisodeWindow) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{w.meanDesc, w.minDesc, w.maxDesc, w.lenDesc, w.healthyDesc, w.sloDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector; it emits nothing before the
// first episode has finished.
func (w *EpisodeWindow) Collect(ch chan<- prometheus.Metric) {
	s := w.Stats()
	if s.N == 0 {
		return
	}
	for _, p := range []struct {
		d *prometheus.Desc
		v float64
	}{{w.meanDesc, s.Mean}, {w.minDesc, s.Min}, {w.maxDesc, s.Max}, {w.lenDesc, s.MeanLen}, {w.healthyDesc, s.MeanHealthy}, {w.sloDesc, s.MeanSLO}} {
		ch <- prometheus.MustNewConstMetric(p.d, prometheus.GaugeValue, p.v)
	}
}
