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
	}
	reg.MustRegister(m.EnvSteps, m.InferenceSeconds, m.EnvSeconds, m.PublishSeconds, m.RolloutsPublished, m.PublishedBytes,
		m.PublishErrors, m.WeightsRejected, m.WeightsVersion, m.Reconnects, m.Buffered)
	return m
}
