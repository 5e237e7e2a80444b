package learner

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the learner's Prometheus metrics, registered on a registry
// of the caller's (never the default one). Names start with podmedic_,
// counters end in _total and durations are in seconds.
type Metrics struct {
	RolloutsReceived prometheus.Counter
	RolloutsRejected *prometheus.CounterVec // by reason
	BytesReceived    prometheus.Counter
	DecodeSeconds    prometheus.Counter
	StepsReceived    prometheus.Counter
	StepsConsumed    prometheus.Counter
	Updates          prometheus.Counter
	UpdatesSkipped   *prometheus.CounterVec // by reason
	UpdateDuration   prometheus.Histogram
	PolicyVersion    prometheus.Gauge
	PolicyLag        prometheus.Histogram
	ActorsConnected  prometheus.Gauge
	ActorsJoined     prometheus.Counter
	ActorsLost       prometheus.Counter
	Checkpoints      prometheus.Counter
	CheckpointErrors prometheus.Counter
	QueueLength      prometheus.Gauge
	PPO              *prometheus.GaugeVec // by stat
	Episodes         *prometheus.CounterVec
	EpisodeReturn    prometheus.Histogram
	ScenarioReturn   *prometheus.GaugeVec   // by scenario
	Actions          *prometheus.CounterVec // by action
	RecoverySteps    prometheus.Histogram
	Window           *EpisodeWindow
}

// NewMetrics builds the learner's metrics and registers them on reg.
// actionNames label the action counter so that every action has a series.
func NewMetrics(reg prometheus.Registerer, actionNames []string) *Metrics {
	m := &Metrics{
		RolloutsReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_rollouts_received_total", Help: "Rollout messages received from actors, valid or not."}),
		RolloutsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_learner_rollouts_rejected_total", Help: "Rollouts rejected or dropped, by reason."}, []string{"reason"}),
		BytesReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_received_bytes_total", Help: "Bytes of rollout messages received."}),
		DecodeSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_decode_seconds_total", Help: "Time spent decoding and validating rollout messages."}),
		StepsReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_env_steps_received_total", Help: "Env steps in valid rollouts received (produced by actors)."}),
		StepsConsumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_env_steps_consumed_total", Help: "Env steps used in PPO updates."}),
		Updates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_updates_total", Help: "PPO updates applied."}),
		UpdatesSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_learner_updates_skipped_total", Help: "PPO updates skipped, by reason (non_finite)."}, []string{"reason"}),
		UpdateDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "podmedic_learner_update_duration_seconds", Help: "Wall time of one PPO update.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		PolicyVersion: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_learner_policy_version", Help: "Current policy version (updates since the start of the run)."}),
		PolicyLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "podmedic_learner_policy_lag_versions", Help: "Policy lag of consumed rollouts: learner version minus the rollout's version.",
			Buckets: []float64{0, 1, 2, 3, 4, 6, 8, 16}}),
		ActorsConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_learner_actors_connected", Help: "Actors seen within the heartbeat timeout."}),
		ActorsJoined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_actors_joined_total", Help: "Actor incarnations that joined."}),
		ActorsLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_actors_lost_total", Help: "Actors dropped after missing heartbeats."}),
		Checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_checkpoints_total", Help: "Checkpoints written."}),
		CheckpointErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_checkpoint_errors_total", Help: "Checkpoints that failed to write."}),
		QueueLength: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_learner_queue_rollouts", Help: "Valid rollouts waiting for the next update."}),
		PPO: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podmedic_learner_ppo", Help: "Diagnostics of the last PPO update, by stat (policy_loss, value_loss, entropy, approx_kl, clip_fraction, explained_variance, grad_norm, learning_rate)."}, []string{"stat"}),
		Episodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_episodes_total", Help: "Episodes finished by actors, by scenario and outcome (truncated, terminated)."}, []string{"scenario", "outcome"}),
		EpisodeReturn: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "podmedic_episode_return", Help: "Undiscounted return of finished episodes.",
			Buckets: prometheus.LinearBuckets(-200, 25, 17)}),
		ScenarioReturn: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podmedic_episode_return_ewma", Help: "Exponentially weighted mean return (weight 0.05 per episode), by scenario; absent until a scenario's first episode ends."}, []string{"scenario"}),
		Actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_actions_total", Help: "Actions taken in finished episodes, by action."}, []string{"action"}),
		RecoverySteps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "podmedic_recovery_steps", Help: "Steps from a fault to full health (all pods healthy, SLO met).",
			Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64}}),
		Window: NewEpisodeWindow(100),
	}
	for _, name := range actionNames {
		m.Actions.WithLabelValues(name)
	}
	for _, r := range []string{"non_finite"} {
		m.UpdatesSkipped.WithLabelValues(r)
	}
	reg.MustRegister(m.RolloutsReceived, m.RolloutsRejected, m.BytesReceived, m.DecodeSeconds, m.StepsReceived,
		m.StepsConsumed, m.Updates, m.UpdatesSkipped, m.UpdateDuration, m.PolicyVersion, m.PolicyLag,
		m.ActorsConnected, m.ActorsJoined, m.ActorsLost, m.Checkpoints, m.CheckpointErrors,
		m.QueueLength, m.PPO, m.Episodes, m.EpisodeReturn, m.ScenarioReturn, m.Actions, m.RecoverySteps, m.Window)
	return m
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
