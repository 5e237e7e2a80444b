package envsim

import (
	"math"
	"testing"
)

func TestRestartTakesThreeToFiveSteps(t *testing.T) {
	seen := map[int]bool{}
	for seed := uint64(0); seed < 40; seed++ {
		c, obs := newTestCluster(t, 3, 150)
		c.Reset(seed, obs)
		c.pods[1].notReady = true // degraded: a restart target
		c.Step(ActionRestart, obs)
		in := c.Info()
		if in.Invalid != ValidAction || in.TargetPod != 1 {
			t.Fatalf("restart: invalid=%v target=%d, want valid on pod 1", in.Invalid, in.TargetPod)
		}
		if c.pods[1].phase != phaseRestarting || c.pods[1].serving() {
			t.Fatalf("pod 1 phase %v serving %v, want restarting and unavailable", c.pods[1].phase, c.pods[1].serving())
		}
		n := 1 + stepUntil(t, c, obs, 10, func() bool { return c.pods[1].phase == phaseRunning })
		// Ready at the end of step n: unavailable during steps 1..n-1.
		if n-1 < 3 || n-1 > 5 {
			t.Fatalf("seed %d: restart took %d steps, want 3-5", seed, n-1)
		}
		seen[n-1] = true
		if c.pods[1].notReady {
			t.Fatal("restart did not clear the readiness fault")
		}
	}
	if len(seen) != 3 {
		t.Errorf("restart durations seen %v, want all of 3, 4, 5", seen)
	}
}

func TestScaleUpReadyAfterTwoToFourSteps(t *testing.T) {
	seen := map[int]bool{}
	for seed := uint64(0); seed < 40; seed++ {
		c, obs := newTestCluster(t, 3, 150)
		c.Reset(seed, obs)
		c.Step(ActionScaleUp, obs)
		if got := c.Info().Replicas; got != 4 {
			t.Fatalf("replicas after scale-up = %d, want 4", got)
		}
		if got := c.Info().Serving; got != 3 {
			t.Fatalf("serving right after scale-up = %d, want 3", got)
		}
		n := 1 + stepUntil(t, c, obs, 10, func() bool { return c.Info().Serving == 4 })
		if n-1 < 2 || n-1 > 4 {
			t.Fatalf("seed %d: new replica ready after %d steps, want 2-4", seed, n-1)
		}
		seen[n-1] = true
	}
	if len(seen) != 3 {
		t.Errorf("start-up durations seen %v, want all of 2, 3, 4", seen)
	}
}

func TestMemoryLeakEndsInOOMKillAtLimit(t *testing.T) {
	c, obs := newTestCluster(t, 3, 150, Fault{Kind: FaultMemoryLeak, Start: 1, Magnitude: 30})
	limit := c.cfg.Pods.MemoryLimitMiB
	var victim = -1
	prevMem := 0.0
	for step := 1; step <= 40; step++ {
		c.Step(ActionNoop, obs)
		in := c.Info()
		for _, e := range in.Events {
			if e.Kind == EventFaultStarted {
				victim = e.Pod
			}
			if e.Kind == EventOOMKilled {
				if e.Pod != victim {
					t.Fatalf("OOM kill hit pod %d, leak was on pod %d", e.Pod, victim)
				}
				if prevMem < 0.85*limit {
					t.Fatalf("OOM kill at %.0f MiB, expected near the %.0f MiB limit", prevMem, limit)
				}
				if c.pods[victim].phase != phaseCrashed {
					t.Fatal("OOM-killed pod is not in CrashLoopBackOff")
				}
				return
			}
		}
		if victim >= 0 {
			m := c.pods[victim].mem
			if m >= limit {
				t.Fatalf("memory %.0f above limit without a kill", m)
			}
			if m < prevMem {
				t.Fatalf("leaking pod's memory fell from %.0f to %.0f", prevMem, m)
			}
			prevMem = m
		}
	}
	t.Fatal("no OOM kill within 40 steps")
}

func TestOperatorRestartStopsLeak(t *testing.T) {
	c, obs := newTestCluster(t, 3, 150, Fault{Kind: FaultMemoryLeak, Start: 1, Magnitude: 30})
	for range 5 {
		c.Step(ActionNoop, obs)
	}
	// Leaking pod is now the one with the highest memory; restart it
	// explicitly through the worst-pod rule by marking it degraded.
	if c.nActive != 1 {
		t.Fatalf("active faults = %d, want 1", c.nActive)
	}
	slot := int(c.active[0].slot[0])
	c.pods[slot].degraded = true
	c.Step(ActionRestart, obs)
	if c.Info().TargetPod != slot {
		t.Fatalf("restart hit pod %d, want leaking pod %d", c.Info().TargetPod, slot)
	}
	ended := false
	for _, e := range c.Info().Events {
		ended = ended || (e.Kind == EventFaultEnded && e.Remedied && e.Fault == FaultMemoryLeak)
	}
	for range 60 {
		c.Step(ActionNoop, obs)
		if c.Info().HasEvent(EventOOMKilled) {
			t.Fatal("OOM kill after the leaking pod was restarted")
		}
		for _, e := range c.Info().Events {
			ended = ended || (e.Kind == EventFaultEnded && e.Remedied)
		}
	}
	if !ended {
		t.Error("no remedied fault-ended event")
	}
}

