package envsim

import (
	"fmt"
	"math"
	"slices"
)

// Indices of the base features, the first NumBaseFeatures values of every
// observation. Counts are divided by pods.max_replicas; every value is
// clamped to [0, 1].
const (
	// ObsHealthy: healthy pods / max replicas.
	ObsHealthy = iota
	// ObsDegraded: degraded pods (slow, failing, throttled, near the
	// memory limit or not ready) / max replicas.
	ObsDegraded
	// ObsCrashed: crashed pods (back-off or failed node) / max replicas.
	ObsCrashed
	// ObsStarting: starting plus restarting pods / max replicas.
	ObsStarting
	// ObsDrained: drained pods / max replicas.
	ObsDrained
	// ObsReady: pods passing readiness (including drained) / max replicas.
	ObsReady
	// ObsReplicas: live replicas / max replicas.
	ObsReplicas
	// ObsCPUAvg: mean CPU of ready pods / CPU limit (the HPA's metric
	// times limit/request).
	ObsCPUAvg
	// ObsCPUMax: highest CPU of a running pod / CPU limit.
	ObsCPUMax
	// ObsMemoryAvg: mean memory of running pods / memory limit.
	ObsMemoryAvg
	// ObsMemoryMax: highest memory of a running pod / memory limit.
	ObsMemoryMax
	// ObsLatency: p95 latency of all requests / 1000 ms.
	ObsLatency
	// ObsLatencyMax: highest per-pod p95 / 1000 ms.
	ObsLatencyMax
	// ObsErrorRate: fraction of requests that failed.
	ObsErrorRate
	// ObsErrorMax: highest per-pod error rate.
	ObsErrorMax
	// ObsRequestRate: offered load / (max replicas * capacity).
	ObsRequestRate
	// ObsUtilization: offered load / (serving pods * capacity) / 2; 1
	// when nothing serves.
	ObsUtilization
	// ObsTimeSinceFailure: steps since the last crash or fault / 40
	// (10 min).
	ObsTimeSinceFailure
	// ObsPending: starting, restarting and terminating pods / max
	// replicas.
	ObsPending
	// ObsBackoff: longest remaining crash wait / back-off cap (1 for a
	// pod on a failed node).
	ObsBackoff
	// NumBaseFeatures is the number of base features.
	NumBaseFeatures
)

// Per-pod slot features, in per-pod mode only: slot i occupies
// NumBaseFeatures + i*NumPodFeatures + j. Slot i is the i-th live pod in
// slot order, the same pod that per-pod action i acts on.
const (
	// PodFeatPresent: 1 if the slot holds a live pod.
	PodFeatPresent = iota
	// PodFeatReady: 1 if it passes readiness.
	PodFeatReady
	// PodFeatCrashed: 1 if it is crashed.
	PodFeatCrashed
	// PodFeatDrained: 1 if it is drained.
	PodFeatDrained
	// PodFeatCPU: CPU / limit.
	PodFeatCPU
	// PodFeatMemory: memory / limit.
	PodFeatMemory
	// PodFeatLatency: p95 / 1000 ms.
	PodFeatLatency
	// PodFeatErrors: error rate.
	PodFeatErrors
	// NumPodFeatures is the number of features per pod slot.
	NumPodFeatures
)

var baseFeatureNames = [NumBaseFeatures]string{
	"healthy", "degraded", "crashed", "starting", "drained", "ready", "replicas",
	"cpu_avg", "cpu_max", "memory_avg", "memory_max", "latency", "latency_max",
	"error_rate", "error_max", "request_rate", "utilization", "time_since_failure",
	"pending", "backoff",
}

var podFeatureNames = [NumPodFeatures]string{"present", "ready", "crashed", "drained", "cpu", "memory", "latency", "errors"}

// latencyScaleMs normalises latencies in the observation.
const latencyScaleMs = 1000

// failureHorizonSteps normalises the time since the last failure.
const failureHorizonSteps = 40

// ObservationSpec describes the observation vector: base features, then
// per-pod slots (per-pod mode), then the base features of the previous
// HistorySteps steps, most recent first ("t-1.cpu_avg").
type ObservationSpec struct {
	// Size is the vector length.
	Size int
	// Names names every index.
	Names []string
	// PodSlots is the number of per-pod slots (0 in aggregate mode).
	PodSlots int
	// HistorySteps is the number of past steps included.
	HistorySteps int
}

func newObservationSpec(podSlots, history int) ObservationSpec {
	names := append([]string(nil), baseFeatureNames[:]...)
	for i := range podSlots {
		for _, f := range podFeatureNames {
			names = append(names, fmt.Sprintf("pod%d.%s", i, f))
		}
	}
	for h := 1; h <= history; h++ {
		for _, f := range baseFeatureNames {
			names = append(names, fmt.Sprintf("t-%d.%s", h, f))
		}
	}
	return ObservationSpec{Size: len(names), Names: names, PodSlots: podSlots, HistorySteps: history}
}

