package envsim

// PodStatus is a read-only copy of one pod slot for timelines and
// dashboards.
type PodStatus struct {
	// Slot is the pod's slot index (stable while the pod lives).
	Slot int
	// UID identifies the pod instance; a restart gives a new one.
	UID uint32
	// State is the displayed state.
	State PodState
	// CPU and Memory are fractions of the limits.
	CPU, Memory float64
	// LatencyP95Ms is the pod's p95 latency (ms).
	LatencyP95Ms float64
	// ErrorRate is the fraction of its requests that failed.
	ErrorRate float64
	// RPS is the request rate it served.
	RPS float64
	// Restarts counts crashes of this pod instance.
	Restarts int
	// Faulty reports that an injected fault affects the pod (its own, its
	// node's or its template's).
	Faulty bool
	// Revision is the Deployment revision of its ReplicaSet; Node its node
	// (-1 unscheduled).
	Revision, Node int
}

// NumPodSlots is the number of slots PodStatuses fills: room for the
// replicas, a rollout's surge and terminating pods.
func (c *Cluster) NumPodSlots() int { return len(c.pods) }

// PodStatuses writes the status of every slot into dst, growing it only
// if its capacity is below NumPodSlots, and returns it. Empty slots have
// State PodEmpty.
func (c *Cluster) PodStatuses(dst []PodStatus) []PodStatus {
	if cap(dst) < len(c.pods) {
		dst = make([]PodStatus, len(c.pods))
	}
	dst = dst[:len(c.pods)]
	pc := &c.cfg.Pods
	for i := range c.pods {
		p := &c.pods[i]
		faulty := p.hog > 0 || p.memHog > 0 || p.netLatMs > 0 || p.netLoss > 0 || p.crashLoop || p.notReady || c.lost(p)
		if p.live() {
			faulty = faulty || c.rs[p.rs].tmpl.faulty()
		}
		dst[i] = PodStatus{
			Slot: i, UID: p.uid, State: c.state(p),
			CPU: p.cpu, Memory: p.mem / pc.MemoryLimitMiB,
			LatencyP95Ms: p.p95, ErrorRate: p.errRate, RPS: p.rps, Restarts: p.restarts,
			Faulty: faulty, Revision: c.rs[max(p.rs, 0)].revision, Node: int(p.node),
		}
	}
	return dst
}

// Spec collects what baselines and tools need to interpret a Cluster's
// vectors without magic numbers.
type Spec struct {
	// Observation describes the observation vector.
	Observation ObservationSpec
	// Actions describes the action space.
	Actions ActionSpec
	// Pods is the pod model (replica bounds, CPU request and limit).
	Pods PodConfig
}

// Spec returns the Cluster's Spec.
func (c *Cluster) Spec() Spec {
	return Spec{Observation: c.obsSpec, Actions: c.actSpec, Pods: c.cfg.Pods}
}
