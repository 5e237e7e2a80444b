package baseline

import (
	"fmt"
	"math"

	"podmedic/envsim"
)

// RunbookConfig holds the thresholds of the runbook. Fractions are of the
// limits, as in the observation. The defaults were tuned once on the
// training scenarios (seeds outside the evaluation's), see the README.
type RunbookConfig struct {
	// RollbackWindowSteps: a rollout younger than this may be rolled back
	// (steps, >= 0; default 120 = 30 min, long enough for a leak to show).
	RollbackWindowSteps int
	// RollbackErrorRate: roll back when the pods of the current revision
	// fail more than this fraction of their requests, in (0, 1].
	RollbackErrorRate float64
	// RestartAfterRestarts: delete a crash-looping pod once its container
	// restarted this often (>= 0): the back-off is then long.
	RestartAfterRestarts int
	// RestartErrorRate, RestartLatencyMs and RestartMemory: delete the
	// worst pod when one pod's error rate, p95 latency or memory exceeds
	// these while the fleet's CPU is below RestartMaxCPU (so the trouble is
	// the pod, not the load).
	RestartErrorRate float64
	RestartLatencyMs float64
	RestartMemory    float64
	RestartMaxCPU    float64
	// Spare is the number of replicas kept above the HPA's recommendation
	// (>= 0), so that losing one pod does not break the SLO.
	Spare int
	// HPA is the autoscaler the runbook scales with.
	HPA HPAConfig
}

// DefaultRunbookConfig returns the tuned thresholds.
func DefaultRunbookConfig() RunbookConfig {
	return RunbookConfig{
		RollbackWindowSteps: 120, RollbackErrorRate: 0.03, RestartAfterRestarts: 3,
		RestartErrorRate: 0.05, RestartLatencyMs: 600, RestartMemory: 0.9, RestartMaxCPU: 0.7,
		Spare: 1, HPA: DefaultHPAConfig(),
	}
}

// Runbook is what a competent on-call engineer scripts, reading only what
// the cluster shows. In order, the first rule that fires:
//
//  1. roll back when a recent rollout's pods fail requests, crash-loop
//     (a container restarted twice, not one killed container), or leak
//     (OOM-killed, or memory near the limit), unless the current revision
//     is its own rollback;
//  2. delete a pod that crash-loops with a long back-off, or that sits on
//     a NotReady node (its replacement starts at once instead of after the
//     300 s eviction);
//  3. delete the worst pod when one pod fails requests, is slow or nears
//     its memory limit while the fleet is not loaded;
//  4. scale on CPU with the HPA's formula and stabilisation, plus one
//     spare replica;
//  5. else nothing: it never acts on a healthy, right-sized system.
type Runbook struct {
	cfg        RunbookConfig
	maxR, minR int
	reqPerLim  float64
	window     []int // ring of recent replica needs (the HPA's stabilisation)
	n, next    int
	// ownRollout is set while the current revision is the runbook's own
	// rollback, rolledBack right after it asked for one; prevSince is the
	// last since-rollout reading.
	ownRollout, rolledBack bool
	prevSince              float32
}

// NewRunbook builds the runbook for spec; it works in both action modes.
func NewRunbook(spec envsim.Spec, cfg RunbookConfig) (*Runbook, error) {
	if err := checkSpec(spec); err != nil {
		return nil, fmt.Errorf("new runbook: %w", err)
	}
	if cfg.RollbackWindowSteps < 0 || !(cfg.RollbackErrorRate > 0 && cfg.RollbackErrorRate <= 1) ||
		cfg.RestartAfterRestarts < 0 || !(cfg.RestartErrorRate > 0) || !(cfg.RestartLatencyMs > 0) ||
		!(cfg.RestartMemory > 0 && cfg.RestartMemory <= 1) || !(cfg.RestartMaxCPU > 0) || cfg.Spare < 0 {
		return nil, fmt.Errorf("new runbook: bad thresholds %+v", cfg)
	}
	if !(cfg.HPA.TargetUtilization > 0 && cfg.HPA.TargetUtilization <= 10) || !(cfg.HPA.ScaleDownStabilizationSeconds >= 0) {
		return nil, fmt.Errorf("new runbook: bad autoscaling config %+v", cfg.HPA)
	}
	return &Runbook{
		cfg: cfg, maxR: spec.Pods.MaxReplicas, minR: spec.Pods.MinReplicas,
		reqPerLim: spec.Pods.CPULimitCores / spec.Pods.CPURequestCores,
		window:    make([]int, int(math.Ceil(cfg.HPA.ScaleDownStabilizationSeconds/envsim.StepSeconds))+1),
	}, nil
}

