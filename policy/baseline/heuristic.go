package baseline

import (
	"fmt"

	"podmedic/envsim"
)

// HeuristicConfig sets the thresholds of the brief's heuristic. CPU and
// memory are fractions of the pod limits, as in the observation.
type HeuristicConfig struct {
	// ScaleUpCPU: scale up when mean CPU is at or above it, in (0, 1].
	ScaleUpCPU float64
	// ScaleDownCPU: scale down when mean CPU is at or below it and nothing
	// is pending, in [0, ScaleUpCPU).
	ScaleDownCPU float64
	// RestartAfterRestarts: restart (delete) a crashed pod only once its
	// container has restarted this many times (>= 0): the kubelet's
	// back-off is then long (10 s doubling: 40 s after 3), while shorter
	// waits end sooner on their own than a replacement pod starts.
	RestartAfterRestarts int
	// RestartMemory: restart the worst pod when some pod's memory reaches
	// this fraction of its limit, before the OOM kill, in (0, 1].
	RestartMemory float64
}

// DefaultHeuristicConfig returns the default thresholds.
func DefaultHeuristicConfig() HeuristicConfig {
	return HeuristicConfig{ScaleUpCPU: 0.75, ScaleDownCPU: 0.35, RestartAfterRestarts: 3, RestartMemory: 0.9}
}

// Heuristic is the product brief's rule: restart on failure, scale up on
// high CPU, down on low CPU. In order: restart when a crashed pod has
// restarted often (a long back-off) or a pod nears its memory limit; scale
// up on high mean CPU
// (unless pods are still starting and CPU is below 0.9); scale down on low
// mean CPU; else nothing.
type Heuristic struct {
	cfg        HeuristicConfig
	minR, maxR int
}

// NewHeuristic builds the heuristic for spec; it works in both action
// modes (it uses the aggregate actions).
func NewHeuristic(spec envsim.Spec, cfg HeuristicConfig) (*Heuristic, error) {
	if err := checkSpec(spec); err != nil {
		return nil, fmt.Errorf("new heuristic: %w", err)
	}
	if !(cfg.ScaleUpCPU > 0 && cfg.ScaleUpCPU <= 1) || !(cfg.ScaleDownCPU >= 0 && cfg.ScaleDownCPU < cfg.ScaleUpCPU) ||
		cfg.RestartAfterRestarts < 0 || !(cfg.RestartMemory > 0 && cfg.RestartMemory <= 1) {
		return nil, fmt.Errorf("new heuristic: bad thresholds %+v", cfg)
	}
	return &Heuristic{cfg: cfg, minR: spec.Pods.MinReplicas, maxR: spec.Pods.MaxReplicas}, nil
}

// Name implements policy.Policy.
func (h *Heuristic) Name() string { return "heuristic" }

// Reset implements policy.Policy.
func (h *Heuristic) Reset() {}

// Act implements policy.Policy.
func (h *Heuristic) Act(obs []float32) int {
	m := float64(h.maxR)
	replicas := int(float64(obs[envsim.ObsReplicas])*m + 0.5)
	cpu := float64(obs[envsim.ObsCPUAvg])
	pending := obs[envsim.ObsPending] > 0
	switch {
	case obs[envsim.ObsCrashed] > 0 && restartCount(obs) >= h.cfg.RestartAfterRestarts:
		return envsim.ActionRestart
	case float64(obs[envsim.ObsMemoryMax]) >= h.cfg.RestartMemory:
		return envsim.ActionRestart
	case cpu >= h.cfg.ScaleUpCPU && replicas < h.maxR && (!pending || cpu >= 0.9):
		return envsim.ActionScaleUp
	case cpu <= h.cfg.ScaleDownCPU && replicas > h.minR && !pending && obs[envsim.ObsCrashed] == 0:
		return envsim.ActionScaleDown
	}
	return envsim.ActionNoop
}

// restartCount reads the highest container restart count from the
// observation.
func restartCount(obs []float32) int {
	return int(float64(obs[envsim.ObsRestarts])*envsim.RestartScale + 0.5)
}
