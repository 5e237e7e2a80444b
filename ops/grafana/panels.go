package grafana

import (
	"math"
	"strconv"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Grafana unit ids used by the panels.
const (
	unitShort   = "short"       // plain number with SI suffixes (1.2 K)
	unitSeconds = "s"           // seconds
	unitBytes   = "bytes"       // IEC bytes (KiB, MiB)
	unitBps     = "Bps"         // bytes per second (SI: kB/s)
	unitPercent = "percentunit" // a share 0..1 shown as a percentage
)

// rows is the dashboard, top to bottom. Every podmedic_* selector carries
// run="$run"; the metric names are those the learner and actors export
// (ops tests check both), and the alert rules in ops/prometheus use the
// same series.
func rows() []row {
	return []row{
		{"Overview", []cog.Builder[dashboard.Panel]{
			statPanel("Env steps/s", "Env steps consumed by PPO updates per second (1m rate).", 0,
				query{`sum(rate(podmedic_learner_env_steps_consumed_total{run="$run"}[1m]))`, "steps/s"}),
			statPanel("Env steps", "Env steps consumed so far.", 0,
				query{`max(podmedic_learner_env_steps_consumed_total{run="$run"})`, "steps"}),
			statPanel("Policy version", "Current policy version (PPO updates applied).", 0,
				query{`max(podmedic_learner_policy_version{run="$run"})`, "version"}),
			statPanel("Actors", "Actors seen within the heartbeat timeout.", 0,
				query{`max(podmedic_learner_actors_connected{run="$run"})`, "actors"}),
			statPanel("Return (mean, last 100 episodes)", "Mean undiscounted return of the last 100 finished episodes; absent until the first episode ends.", 1,
				query{`max(podmedic_episode_return_mean{run="$run"})`, "return"}),
			statPanel("Scrape targets up", "Scrape targets of the podmedic jobs that answered the last scrape.", 0,
				query{`sum(up{job=~"podmedic-.*"})`, "up"}),
		}},
		{"Learning", []cog.Builder[dashboard.Panel]{
			graph("Episode return (last 100 episodes)", "Mean, min and max return over the last 100 finished episodes. A learning run climbs from the random policy's level and the band narrows.", unitShort, 12,
				query{`podmedic_episode_return_mean{run="$run"}`, "mean"},
				query{`podmedic_episode_return_min{run="$run"}`, "min"},
				query{`podmedic_episode_return_max{run="$run"}`, "max"}),
			graph("Episode length", "Mean episode length in steps over the last 100 episodes. Shorter than the time limit means episodes terminate (the system went down).", unitShort, 12,
				query{`podmedic_episode_length_mean{run="$run"}`, "mean length"}),
			graph("Return by scenario (EWMA)", "Exponentially weighted mean return per scenario.", unitShort, 12,
				query{`podmedic_episode_return_ewma{run="$run"}`, "{{scenario}}"}),
			stacked(graph("Episodes/s by outcome", "Finished episodes per second: truncated (time limit, survived) or terminated (all pods down).", unitShort, 12,
				query{`sum by (outcome) (rate(podmedic_episodes_total{run="$run"}[$__rate_interval]))`, "{{outcome}}"}), common.StackingModeNormal),
		}},
		{"PPO diagnostics", []cog.Builder[dashboard.Panel]{
			graph("Losses", "Policy (clipped surrogate) and value loss of the last update.", unitShort, 8,
				query{`podmedic_learner_ppo{run="$run",stat="policy_loss"}`, "policy loss"},
				query{`podmedic_learner_ppo{run="$run",stat="value_loss"}`, "value loss"}),
			graph("Entropy", "Mean policy entropy (nats). Falls slowly as the policy gets confident; a sudden drop to 0 is collapse.", unitShort, 8,
				query{`podmedic_learner_ppo{run="$run",stat="entropy"}`, "entropy"}),
			graph("Approx KL and clip fraction", "Approximate KL between old and new policy (usually < 0.02) and share of clipped ratios (usually < 0.2).", unitShort, 8,
				query{`podmedic_learner_ppo{run="$run",stat="approx_kl"}`, "approx KL"},
				query{`podmedic_learner_ppo{run="$run",stat="clip_fraction"}`, "clip fraction"}),
			graph("Explained variance", "How much of the return variance the value head explains (1 is perfect, <= 0 is useless).", unitShort, 8,
				query{`podmedic_learner_ppo{run="$run",stat="explained_variance"}`, "explained variance"}).Max(1),
			graph("Gradient norm", "Global gradient norm before clipping (clip at 0.5).", unitShort, 8,
				query{`podmedic_learner_ppo{run="$run",stat="grad_norm"}`, "grad norm"}),
			graph("Learning rate", "Adam learning rate (linear decay).", unitShort, 8,
				query{`podmedic_learner_ppo{run="$run",stat="learning_rate"}`, "learning rate"}),
		}},
		{"Throughput & transport", []cog.Builder[dashboard.Panel]{
			graph("Env steps/s", "Steps produced by actors, received by the learner in valid rollouts, and consumed by PPO updates.", unitShort, 8,
				query{`sum(rate(podmedic_actor_env_steps_total{run="$run"}[$__rate_interval]))`, "produced (actors)"},
				query{`sum(rate(podmedic_learner_env_steps_received_total{run="$run"}[$__rate_interval]))`, "received"},
				query{`sum(rate(podmedic_learner_env_steps_consumed_total{run="$run"}[$__rate_interval]))`, "consumed"}),
			graph("Rollouts/s", "Rollouts published by actors and received by the learner; updates per second.", unitShort, 8,
				query{`sum(rate(podmedic_actor_rollouts_published_total{run="$run"}[$__rate_interval]))`, "published"},
				query{`sum(rate(podmedic_learner_rollouts_received_total{run="$run"}[$__rate_interval]))`, "received"},
				query{`sum(rate(podmedic_learner_updates_total{run="$run"}[$__rate_interval]))`, "updates"}),
			graph("Bytes/s", "Rollout bytes published by actors and received by the learner.", unitBps, 8,
				query{`sum(rate(podmedic_actor_published_bytes_total{run="$run"}[$__rate_interval]))`, "published"},
				query{`sum(rate(podmedic_learner_received_bytes_total{run="$run"}[$__rate_interval]))`, "received"}),
			graph("Update duration", "Wall time of one PPO update, quantiles from the histogram.", unitSeconds, 8,
				quantiles("podmedic_learner_update_duration_seconds_bucket", 0.5, 0.9, 0.99)...),
			stacked(graph("Where the time goes (seconds per second)", "Busy seconds per wall second: actor inference, env stepping, rollout publishing, learner decoding. Summed over actors, so it can exceed 1.", unitSeconds, 8,
				query{`sum(rate(podmedic_actor_inference_seconds_total{run="$run"}[$__rate_interval]))`, "actor inference"},
				query{`sum(rate(podmedic_actor_env_seconds_total{run="$run"}[$__rate_interval]))`, "actor env"},
				query{`sum(rate(podmedic_actor_publish_seconds_total{run="$run"}[$__rate_interval]))`, "actor publish"},
				query{`sum(rate(podmedic_learner_decode_seconds_total{run="$run"}[$__rate_interval]))`, "learner decode"}), common.StackingModeNormal),
			graph("Learner queue", "Valid rollouts waiting for the next update; at capacity, rollouts are dropped as queue_full.", unitShort, 8,
				query{`podmedic_learner_queue_rollouts{run="$run"}`, "queued rollouts"}),
		}},
		{"Policy lag", []cog.Builder[dashboard.Panel]{
			graph("Policy lag of consumed rollouts", "Learner version minus the version a rollout was collected with. 0 in sync mode; small in async mode.", unitShort, 12,
				quantiles("podmedic_learner_policy_lag_versions_bucket", 0.5, 0.9, 0.99)...),
			graph("Learner vs actor weights version", "Policy version of the learner and the oldest and newest versions actors collect with.", unitShort, 12,
				query{`max(podmedic_learner_policy_version{run="$run"})`, "learner"},
				query{`min(podmedic_actor_weights_version{run="$run"})`, "actors (oldest)"},
				query{`max(podmedic_actor_weights_version{run="$run"})`, "actors (newest)"}),
			lagDistribution(),
		}},
		{"Behaviour", []cog.Builder[dashboard.Panel]{
			stacked(graph("Actions/s by action", "Actions taken in finished episodes per second, stacked as shares. A healthy policy mostly waits (noop) and acts when faults hit.", unitPercent, 12,
				query{`sum by (action) (rate(podmedic_actions_total{run="$run"}[$__rate_interval]))`, "{{action}}"}), common.StackingModePercent),
			graph("Recovery time", "Steps (15 s each) from a fault to full health, quantiles over recoveries; empty until something recovers.", unitShort, 12,
				quantiles("podmedic_recovery_steps_bucket", 0.5, 0.9)...),
			recoveryHeatmap(),
			graph("Healthy fraction and SLO attainment", "Share of steps with every pod healthy, and share of steps meeting the SLO, over the last 100 episodes.", unitPercent, 12,
				query{`podmedic_episode_healthy_fraction{run="$run"}`, "healthy fraction"},
				query{`podmedic_episode_slo_attainment{run="$run"}`, "SLO attainment"}).Min(0).Max(1),
		}},
		{"Actors & rejections", []cog.Builder[dashboard.Panel]{
			graph("Actors", "Actors connected; joins and losses (missed heartbeats) per interval.", unitShort, 8,
				query{`max(podmedic_learner_actors_connected{run="$run"})`, "connected"},
				query{`sum(increase(podmedic_learner_actors_joined_total{run="$run"}[$__rate_interval]))`, "joined"},
				query{`sum(increase(podmedic_learner_actors_lost_total{run="$run"}[$__rate_interval]))`, "lost"}),
			graph("Rollouts rejected/s by reason", "Rollouts refused or dropped by the learner, by reason. Zero in a healthy run, except occasional stale_version in async mode.", unitShort, 8,
				query{`sum by (reason) (rate(podmedic_learner_rollouts_rejected_total{run="$run"}[$__rate_interval]))`, "{{reason}}"}),
			graph("Skipped updates and checkpoints", "Updates skipped (non-finite loss), checkpoints written and failed.", unitShort, 8,
				query{`sum by (reason) (increase(podmedic_learner_updates_skipped_total{run="$run"}[$__rate_interval]))`, "skipped {{reason}}"},
				query{`sum(increase(podmedic_learner_checkpoints_total{run="$run"}[$__rate_interval]))`, "checkpoints"},
				query{`sum(increase(podmedic_learner_checkpoint_errors_total{run="$run"}[$__rate_interval]))`, "checkpoint errors"}),
			graph("Actor errors", "Actor-side publish errors, refused weights and NATS reconnections per interval; rollouts waiting in the reconnect buffer.", unitShort, 24,
				query{`sum(increase(podmedic_actor_publish_errors_total{run="$run"}[$__rate_interval]))`, "publish errors"},
				query{`sum(increase(podmedic_actor_weights_rejected_total{run="$run"}[$__rate_interval]))`, "weights rejected"},
				query{`sum(increase(podmedic_actor_reconnects_total{run="$run"}[$__rate_interval]))`, "reconnects"},
				query{`sum(podmedic_actor_buffered_rollouts{run="$run"})`, "buffered rollouts"}),
		}},
		{"Process", []cog.Builder[dashboard.Panel]{
			graph("Resident memory", "Resident set size of each podmedic process. Flat in a healthy run: queues are bounded.", unitBytes, 8,
				query{`process_resident_memory_bytes{job=~"podmedic-.*"}`, "{{job}} {{instance}}"}),
			graph("Go heap in use", "Go heap bytes in use by each podmedic process.", unitBytes, 8,
				query{`go_memstats_heap_inuse_bytes{job=~"podmedic-.*"}`, "{{job}} {{instance}}"}),
			graph("CPU", "CPU cores used by each podmedic process.", unitShort, 8,
				query{`rate(process_cpu_seconds_total{job=~"podmedic-.*"}[$__rate_interval])`, "{{job}} {{instance}}"}),
		}},
	}
}

// quantiles returns histogram_quantile queries over a _bucket series of
// the run, legends p50, p90, ...
func quantiles(bucket string, qs ...float64) []query {
	out := make([]query, len(qs))
	for i, q := range qs {
		out[i] = query{
			expr:   `histogram_quantile(` + strconv.FormatFloat(q, 'f', -1, 64) + `, sum by (le) (rate(` + bucket + `{run="$run"}[$__rate_interval])))`,
			legend: "p" + strconv.Itoa(int(math.Round(q*100))),
		}
	}
	return out
}

// statPanel is a 4×4 single-number panel: the last value of one query,
// with a sparkline of the range.
func statPanel(title, description string, decimals float64, q query) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).Description(description).
		Datasource(datasource()).
		Targets(targets([]query{q})).
		Span(4).Height(4).
		Unit(unitShort).Decimals(decimals).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).
			Steps([]dashboard.Threshold{{Color: "blue"}})).
		ReduceOptions(lastNotNull()).
		ColorMode(common.BigValueColorModeValue).
		GraphMode(common.BigValueGraphModeArea).
		TextMode(common.BigValueTextModeAuto).
		JustifyMode(common.BigValueJustifyModeAuto).
		Orientation(common.VizOrientationAuto)
}

