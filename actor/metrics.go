package actor

import "github.com/prometheus/client_golang/prometheus"

// Metrics are an actor's Prometheus metrics, on a registry of the
// caller's. Several actors in one process (podmedic train) share one set
// registered once; their counters add up.
type Metrics struct {
	EnvSteps          prometheus.Counter
	InferenceSeconds  prometheus.Counter
	EnvSeconds        prometheus.Counter
	PublishSeconds    prometheus.Counter
	RolloutsPublished prometheus.Counter
	PublishedBytes    prometheus.Counter
	PublishErrors     prometheus.Counter
	WeightsRejected   prometheus.Counter
	WeightsVersion    prometheus.Gauge
	Reconnects        prometheus.Counter
	Buffered          prometheus.Gauge
	Member            prometheus.Gauge
	Joins             prometheus.Counter
	HellosRefused     *prometheus.CounterVec // by reason
	Unanswered        *prometheus.CounterVec // by subject
}

// NewMetrics builds the actor metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EnvSteps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_env_steps_total", Help: "Environment steps collected."}),
		InferenceSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_inference_seconds_total", Help: "Time spent in policy inference."}),
		EnvSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_env_seconds_total", Help: "Time spent stepping the simulated environments (with episode bookkeeping)."}),
		PublishSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_publish_seconds_total", Help: "Time spent encoding and publishing rollouts."}),
		RolloutsPublished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_rollouts_published_total", Help: "Rollouts published to the learner."}),
		PublishedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_published_bytes_total", Help: "Bytes of rollouts published."}),
		PublishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_publish_errors_total", Help: "Rollouts that could not be encoded or published."}),
		WeightsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_weights_rejected_total", Help: "Weights messages refused (malformed, wrong shape, bad checksum)."}),
		WeightsVersion: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_actor_weights_version", Help: "Policy version the actor collects with."}),
		Reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_reconnects_total", Help: "Reconnections to NATS."}),
		Buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_actor_buffered_rollouts", Help: "Rollouts published while disconnected, waiting in the reconnect buffer."}),
		Member: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_actor_member", Help: "1 while the learner has accepted the actor as a member of the run (summed over the actors of a process)."}),
		Joins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_actor_joins_total", Help: "Hellos the learner accepted (the first join, and rejoins after a learner restart)."}),
		HellosRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_actor_hellos_refused_total", Help: "Hellos the learner refused, by reason (rate_limited, members_full, shape, ...)."}, []string{"reason"}),
		Unanswered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_actor_requests_unanswered_total", Help: "Requests to the learner without an answer (no learner on the run's subjects, or NATS down), by subject."}, []string{"subject"}),
	}
	reg.MustRegister(m.EnvSteps, m.InferenceSeconds, m.EnvSeconds, m.PublishSeconds, m.RolloutsPublished, m.PublishedBytes,
		m.PublishErrors, m.WeightsRejected, m.WeightsVersion, m.Reconnects, m.Buffered, m.Member, m.Joins,
		m.HellosRefused, m.Unanswered)
	return m
}