func TestCrashLoopBackOffDoubles(t *testing.T) {
	c, obs := newTestCluster(t, 3, 100)
	c.pods[0].crashLoop = true
	want := []int{1, 2, 3, 6, 11, 20, 20} // ceil(10,20,40,80,160,300,300 s / 15 s)
	c.crash(0, crashLoop)
	for k, w := range want {
		if got := c.pods[0].timer; got != w {
			t.Fatalf("crash %d: back-off %d steps, want %d", k+1, got, w)
		}
		// Wait the back-off out, then the container restart (1-2 steps),
		// whose start crashes again because of the crash-loop.
		waited := stepUntil(t, c, obs, 40, func() bool { return c.pods[0].phase == phaseStarting })
		if waited != w {
			t.Fatalf("crash %d: kubelet restarted after %d steps, want %d", k+1, waited, w)
		}
		stepUntil(t, c, obs, 5, func() bool { return c.pods[0].phase == phaseCrashed })
	}
	// An operator restart resets the back-off.
	c.pods[0].crashLoop = false
	c.Step(ActionRestart, obs)
	if c.pods[0].phase != phaseRestarting || c.pods[0].backoff != c.cfg.Pods.BackoffInitialSeconds {
		t.Fatalf("after operator restart: phase %v backoff %v, want restarting with %v s", c.pods[0].phase, c.pods[0].backoff, c.cfg.Pods.BackoffInitialSeconds)
	}
}

func TestCascadeWhenOneOfThreeDiesAtHighLoad(t *testing.T) {
	tests := []struct {
		name        string
		rps         float64
		wantCascade bool
	}{
		{name: "high load cascades", rps: 240, wantCascade: true}, // 0.8 -> 1.2 per survivor
		{name: "low load absorbs", rps: 150, wantCascade: false},  // 0.5 -> 0.75
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, obs := newTestCluster(t, 3, tt.rps)
			c.crash(0, crashKilled)
			overloadKills := 0
			allDown := false
			for range 6 {
				c.Step(ActionNoop, obs)
				for _, e := range c.Info().Events {
					if e.Kind == EventOverloadKilled {
						overloadKills++
					}
				}
				allDown = allDown || c.Info().Serving == 0
			}
			if tt.wantCascade && (overloadKills < 2 || !allDown) {
				t.Fatalf("overload kills %d, all down %v; want both survivors killed", overloadKills, allDown)
			}
			if !tt.wantCascade && overloadKills > 0 {
				t.Fatalf("overload kills %d at low load, want 0", overloadKills)
			}
		})
	}
}

func TestDrainMovesLoad(t *testing.T) {
	c, obs := newTestCluster(t, 4, 200, Fault{Kind: FaultNetworkLoss, Start: 1, Magnitude: 0.5})
	c.Step(ActionNoop, obs)
	c.Step(ActionNoop, obs)
	slot := int(c.active[0].slot[0])
	errBefore := c.Info().ErrorRate
	if !c.pods[slot].degraded {
		t.Fatal("lossy pod not degraded")
	}
	c.Step(ActionDrain, obs)
	if c.Info().TargetPod != slot || !c.pods[slot].drained {
		t.Fatalf("drain hit pod %d, want lossy pod %d", c.Info().TargetPod, slot)
	}
	for range 5 {
		c.Step(ActionNoop, obs)
	}
	if c.pods[slot].rps != 0 {
		t.Fatalf("drained pod still serves %.1f req/s", c.pods[slot].rps)
	}
	for i := range c.pods {
		if p := &c.pods[i]; p.serving() && math.Abs(p.rps-200.0/3) > 1e-9 {
			t.Fatalf("pod %d serves %.2f req/s, want 200/3", i, p.rps)
		}
	}
	if after := c.Info().ErrorRate; !(after < errBefore/5) {
		t.Fatalf("error rate %.4f after drain, was %.4f; want a large drop", after, errBefore)
	}
	if got := obs[ObsDrained]; got != 0.1 {
		t.Fatalf("observation drained = %v, want 0.1", got)
	}
	c.Step(ActionUndrain, obs)
	if c.pods[slot].drained || c.Info().Invalid != ValidAction {
		t.Fatal("undrain did not return the pod")
	}
}

