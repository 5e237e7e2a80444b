package learner

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// observeAll gives every learner metric a value, so that vectors export
// series and histograms have observations the linter can see.
func observeAll(m *Metrics) {
	m.RolloutsReceived.Add(3)
	m.RolloutsRejected.WithLabelValues("malformed").Inc()
	m.BytesReceived.Add(1024)
	m.DecodeSeconds.Add(0.01)
	m.StepsReceived.Add(256)
	m.StepsConsumed.Add(256)
	m.Updates.Inc()
	m.UpdatesSkipped.WithLabelValues("non_finite").Inc()
	m.UpdateDuration.Observe(0.2)
	m.PolicyVersion.Set(1)
	m.PolicyLag.Observe(1)
	m.ActorsConnected.Set(2)
	m.ActorsJoined.Inc()
	m.ActorsLeft.Inc()
	m.ActorsLost.Inc()
	m.MessagesRejected.WithLabelValues("hello", "rate_limited").Inc()
	m.Replies.WithLabelValues("weights.latest").Inc()
	m.ReplyBytes.WithLabelValues("weights.latest").Add(1000)
	m.Checkpoints.Inc()
	m.CheckpointErrors.Inc()
	m.CheckpointsKept.Set(3)
	m.CheckpointVersion.Set(10)
	m.CheckpointsRefused.Inc()
	m.SnapshotErrors.Inc()
	m.Fenced.Inc()
	m.QueueLength.Set(1)
	m.PPO.WithLabelValues("policy_loss").Set(0.1)
	m.Episodes.WithLabelValues("pod-kill", "truncated").Inc()
	m.EpisodeReturn.Observe(-12)
	m.ScenarioReturn.WithLabelValues("pod-kill").Set(-12)
	m.Actions.WithLabelValues("noop").Inc()
	m.RecoverySteps.Observe(4)
	m.Window.Add(-12, 200, 0.9, 0.95)
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"run": "lint"}, reg), []string{"noop", "restart"})
	observeAll(m)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) < 25 {
		t.Fatalf("gathered %d metric families, want every learner metric (>= 25)", len(mfs))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "podmedic_") {
			t.Errorf("metric %s lacks the podmedic_ prefix", mf.GetName())
		}
		for _, s := range mf.GetMetric() {
			if !hasLabel(s.GetLabel(), "run", "lint") {
				t.Errorf("metric %s: a series lacks run=\"lint\"", mf.GetName())
			}
		}
	}
}

func hasLabel(labels []*dto.LabelPair, name, value string) bool {
	for _, l := range labels {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// TestEpisodeWindowAbsentBeforeFirstEpisode checks that the return
// gauges have no series (rather than NaN) until an episode ends.
func TestEpisodeWindowAbsentBeforeFirstEpisode(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"run": "r"}, reg), []string{"noop"})
	windowed := []string{"podmedic_episode_return_mean", "podmedic_episode_return_min", "podmedic_episode_return_max",
		"podmedic_episode_length_mean", "podmedic_episode_healthy_fraction", "podmedic_episode_slo_attainment"}
	n, err := testutil.GatherAndCount(reg, windowed...)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d episode-window series before any episode, want none", n)
	}
	if c := testutil.CollectAndCount(m.ScenarioReturn); c != 0 {
		t.Fatalf("%d podmedic_episode_return_ewma series before any episode, want none", c)
	}

	m.Window.Add(-10, 100, 1, 1)
	m.Window.Add(-30, 50, 0.5, 0)
	n, err = testutil.GatherAndCount(reg, windowed...)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(windowed) {
		t.Fatalf("%d episode-window series after two episodes, want %d", n, len(windowed))
	}
	want := `
# HELP podmedic_episode_return_mean Mean return over the last finished episodes.
# TYPE podmedic_episode_return_mean gauge
podmedic_episode_return_mean{run="r"} -20
# HELP podmedic_episode_return_min Lowest return over the last finished episodes.
# TYPE podmedic_episode_return_min gauge
podmedic_episode_return_min{run="r"} -30
# HELP podmedic_episode_length_mean Mean length in steps over the last finished episodes.
# TYPE podmedic_episode_length_mean gauge
podmedic_episode_length_mean{run="r"} 75
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"podmedic_episode_return_mean", "podmedic_episode_return_min", "podmedic_episode_length_mean"); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsPreregisteredSeries checks the label values that exist from
// the start, so that dashboards show zero rather than no data.
func TestMetricsPreregisteredSeries(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg, []string{"noop", "restart", "scale_up"})
	if c := testutil.CollectAndCount(m.Actions); c != 3 {
		t.Errorf("actions: %d series, want one per action (3)", c)
	}
	if c := testutil.CollectAndCount(m.UpdatesSkipped); c != 1 {
		t.Errorf("updates skipped: %d series, want 1 (non_finite)", c)
	}
	if v := testutil.ToFloat64(m.UpdatesSkipped.WithLabelValues("non_finite")); v != 0 {
		t.Errorf("updates skipped non_finite = %v, want 0", v)
	}
}
