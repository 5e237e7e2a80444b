package actor

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"run": "lint"}, reg))
	m.EnvSteps.Add(1024)
	m.InferenceSeconds.Add(0.5)
	m.EnvSeconds.Add(0.25)
	m.PublishSeconds.Add(0.01)
	m.RolloutsPublished.Inc()
	m.PublishedBytes.Add(4096)
	m.PublishErrors.Inc()
	m.WeightsRejected.Inc()
	m.WeightsVersion.Set(3)
	m.Reconnects.Inc()
	m.Buffered.Set(1)
	m.Member.Set(1)
	m.Joins.Inc()
	m.HellosRefused.WithLabelValues("rate_limited").Inc()
	m.Unanswered.WithLabelValues("weights.latest").Inc()

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
	if len(mfs) != 15 {
		t.Fatalf("gathered %d metric families, want 15", len(mfs))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "podmedic_actor_") {
			t.Errorf("metric %s lacks the podmedic_actor_ prefix", mf.GetName())
		}
	}
	if v := testutil.ToFloat64(m.EnvSteps); v != 1024 {
		t.Errorf("env steps = %v, want 1024", v)
	}
}
