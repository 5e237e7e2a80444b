package baseline

import (
	"fmt"
	"math"

	"podmedic/envsim"
)

// HPAConfig configures the Horizontal Pod Autoscaler baseline
// (autoscaling/v2 defaults, REFERENCE.md "HPA").
type HPAConfig struct {
	// TargetUtilization is the target mean CPU relative to the CPU
	// request, in (0, 10] (0.6 = 60%).
	TargetUtilization float64
	// Tolerance: no change while |utilization/target - 1| <= it
	// (default 0.1), in [0, 1).
	Tolerance float64
	// ScaleDownStabilizationSeconds: scale down to the highest
	// recommendation of this window (s, default 300, >= 0).
	ScaleDownStabilizationSeconds float64
	// ScaleUpPods and ScaleUpPercent limit one sync's scale-up to
	// max(+pods, +percent) (defaults 4 and 100).
	ScaleUpPods    int
	ScaleUpPercent float64
}

// DefaultHPAConfig returns Kubernetes' defaults with a 60% CPU target.
func DefaultHPAConfig() HPAConfig {
	return HPAConfig{TargetUtilization: 0.6, Tolerance: 0.1, ScaleDownStabilizationSeconds: 300, ScaleUpPods: 4, ScaleUpPercent: 100}
}

// HPA replays the Kubernetes HPA algorithm once per step (the 15 s sync
// period) on the observation: desired = ceil(ready * util/target) with
// the tolerance; on scale-up, pods that are starting count as 0% and
// crashed pods (no metrics) as 0%; on scale-down, crashed pods count as
// 100% of target; a proposal that flips direction after that correction
// is dropped. Then the scale-down stabilisation window (highest
// recommendation of the last 300 s), the scale-up limit max(+4, x2) per
// sync and [min, max] replicas. It never restarts pods: the simulated
// kubelet already does, with back-off.
type HPA struct {
	cfg        HPAConfig
	minR, maxR int
	reqPerLim  float64 // CPU limit / request: observation CPU -> HPA utilisation
	recs       []int   // ring of raw recommendations, one per step
	n, next    int
}

// NewHPA builds the HPA for spec; it works in both action modes (it uses
// the scale-to actions).
func NewHPA(spec envsim.Spec, cfg HPAConfig) (*HPA, error) {
	if err := checkSpec(spec); err != nil {
		return nil, fmt.Errorf("new hpa: %w", err)
	}
	if !(cfg.TargetUtilization > 0 && cfg.TargetUtilization <= 10) || !(cfg.Tolerance >= 0 && cfg.Tolerance < 1) ||
		!(cfg.ScaleDownStabilizationSeconds >= 0) || cfg.ScaleUpPods < 0 || !(cfg.ScaleUpPercent >= 0) {
		return nil, fmt.Errorf("new hpa: bad config %+v", cfg)
	}
	window := int(math.Ceil(cfg.ScaleDownStabilizationSeconds/envsim.StepSeconds)) + 1
	return &HPA{
		cfg: cfg, minR: spec.Pods.MinReplicas, maxR: spec.Pods.MaxReplicas,
		reqPerLim: spec.Pods.CPULimitCores / spec.Pods.CPURequestCores,
		recs:      make([]int, window),
	}, nil
}

// Name implements policy.Policy.
func (h *HPA) Name() string { return "hpa" }

// Reset implements policy.Policy: it forgets the stabilisation window.
func (h *HPA) Reset() { h.n, h.next = 0, 0 }

// Act implements policy.Policy.
func (h *HPA) Act(obs []float32) int {
	cur, target := h.recommend(obs)
	if target == cur {
		return envsim.ActionNoop
	}
	return envsim.ActionScaleToBase + target - 1
}

// recommend runs one HPA sync on obs and returns the current replica
// count and the HPA's target.
func (h *HPA) recommend(obs []float32) (cur, target int) {
	m := float64(h.maxR)
	count := func(i int) int { return int(float64(obs[i])*m + 0.5) }
	cur, ready := count(envsim.ObsReplicas), count(envsim.ObsReady)
	crashed, starting := count(envsim.ObsCrashed), count(envsim.ObsStarting)
	if cur == 0 {
		return 0, 0
	}
	desired := h.desired(cur, ready, crashed, starting, float64(obs[envsim.ObsCPUAvg])*h.reqPerLim)
	h.recs[h.next] = desired
	h.next = (h.next + 1) % len(h.recs)
	h.n = min(h.n+1, len(h.recs))
	// Stabilisation: scale-up window 0, scale-down window: the highest
	// recommendation within it.
	down := desired
	for i := 0; i < h.n; i++ {
		down = max(down, h.recs[i])
	}
	target = cur
	if target < desired {
		target = desired
	}
	if target > down {
		target = down
	}
	upLimit := max(cur+h.cfg.ScaleUpPods, int(math.Ceil(float64(cur)*(1+h.cfg.ScaleUpPercent/100))))
	target = min(target, upLimit)
	return cur, min(max(target, h.minR), h.maxR)
}

// desired is the replica calculator of the HPA. Like Kubernetes it works
// in whole percent of the CPU request (integer division), which also keeps
// float noise from tipping a ceil.
func (h *HPA) desired(cur, ready, missing, unready int, util float64) int {
	if ready == 0 {
		return cur // no metrics: the HPA does not act
	}
	targetPct := int(math.Round(h.cfg.TargetUtilization * 100))
	utilPct := int(util*100 + 1e-6)
	tol := h.cfg.Tolerance
	ratio := float64(utilPct) / float64(targetPct)
	upWithUnready := unready > 0 && ratio > 1
	if !upWithUnready && missing == 0 {
		if math.Abs(ratio-1) <= tol {
			return cur
		}
		return int(math.Ceil(ratio * float64(ready)))
	}
	sum, n := utilPct*ready, ready
	if missing > 0 {
		if ratio < 1 {
			sum += targetPct * missing
		}
		n += missing
	}
	if upWithUnready {
		n += unready
	}
	newRatio := float64(sum/n) / float64(targetPct)
	if math.Abs(newRatio-1) <= tol || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return cur
	}
	replicas := int(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1 && replicas > cur) || (newRatio > 1 && replicas < cur) {
		return cur
	}
	return replicas
}