func TestInvalidActionsDoNothing(t *testing.T) {
	tests := []struct {
		name     string
		replicas int
		action   int
		want     InvalidReason
	}{
		{"scale down at min", 1, ActionScaleDown, InvalidAtMinReplicas},
		{"scale up at max", 10, ActionScaleUp, InvalidAtMaxReplicas},
		{"restart with nothing to restart", 3, ActionRestart, InvalidNothingToRestart},
		{"drain with nothing degraded", 3, ActionDrain, InvalidNothingToDrain},
		{"undrain with nothing drained", 3, ActionUndrain, InvalidNothingDrained},
		{"scale to current", 3, ActionScaleToBase + 2, InvalidAlreadyAtTarget},
		{"negative action", 3, -1, InvalidOutOfRange},
		{"action past the end", 3, 1 << 20, InvalidOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, obs := newTestCluster(t, tt.replicas, 50*float64(tt.replicas))
			r, _, _ := c.Step(tt.action, obs)
			in := c.Info()
			if in.Invalid != tt.want {
				t.Fatalf("invalid reason %v, want %v", in.Invalid, tt.want)
			}
			if in.Replicas != tt.replicas || in.Healthy != tt.replicas {
				t.Fatalf("replicas %d healthy %d, want %d unchanged", in.Replicas, in.Healthy, tt.replicas)
			}
			if !in.HasEvent(EventActionInvalid) || in.Components[RewardInvalid] >= 0 {
				t.Fatalf("invalid action not reported: events %v, component %v", in.Events, in.Components[RewardInvalid])
			}
			if math.IsNaN(r) {
				t.Fatal("NaN reward")
			}
		})
	}
}

func TestDrainRefusesLastServingPod(t *testing.T) {
	c, obs := newTestCluster(t, 1, 50)
	c.pods[0].degraded = true
	c.Step(ActionDrain, obs)
	if c.Info().Invalid != InvalidLastServingPod {
		t.Fatalf("invalid %v, want %v", c.Info().Invalid, InvalidLastServingPod)
	}
}

func TestTerminationVersusTruncation(t *testing.T) {
	t.Run("truncated at the time limit", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.EpisodeSteps = 7
		cfg.Scenario = quietScenario(200)
		c, _ := New(cfg)
		obs := make([]float32, c.ObservationSize())
		c.Reset(3, obs)
		for i := 1; i <= 7; i++ {
			_, term, trunc := c.Step(ActionNoop, obs)
			if term {
				t.Fatal("terminated without a failure")
			}
			if trunc != (i == 7) {
				t.Fatalf("step %d: truncated=%v", i, trunc)
			}
		}
	})
	t.Run("terminated when every pod is crashed", func(t *testing.T) {
		c, obs := newTestCluster(t, 2, 100)
		c.pods[0].backoff, c.pods[1].backoff = 300, 300
		c.crash(0, crashKilled)
		c.crash(1, crashKilled)
		_, term, trunc := c.Step(ActionNoop, obs)
		if !term || trunc {
			t.Fatalf("terminated=%v truncated=%v, want true, false", term, trunc)
		}
		if c.Info().Components[RewardAllDown] >= 0 {
			t.Fatal("no all-down penalty")
		}
	})
	t.Run("a starting pod keeps the episode alive", func(t *testing.T) {
		c, obs := newTestCluster(t, 2, 100)
		c.crash(0, crashKilled)
		c.crash(1, crashKilled)
		_, term, _ := c.Step(ActionScaleUp, obs)
		if term {
			t.Fatal("terminated although a new replica is starting")
		}
	})
}

func TestNodeFailureRecoversAfterEvictionOrRestart(t *testing.T) {
	c, obs := newTestCluster(t, 6, 300, Fault{Kind: FaultNodeFailure, Start: 1, Duration: 20, Pods: 2})
	c.Step(ActionNoop, obs)
	if got := c.Info().Crashed; got != 2 {
		t.Fatalf("crashed after node failure = %d, want 2", got)
	}
	// Restart one node-down pod: the worst-pod rule picks a node-down pod.
	c.Step(ActionRestart, obs)
	if tp := c.Info().TargetPod; tp < 0 || c.pods[tp].phase != phaseRestarting {
		t.Fatalf("restart target %d not restarting", tp)
	}
	for range 6 {
		c.Step(ActionNoop, obs)
	}
	if got := c.Info().Crashed; got != 1 {
		t.Fatalf("crashed after restarting one = %d, want 1 (the other waits for eviction)", got)
	}
	n := stepUntil(t, c, obs, 30, func() bool { return c.Info().Crashed == 0 })
	if n+8 < 20 {
		t.Fatalf("node-down pod came back after %d steps, before the 20-step eviction", n+8)
	}
}

func TestBadConfigSurvivesRestartButNotScaleDown(t *testing.T) {
	c, obs := newTestCluster(t, 4, 200, Fault{Kind: FaultBadConfig, Start: 1})
	c.Step(ActionNoop, obs)
	slot := int(c.active[0].slot[0])
	uid := c.pods[slot].uid
	stepUntil(t, c, obs, 5, func() bool { return c.pods[slot].phase == phaseCrashed })
	c.Step(ActionRestart, obs)
	if c.pods[slot].uid == uid || c.pods[slot].badErr == 0 {
		t.Fatal("a restarted bad-config pod lost its bad config")
	}
	stepUntil(t, c, obs, 20, func() bool { return c.pods[slot].phase == phaseCrashed })
	c.Step(ActionScaleDown, obs)
	if c.pods[slot].phase != phaseTerminating {
		t.Fatalf("scale-down removed another pod; bad pod phase %v", c.pods[slot].phase)
	}
	c.Step(ActionNoop, obs)
	if c.nActive != 0 {
		t.Fatalf("%d faults still active after the bad pod was removed", c.nActive)
	}
}
