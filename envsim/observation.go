package envsim

import (
	"fmt"
	"slices"
)

// Indices of the base features, the first NumBaseFeatures values of every
// observation. Each is something a real cluster exposes (kube-state-metrics,
// metrics-server, the service's own request metrics); the README's
// observation table gives the query for each. Counts are divided by
// pods.max_replicas; every value is clamped to [0, 1]. Pods on a failed
// node show as they were until the node is marked NotReady, and then as
// not ready (degraded).
const (
	// ObsHealthy: ready pods within every per-pod threshold / max replicas.
	ObsHealthy = iota
	// ObsDegraded: running pods that fail readiness or a per-pod
	// threshold (slow, failing, throttled, near the memory limit) / max
	// replicas.
	ObsDegraded
	// ObsCrashed: pods whose container waits in CrashLoopBackOff / max
	// replicas.
	ObsCrashed
	// ObsStarting: pods Pending or warming up / max replicas.
	ObsStarting
	// ObsDrained: pods with the readiness gate set to false / max replicas.
	ObsDrained
	// ObsReady: ready pods / max replicas.
	ObsReady
	// ObsReplicas: the Deployment's spec.replicas / max replicas.
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
	// ObsUtilization: offered load / (ready pods * capacity) / 2; 1 when
	// nothing is ready.
	ObsUtilization
	// ObsSinceSymptom: steps since the last step with a visible symptom
	// (StepInfo.Symptom) / 40 (10 min).
	ObsSinceSymptom
	// ObsPending: starting and terminating pods / max replicas.
	ObsPending
	// ObsRestarts: the highest container restart count of a live pod / 6
	// (six restarts reach the 300 s back-off cap).
	ObsRestarts
	// ObsOOMKilled: live pods whose last termination was OOMKilled / max
	// replicas.
	ObsOOMKilled
	// ObsNodesNotReady: nodes marked NotReady / nodes.
	ObsNodesNotReady
	// ObsSinceRollout: steps since the current revision was rolled out
	// (its ReplicaSet's creation or a rollback) / 120 (30 min).
	ObsSinceRollout
	// ObsUpdated: live pods of the current revision / live pods.
	ObsUpdated
	// ObsErrorUpdated: mean error rate of the serving pods of the current
	// revision (0 if none serves).
	ObsErrorUpdated
	// ObsCrashedUpdated: crashed pods of the current revision / max
	// replicas.
	ObsCrashedUpdated
	// NumBaseFeatures is the number of base features.
	NumBaseFeatures
)

// Per-pod slot features, in per-pod mode only: slot i occupies
// NumBaseFeatures + i*NumPodFeatures + j. A pod keeps its slot from
// creation until it is deleted, as a pod keeps its name; per-pod action i
// acts on the pod in slot i.
const (
	// PodFeatPresent: 1 if the slot holds a live pod.
	PodFeatPresent = iota
	// PodFeatReady: 1 if it is ready.
	PodFeatReady
	// PodFeatCrashed: 1 if its container waits in CrashLoopBackOff.
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
	// PodFeatRestarts: container restarts / 6.
	PodFeatRestarts
	// PodFeatUpdated: 1 if it runs the current revision.
	PodFeatUpdated
	// PodFeatNodeNotReady: 1 if its node is NotReady.
	PodFeatNodeNotReady
	// PodFeatStarting: 1 if it is Pending or warming up.
	PodFeatStarting
	// NumPodFeatures is the number of features per pod slot.
	NumPodFeatures
)

var baseFeatureNames = [NumBaseFeatures]string{
	"healthy", "degraded", "crashed", "starting", "drained", "ready", "replicas",
	"cpu_avg", "cpu_max", "memory_avg", "memory_max", "latency", "latency_max",
	"error_rate", "error_max", "request_rate", "utilization", "since_symptom",
	"pending", "restarts", "oom_killed", "nodes_not_ready", "since_rollout",
	"updated", "error_updated", "crashed_updated",
}

var podFeatureNames = [NumPodFeatures]string{
	"present", "ready", "crashed", "drained", "cpu", "memory", "latency", "errors",
	"restarts", "updated", "node_not_ready", "starting",
}

// RestartScale normalises restart counts in the observation: six
// restarts reach the 300 s back-off cap.
const RestartScale = 6

// latencyScaleMs normalises latencies in the observation.
const latencyScaleMs = 1000

// failureHorizonSteps normalises the time since the last symptom (10 min).
const failureHorizonSteps = 40

// RolloutHorizonSteps normalises the time since the last rollout in the
// observation (30 min): a leak in a release shows only after minutes.
const RolloutHorizonSteps = 120

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

// obsAggregates are the per-pod maxima and counts of the observation,
// gathered by aggregate's pass over the pods.
type obsAggregates struct {
	cpuMax, memMax, latMax, errMax, errUpd float64
	restarts, oom, crashedUpd, servingUpd  int
}