// graph is a time-series panel of the given width (grid columns) and the
// standard height, one line per series.
func graph(title, description, unit string, width uint32, qs ...query) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).Description(description).
		Datasource(datasource()).
		Targets(targets(qs)).
		Span(width).Height(8).
		Unit(unit).
		DrawStyle(common.GraphDrawStyleLine).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: cog.ToPtr(true)}).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderNone))
}

// stacked stacks a graph's series as filled areas.
func stacked(p *timeseries.PanelBuilder, mode common.StackingMode) *timeseries.PanelBuilder {
	return p.FillOpacity(60).Stacking(common.NewStackingConfigBuilder().Mode(mode).Group("A"))
}

// lagDistribution is the full-width bar gauge of consumed rollouts by
// policy lag over the last 5 minutes (cumulative histogram buckets).
func lagDistribution() *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Title("Policy lag distribution (last 5m)").
		Description("Consumed rollouts of the last 5 minutes by policy lag (versions): Grafana turns the cumulative histogram buckets into one bar per bucket.").
		Datasource(datasource()).
		WithTarget(prometheus.NewDataqueryBuilder().
			Datasource(datasource()).
			RefId("A").
			Expr(`sum by (le) (increase(podmedic_learner_policy_lag_versions_bucket{run="$run"}[5m]))`).
			LegendFormat("<= {{le}}").
			Format(prometheus.PromQueryFormatHeatmap).
			Instant()).
		Span(24).Height(6).
		Unit(unitShort).Min(0).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdContinuousBlYlRd)).
		ReduceOptions(lastNotNull()).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		ShowUnfilled(true)
}

