package learner

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the learner's Prometheus metrics, registered on a registry
// of the caller's (never the default one). Names start with podmedic_,
// counters end in _total and durations are in seconds.
type Metrics struct {
	RolloutsReceived   prometheus.Counter
	RolloutsRejected   *prometheus.CounterVec // by reason
	BytesReceived      prometheus.Counter
	DecodeSeconds      prometheus.Counter
	StepsReceived      prometheus.Counter
	StepsConsumed      prometheus.Counter
	Updates            prometheus.Counter
	UpdatesSkipped     *prometheus.CounterVec // by reason
	UpdateDuration     prometheus.Histogram
	PolicyVersion      prometheus.Gauge
	PolicyLag          prometheus.Histogram
	ActorsConnected    prometheus.Gauge
	ActorsJoined       prometheus.Counter
	ActorsLeft         prometheus.Counter
	ActorsLost         prometheus.Counter
	MessagesRejected   *prometheus.CounterVec // by subject and reason
	Replies            *prometheus.CounterVec // by subject
	ReplyBytes         *prometheus.CounterVec // by subject
	Checkpoints        prometheus.Counter
	CheckpointErrors   prometheus.Counter
	CheckpointsKept    prometheus.Gauge
	CheckpointVersion  prometheus.Gauge
	CheckpointsRefused prometheus.Counter
	SnapshotErrors     prometheus.Counter
	Fenced             prometheus.Counter
	QueueLength        prometheus.Gauge
	PPO                *prometheus.GaugeVec // by stat
	Episodes           *prometheus.CounterVec
	EpisodeReturn      prometheus.Histogram
	ScenarioReturn     *prometheus.GaugeVec   // by scenario
	Actions            *prometheus.CounterVec // by action
	RecoverySteps      prometheus.Histogram
	Window             *EpisodeWindow
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
			Name: "podmedic_learner_actors_connected", Help: "Members of the run: actors whose hello was accepted, that have not said goodbye nor missed their heartbeats."}),
		ActorsJoined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_actors_joined_total", Help: "Actor incarnations admitted by a hello."}),
		ActorsLeft: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_actors_left_total", Help: "Members that left with a goodbye."}),
		ActorsLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_actors_lost_total", Help: "Members dropped after missing heartbeats for the heartbeat timeout."}),
		MessagesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_learner_messages_rejected_total", Help: "Hellos, heartbeats, goodbyes and latest requests refused or left unanswered, by subject and reason (rollouts: podmedic_learner_rollouts_rejected_total)."}, []string{"subject", "reason"}),
		Replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_learner_replies_total", Help: "Replies sent, by subject."}, []string{"subject"}),
		ReplyBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_learner_reply_bytes_total", Help: "Bytes of replies sent, by subject."}, []string{"subject"}),
		Checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_checkpoints_total", Help: "Checkpoints written and verified (read back and decoded)."}),
		CheckpointErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_checkpoint_errors_total", Help: "Checkpoints that failed to write or verify; the previous ones stay."}),
		CheckpointsKept: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_learner_checkpoints_kept", Help: "Valid checkpoints in the store after the last pruning."}),
		CheckpointVersion: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_learner_checkpoint_version", Help: "Policy version of the newest checkpoint written and verified (or resumed from); the policy version minus it is what a crash now would lose."}),
		CheckpointsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_checkpoints_refused_total", Help: "Corrupt or foreign checkpoints found and moved aside (*.corrupt)."}),
		SnapshotErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_snapshot_errors_total", Help: "Policy snapshots that failed to write."}),
		Fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_broadcasts_fenced_total", Help: "Weights broadcasts not sent because the learner no longer held its lease (or, under a lease, was not connected to NATS)."}),
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
		m.ActorsConnected, m.ActorsJoined, m.ActorsLeft, m.ActorsLost, m.MessagesRejected, m.Replies, m.ReplyBytes,
		m.Checkpoints, m.CheckpointErrors, m.CheckpointsKept, m.CheckpointVersion, m.CheckpointsRefused, m.SnapshotErrors,
		m.Fenced, m.QueueLength, m.PPO, m.Episodes, m.EpisodeReturn, m.ScenarioReturn, m.Actions, m.RecoverySteps, m.Window)
	return m
}
