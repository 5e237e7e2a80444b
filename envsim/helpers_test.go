package envsim

import "testing"

// quietScenario is constant load without noise or faults.
func quietScenario(rps float64, faults ...Fault) Scenario {
	return Scenario{
		Name: "quiet",
		Workload: Workload{
			BaseRPS: rps, DailyPeriodSteps: 100, SpikeMultiplier: 1, SpikeSteps: 1,
		},
		Faults: faults,
	}
}

// newTestCluster builds and resets a cluster with replicas pods under a
// quiet scenario of rps.
func newTestCluster(t testing.TB, replicas int, rps float64, faults ...Fault) (*Cluster, []float32) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Pods.InitialReplicas = replicas
	cfg.Scenario = quietScenario(rps, faults...)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float32, c.ObservationSize())
	c.Reset(1, obs)
	return c, obs
}

// stepUntil steps with noop until cond holds, returning the number of
// steps, or fails after limit steps.
func stepUntil(t testing.TB, c *Cluster, obs []float32, limit int, cond func() bool) int {
	t.Helper()
	for n := 1; n <= limit; n++ {
		c.Step(ActionNoop, obs)
		if cond() {
			return n
		}
	}
	t.Fatalf("condition not met within %d steps", limit)
	return 0
}

func countPhase(c *Cluster, ph phase) int {
	n := 0
	for i := range c.pods {
		if c.pods[i].phase == ph {
			n++
		}
	}
	return n
}