// assignView gives pod slot i the lowest free per-pod observation slot,
// if any (per-pod mode only).
func (c *Cluster) assignView(i int) {
	for v := range c.viewPod {
		if c.viewPod[v] < 0 {
			c.viewPod[v] = int16(i)
			c.pods[i].view = int8(v)
			return
		}
	}
}

// releaseView frees pod slot i's per-pod observation slot.
func (c *Cluster) releaseView(i int) {
	if v := c.pods[i].view; v != noView {
		c.viewPod[v] = -1
		c.pods[i].view = noView
	}
}

// writeObservation writes the observation of the current state into obs
// and shifts the history.
func (c *Cluster) writeObservation(obs []float32) {
	in := &c.info
	pc := &c.cfg.Pods
	m := float64(pc.MaxReplicas)
	ob := &c.obsAgg
	if len(c.viewPod) > 0 {
		for i := range c.pods {
			if p := &c.pods[i]; p.live() && p.view == noView {
				c.assignView(i)
			}
		}
	}
	b := c.obsBuf[:]
	b[ObsHealthy] = clamp01(float64(in.Healthy) / m)
	b[ObsDegraded] = clamp01(float64(in.Degraded) / m)
	b[ObsCrashed] = clamp01(float64(in.Crashed) / m)
	b[ObsStarting] = clamp01(float64(in.Starting) / m)
	b[ObsDrained] = clamp01(float64(in.Drained) / m)
	b[ObsReady] = clamp01(float64(in.Ready) / m)
	b[ObsReplicas] = clamp01(float64(in.Desired) / m)
	b[ObsCPUAvg] = clamp01(in.AvgCPU)
	b[ObsCPUMax] = clamp01(ob.cpuMax)
	b[ObsMemoryAvg] = clamp01(in.AvgMemory)
	b[ObsMemoryMax] = clamp01(ob.memMax / pc.MemoryLimitMiB)
	b[ObsLatency] = clamp01(in.LatencyP95Ms / latencyScaleMs)
	b[ObsLatencyMax] = clamp01(ob.latMax / latencyScaleMs)
	b[ObsErrorRate] = clamp01(in.ErrorRate)
	b[ObsErrorMax] = clamp01(ob.errMax)
	b[ObsRequestRate] = clamp01(in.RequestRate / (m * pc.CapacityRPS))
	util := 1.0
	if in.Ready > 0 {
		util = in.RequestRate / (float64(in.Ready) * pc.CapacityRPS) / 2
	}
	b[ObsUtilization] = clamp01(util)
	b[ObsSinceSymptom] = clamp01(float64(c.step-c.lastSymptom) / failureHorizonSteps)
	b[ObsPending] = clamp01(float64(c.pending) / m)
	b[ObsRestarts] = clamp01(float64(ob.restarts) / RestartScale)
	b[ObsOOMKilled] = clamp01(float64(ob.oom) / m)
	b[ObsNodesNotReady] = clamp01(float64(in.NodesNotReady) / float64(c.cfg.Kube.Nodes))
	b[ObsSinceRollout] = clamp01(float64(in.RolloutSteps) / RolloutHorizonSteps)
	b[ObsUpdated] = 1
	if in.Replicas > 0 {
		b[ObsUpdated] = clamp01(float64(in.Updated) / float64(in.Replicas))
	}
	b[ObsErrorUpdated] = clamp01(ob.errUpd)
	b[ObsCrashedUpdated] = clamp01(float64(ob.crashedUpd) / m)
	copy(obs, b)
	off := NumBaseFeatures
	if c.obsSpec.PodSlots > 0 {
		slots := obs[off : off+c.obsSpec.PodSlots*NumPodFeatures]
		clear(slots)
		for v, i := range c.viewPod {
			if i < 0 {
				continue
			}
			p := &c.pods[i]
			s := slots[v*NumPodFeatures : (v+1)*NumPodFeatures]
			s[PodFeatPresent] = 1
			if c.ready(p) {
				s[PodFeatReady] = 1
			}
			switch p.phase {
			case phaseCrashed:
				s[PodFeatCrashed] = 1
			case phasePending, phaseStarting:
				s[PodFeatStarting] = 1
			}
			if p.drained {
				s[PodFeatDrained] = 1
			}
			if int(p.rs) == c.cur {
				s[PodFeatUpdated] = 1
			}
			if c.nodeNotReady(p) {
				s[PodFeatNodeNotReady] = 1
			}
			s[PodFeatCPU] = clamp01(p.cpu)
			s[PodFeatMemory] = clamp01(p.mem / pc.MemoryLimitMiB)
			s[PodFeatLatency] = clamp01(p.p95 / latencyScaleMs)
			s[PodFeatErrors] = clamp01(p.errRate)
			s[PodFeatRestarts] = clamp01(float64(p.restarts) / RestartScale)
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