// Name implements policy.Policy.
func (r *Runbook) Name() string { return "runbook" }

// Reset implements policy.Policy.
func (r *Runbook) Reset() {
	r.n, r.next = 0, 0
	r.ownRollout, r.rolledBack, r.prevSince = false, false, 1
}

// Act implements policy.Policy.
func (r *Runbook) Act(obs []float32) int {
	m := float64(r.maxR)
	count := func(i int) int { return int(float64(obs[i])*m + 0.5) }
	since := obs[envsim.ObsSinceRollout]
	if since < r.prevSince {
		// A new revision: the runbook's own rollback, or a release.
		r.ownRollout = r.rolledBack
	}
	r.prevSince, r.rolledBack = since, false
	cur := count(envsim.ObsReplicas)
	want := r.scale(obs, count(envsim.ObsReady))
	recent := float64(since)*envsim.RolloutHorizonSteps < float64(r.cfg.RollbackWindowSteps)
	// A bad revision: its pods fail requests, crash-loop (a single killed
	// container is not evidence), or leak: OOM-killed, or near their
	// memory limit, with the new revision on most pods.
	leaking := obs[envsim.ObsUpdated] > 0.5 &&
		(count(envsim.ObsOOMKilled) > 0 || float64(obs[envsim.ObsMemoryMax]) > r.cfg.RestartMemory)
	badRevision := float64(obs[envsim.ObsErrorUpdated]) > r.cfg.RollbackErrorRate ||
		(count(envsim.ObsCrashedUpdated) > 0 && restartCount(obs) >= 2) || leaking
	switch {
	case recent && !r.ownRollout && badRevision:
		r.rolledBack = true
		return envsim.ActionRollback
	case count(envsim.ObsCrashed) > 0 && restartCount(obs) >= r.cfg.RestartAfterRestarts:
		return envsim.ActionRestart
	case obs[envsim.ObsNodesNotReady] > 0 && count(envsim.ObsDegraded) > 0:
		return envsim.ActionRestart
	case float64(obs[envsim.ObsCPUAvg]) < r.cfg.RestartMaxCPU &&
		(float64(obs[envsim.ObsErrorMax]) > r.cfg.RestartErrorRate ||
			float64(obs[envsim.ObsLatencyMax])*1000 > r.cfg.RestartLatencyMs ||
			float64(obs[envsim.ObsMemoryMax]) > r.cfg.RestartMemory):
		return envsim.ActionRestart
	}
	if cur == 0 || want == cur {
		return envsim.ActionNoop
	}
	return envsim.ActionScaleToBase + want - 1
}

// scale returns the replica count the runbook wants: the HPA's formula on
// the fleet's total CPU (ceil(usage / target), so pods that crash do not
// hide load) plus the spare; up at once, down to the highest count of the
// stabilisation window.
func (r *Runbook) scale(obs []float32, ready int) int {
	usage := float64(obs[envsim.ObsCPUAvg]) * r.reqPerLim * float64(ready)
	need := int(math.Ceil(usage/r.cfg.HPA.TargetUtilization-1e-6)) + r.cfg.Spare
	need = min(max(need, r.minR), r.maxR)
	r.window[r.next] = need
	r.next = (r.next + 1) % len(r.window)
	r.n = min(r.n+1, len(r.window))
	want := need
	for i := range r.n {
		want = max(want, r.window[i])
	}
	return want
}