// Index returns the index of the named feature, or -1.
func (s ObservationSpec) Index(name string) int { return slices.Index(s.Names, name) }

// clamp01 maps v into [0, 1]; NaN becomes 0.
func clamp01(v float64) float32 {
	if !(v > 0) {
		return 0
	}
	if v > 1 {
		return 1
	}
	return float32(v)
}

// buildView lists the live pods in slot order for the per-pod slots.
func (c *Cluster) buildView() {
	c.nView = 0
	for i := range c.pods {
		if c.pods[i].live() && c.nView < c.cfg.Pods.MaxReplicas {
			c.view[c.nView] = int16(i)
			c.nView++
		}
	}
}

// writeObservation writes the observation of the current state into obs
// and shifts the history.
func (c *Cluster) writeObservation(obs []float32) {
	in := &c.info
	pc := &c.cfg.Pods
	m := float64(pc.MaxReplicas)
	var cpuMax, memMax, latMax, errMax float64
	wait := 0
	for i := range c.pods {
		p := &c.pods[i]
		switch p.phase {
		case phaseRunning:
			cpuMax = max(cpuMax, p.cpu)
			memMax = max(memMax, p.mem)
			latMax = max(latMax, p.p95)
			errMax = max(errMax, p.errRate)
		case phaseCrashed:
			wait = max(wait, p.remainingWait())
		}
	}
	b := c.cur[:]
	b[ObsHealthy] = clamp01(float64(in.Healthy) / m)
	b[ObsDegraded] = clamp01(float64(in.Degraded) / m)
	b[ObsCrashed] = clamp01(float64(in.Crashed) / m)
	b[ObsStarting] = clamp01(float64(in.Starting) / m)
	b[ObsDrained] = clamp01(float64(in.Drained) / m)
	b[ObsReady] = clamp01(float64(in.Ready) / m)
	b[ObsReplicas] = clamp01(float64(in.Replicas) / m)
	b[ObsCPUAvg] = clamp01(in.AvgCPU)
	b[ObsCPUMax] = clamp01(cpuMax)
	b[ObsMemoryAvg] = clamp01(in.AvgMemory)
	b[ObsMemoryMax] = clamp01(memMax / pc.MemoryLimitMiB)
	b[ObsLatency] = clamp01(in.LatencyP95Ms / latencyScaleMs)
	b[ObsLatencyMax] = clamp01(latMax / latencyScaleMs)
	b[ObsErrorRate] = clamp01(in.ErrorRate)
	b[ObsErrorMax] = clamp01(errMax)
	b[ObsRequestRate] = clamp01(in.RequestRate / (m * pc.CapacityRPS))
	util := 1.0
	if in.Serving > 0 {
		util = in.RequestRate / (float64(in.Serving) * pc.CapacityRPS) / 2
	}
	b[ObsUtilization] = clamp01(util)
	b[ObsTimeSinceFailure] = clamp01(float64(c.step-c.lastFailure) / failureHorizonSteps)
	b[ObsPending] = clamp01(float64(c.pending) / m)
	if wait == math.MaxInt32 {
		b[ObsBackoff] = 1
	} else {
		b[ObsBackoff] = clamp01(float64(wait) * StepSeconds / pc.BackoffMaxSeconds)
	}
	copy(obs, b)
	off := NumBaseFeatures
	if c.obsSpec.PodSlots > 0 {
		slots := obs[off : off+c.obsSpec.PodSlots*NumPodFeatures]
		clear(slots)
		for v := 0; v < c.nView; v++ {
			p := &c.pods[c.view[v]]
			s := slots[v*NumPodFeatures : (v+1)*NumPodFeatures]
			s[PodFeatPresent] = 1
			if p.ready() {
				s[PodFeatReady] = 1
			}
			if p.phase == phaseCrashed {
				s[PodFeatCrashed] = 1
			}
			if p.drained {
				s[PodFeatDrained] = 1
			}
			s[PodFeatCPU] = clamp01(p.cpu)
			s[PodFeatMemory] = clamp01(p.mem / pc.MemoryLimitMiB)
			s[PodFeatLatency] = clamp01(p.p95 / latencyScaleMs)
			s[PodFeatErrors] = clamp01(p.errRate)
		}
		off += len(slots)
	}
	if k := c.obsSpec.HistorySteps; k > 0 {
		h := c.hist
		if c.fillHist {
			for j := 0; j < k; j++ {
				copy(h[j*NumBaseFeatures:], b)
			}
			c.fillHist = false
		}
		copy(obs[off:], h)
		copy(h[NumBaseFeatures:], h[:len(h)-NumBaseFeatures])
		copy(h[:NumBaseFeatures], b)
	}
}