// recoveryHeatmap shows recoveries per interval by recovery time, from
// the histogram's buckets as Prometheus stores them (no recalculation).
func recoveryHeatmap() *heatmap.PanelBuilder {
	return heatmap.NewPanelBuilder().
		Title("Recovery time distribution").
		Description("Recoveries per interval by recovery time (steps).").
		Datasource(datasource()).
		WithTarget(prometheus.NewDataqueryBuilder().
			Datasource(datasource()).
			RefId("A").
			Expr(`sum by (le) (increase(podmedic_recovery_steps_bucket{run="$run"}[$__rate_interval]))`).
			LegendFormat("{{le}}").
			Format(prometheus.PromQueryFormatHeatmap).
			Range()).
		Span(12).Height(8).
		Calculate(false).
		YAxis(heatmap.NewYAxisConfigBuilder().AxisPlacement(common.AxisPlacementLeft).Unit(unitShort)).
		CellGap(1).
		Color(heatmap.NewHeatmapColorOptionsBuilder().
			Mode(heatmap.HeatmapColorModeScheme).
			Scheme("Oranges").Steps(64).Exponent(0.5).Fill("dark-orange").
			Scale(heatmap.HeatmapColorScaleExponential).Reverse(false)).
		FilterValues(heatmap.NewFilterValueRangeBuilder().Le(1e-9)).
		RowsFrame(heatmap.NewRowsHeatmapOptionsBuilder().Layout(common.HeatmapCellLayoutAuto)).
		ShowLegend().
		Tooltip(heatmap.NewHeatmapTooltipBuilder().Mode(common.TooltipDisplayModeSingle).YHistogram(false)).
		ExemplarsColor("rgba(255,0,255,0.7)").
		HideFrom(common.NewHideSeriesConfigBuilder().Legend(false).Tooltip(false).Viz(false)).
		ScaleDistribution(common.NewScaleDistributionConfigBuilder().Type(common.ScaleDistributionLinear))
}

func lastNotNull() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("").Values(false)
}
