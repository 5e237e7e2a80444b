package envsim

import "math"

// PodState is what a pod slot shows at the end of a step, for the
// observation, the per-pod view and the timeline strip.
type PodState uint8

const (
	// PodEmpty marks a slot without a pod.
	PodEmpty PodState = iota
	// PodStarting is a new pod or a restarted container that is not ready
	// yet: pulling its image (Pending) or warming up (no traffic).
	PodStarting
	// PodHealthy is ready, serving and within every threshold.
	PodHealthy
	// PodDegraded is running but slow, failing, throttled, near its memory
	// limit or failing readiness.
	PodDegraded
	// PodCrashed is down: its container waits out CrashLoopBackOff.
	PodCrashed
	// PodTerminating was deleted (scale-down, restart, eviction) and is
	// shutting down (no traffic, no longer a replica).
	PodTerminating
	// PodDrained is running but its readiness gate is set to false by the
	// operator: out of the Service's endpoints, still a replica.
	PodDrained
	// PodLost is on a failed node: until the node controller notices, the
	// API still shows it as it was, but it serves nothing.
	PodLost
	numPodStates
)

var podStateNames = [numPodStates]string{"empty", "starting", "healthy", "degraded", "crashed", "terminating", "drained", "lost"}

// String returns the lower-case state name.
func (s PodState) String() string {
	if s < numPodStates {
		return podStateNames[s]
	}
	return "unknown"
}

// phase is the lifecycle phase of a pod slot.
type phase uint8

const (
	phaseEmpty phase = iota
	// phasePending: created, waiting for a node or for its image (pod
	// phase Pending).
	phasePending
	// phaseStarting: the container runs and warms up; readiness not yet
	// passed (pod phase Running, not ready).
	phaseStarting
	// phaseRunning: the container runs and passed readiness once since it
	// started.
	phaseRunning
	// phaseCrashed: the container exited and waits out its back-off
	// (CrashLoopBackOff; pod phase Running, not ready).
	phaseCrashed
	// phaseTerminating: deleted, in its grace period, or stuck on a failed
	// node until the node comes back.
	phaseTerminating
)

// crashReason says why a container went down.
type crashReason uint8

const (
	crashKilled crashReason = iota
	crashOOM
	crashOverload
	crashBadConfig
	crashLoop
)

// noNode marks an unscheduled pod; noView a pod without a per-pod slot.
const (
	noNode = -1
	noView = -1
)

// pod is one pod slot. Metrics are what metrics-server and the service's
// own per-pod metrics show (smoothed): cpu a fraction of the limit, mem
// MiB, wait the mean queueing latency (ms, without network delay), p95
// ms, errRate a fraction of requests.
type pod struct {
	uid   uint32
	tie   uint32 // random order among otherwise equal pods (the upstream UID tie-break)
	phase phase
	timer int // steps left in pending, starting, crashed, terminating; -1 waits without end

	rs      int8 // owning ReplicaSet (index into Cluster.rs)
	node    int8 // node index, or noNode
	view    int8 // per-pod observation slot, or noView
	created int  // step the pod was created
	readyAt int  // step readiness last turned true

	drained  bool // readiness gate set to false by the operator
	notReady bool // readiness failing (pod-failure fault)
	degraded bool // failing a per-pod threshold (observed)

	backoff   float64 // next CrashLoopBackOff delay, seconds
	runSteps  int     // consecutive running steps
	restarts  int     // container restarts (kube_pod_container_status_restarts_total)
	overload  int     // consecutive overloaded steps
	served    int     // steps served since the container started
	crashStep int     // step of the last crash: its back-off starts next step
	lastOOM   bool    // last termination reason OOMKilled

	// Pod-local faults.
	hog       float64 // CPU fraction burnt by a CPU hog
	memHog    float64 // MiB held by a memory hog
	netLatMs  float64
	netLoss   float64
	crashLoop bool

	leaked     float64 // MiB leaked by the code since the container started
	leakFactor float64 // this container's share of the template's leak rate

	cpu, mem, wait, p95, errRate float64
	rps, util                    float64
}

// live reports whether the pod counts as a replica (not empty, not
// terminating).
func (p *pod) live() bool { return p.phase != phaseEmpty && p.phase != phaseTerminating }

// ready reports the pod's Ready condition as the API shows it: warmed up,
// readiness passing, readiness gate not set to false by a drain, and not
// on a node the node controller marked NotReady.
func (c *Cluster) ready(p *pod) bool {
	return p.phase == phaseRunning && !p.notReady && !p.drained && !c.nodeNotReady(p)
}

// serving reports whether the Service routes requests to the pod: it is
// in the endpoints exactly while it is ready, even if its node died a
// moment ago (the requests sent to it then fail).
func (c *Cluster) serving(p *pod) bool { return c.ready(p) }

// lost reports whether the pod sits on a failed node.
func (c *Cluster) lost(p *pod) bool {
	return c.nodesDown > 0 && p.node != noNode && c.nodes[p.node].down
}

// nodeNotReady reports whether the pod's node is marked NotReady.
func (c *Cluster) nodeNotReady(p *pod) bool {
	return c.nodesDown > 0 && p.node != noNode && c.nodes[p.node].notReady
}

// state maps the pod to its displayed PodState (the truth, for timelines).
func (c *Cluster) state(p *pod) PodState {
	if p.phase == phaseTerminating {
		return PodTerminating
	}
	if p.phase != phaseEmpty && c.lost(p) {
		return PodLost
	}
	return c.observedState(p)
}

// observedState is the state kube-state-metrics and the pod's own
// metrics show: a pod on a failed node keeps its last state until the
// node controller marks the node NotReady, then shows as not ready.
func (c *Cluster) observedState(p *pod) PodState {
	switch p.phase {
	case phasePending, phaseStarting:
		return PodStarting
	case phaseCrashed:
		return PodCrashed
	case phaseTerminating:
		return PodTerminating
	case phaseRunning:
		switch {
		case p.drained:
			return PodDrained
		case p.degraded || p.notReady || c.nodeNotReady(p):
			return PodDegraded
		}
		return PodHealthy
	}
	return PodEmpty
}

// resetMetrics sets the idle metrics of a freshly started container.
func (p *pod) resetMetrics(c *Cluster) {
	p.cpu, p.mem, p.wait = 0, c.cfg.Pods.MemoryBaseMiB, c.cfg.Pods.ServiceTimeMs
	p.p95, p.errRate, p.rps, p.util = c.cfg.Pods.ServiceTimeMs*ln20, 0, 0, 0
	p.overload, p.served, p.runSteps, p.degraded = 0, 0, 0, false
}

// clearDown zeroes the metrics of a pod whose container is not running.
func (p *pod) clearDown() {
	p.cpu, p.mem, p.wait, p.p95, p.errRate, p.rps, p.util = 0, 0, 0, 0, 0, 0, 0
	p.overload, p.served, p.runSteps, p.degraded = 0, 0, 0, false
}

// ln20 turns the mean of an exponential response time into its p95.
var ln20 = math.Log(20)

// beginWarmup starts p's container: it warms up for warmupSteps, and a
// leak in its code runs at a rate drawn for this container (0.6-1.4 of the
// template's: request mixes differ), so that pods of one release do not
// all hit their limit in the same step.
func (c *Cluster) beginWarmup(p *pod) {
	p.phase, p.timer = phaseStarting, c.warmupSteps()
	p.leakFactor = 0.6 + 0.8*c.rng.Float64()
}

// warmupSteps draws the steps a started container needs to pass
// readiness.
func (c *Cluster) warmupSteps() int {
	p := &c.cfg.Pods
	return p.StartupStepsMin + c.rng.IntN(p.StartupStepsMax-p.StartupStepsMin+1)
}

// createPod puts a new pod of ReplicaSet rs into a free slot, schedules
// it and starts its image pull or warm-up. It returns false when every
// slot is taken (the ReplicaSet retries next step).
func (c *Cluster) createPod(rs int) bool {
	if q := c.cfg.Kube.PodQuota; q > 0 && c.podsInQuota() >= q {
		return false
	}
	slot := -1
	for i := range c.pods {
		if c.pods[i].phase == phaseEmpty {
			slot = i
			break
		}
	}
	if slot < 0 {
		return false
	}
	c.nextUID++
	c.pods[slot] = pod{
		uid: c.nextUID, tie: c.rng.Uint32(), rs: int8(rs), node: noNode, view: noView,
		created: c.step, readyAt: -1, backoff: c.cfg.Pods.BackoffInitialSeconds,
	}
	p := &c.pods[slot]
	p.clearDown()
	c.schedule(p)
	c.startContainer(p)
	c.assignView(slot)
	return true
}

// podsInQuota counts the pods a pod quota charges: every pod that is not
// empty, terminating ones included (they still exist).
func (c *Cluster) podsInQuota() int {
	n := 0
	for i := range c.pods {
		if c.pods[i].phase != phaseEmpty {
			n++
		}
	}
	return n
}

// startContainer begins a new pod's start: Pending while it waits for a
// node or for its image (longer while a slow-start fault holds), then the
// warm-up.
func (c *Cluster) startContainer(p *pod) {
	switch {
	case c.slowExtra > 0:
		p.phase, p.timer = phasePending, c.slowExtra
	case p.node == noNode:
		p.phase, p.timer = phasePending, 1
	default:
		c.beginWarmup(p)
	}
}

// deletePod starts a pod's graceful termination: it leaves the endpoints
// at once and no longer counts as a replica, so its ReplicaSet replaces
// it. On a failed node nobody can confirm the deletion: it stays
// terminating until the node comes back.
func (c *Cluster) deletePod(i int) {
	p := &c.pods[i]
	timer := c.cfg.Pods.TerminationSteps
	if c.lost(p) {
		timer = -1
	}
	uid, node, rs := p.uid, p.node, p.rs
	c.releaseView(i)
	*p = pod{uid: uid, phase: phaseTerminating, timer: timer, node: node, view: noView, rs: rs}
}

// crash takes pod i's container down and starts its CrashLoopBackOff
// wait: the current back-off rounded up to whole steps, then the back-off
// doubles up to the cap (REFERENCE.md, "Restarts"). A memory hog dies
// with the container; a leak starts over.
func (c *Cluster) crash(i int, why crashReason) {
	p := &c.pods[i]
	p.phase = phaseCrashed
	p.crashStep = c.step
	p.timer = int(math.Ceil(p.backoff / StepSeconds))
	p.backoff = math.Min(2*p.backoff, c.cfg.Pods.BackoffMaxSeconds)
	p.restarts++
	p.lastOOM = why == crashOOM
	p.leaked, p.memHog = 0, 0
	p.clearDown()
	kind := EventPodCrashed
	switch why {
	case crashOOM:
		kind = EventOOMKilled
	case crashOverload:
		kind = EventOverloadKilled
	}
	c.info.addEvent(Event{Kind: kind, Pod: i})
}

// becomeReady finishes a warm-up: the pod passes readiness, or its
// container exits at once while a crash-loop fault holds it.
func (c *Cluster) becomeReady(i int) {
	p := &c.pods[i]
	p.phase = phaseRunning
	p.resetMetrics(c)
	if p.crashLoop {
		c.crash(i, crashLoop)
		return
	}
	p.readyAt = c.step
	c.info.addEvent(Event{Kind: EventPodReady, Pod: i})
}

// advanceLifecycle runs the kubelet's timers of every slot for one step.
// Nothing moves on a failed node: its kubelet is gone.
func (c *Cluster) advanceLifecycle() {
	pc := &c.cfg.Pods
	resetSteps := secondsToSteps(pc.BackoffResetSeconds)
	for i := range c.pods {
		p := &c.pods[i]
		if p.phase == phaseEmpty || c.lost(p) {
			continue
		}
		switch p.phase {
		case phasePending:
			if p.node == noNode && !c.schedule(p) {
				continue
			}
			if p.timer--; p.timer <= 0 {
				c.beginWarmup(p)
			}
		case phaseStarting:
			if p.timer--; p.timer <= 0 {
				c.becomeReady(i)
			}
		case phaseCrashed:
			if p.crashStep == c.step {
				continue
			}
			if p.timer--; p.timer <= 0 {
				// The kubelet restarts the container in place.
				c.beginWarmup(p)
				c.info.addEvent(Event{Kind: EventContainerRestarted, Pod: i})
			}
		case phaseTerminating:
			if p.timer--; p.timer == 0 {
				*p = pod{view: noView, node: noNode}
			}
		case phaseRunning:
			p.runSteps++
			if p.runSteps >= resetSteps {
				p.backoff = pc.BackoffInitialSeconds
			}
		}
	}
}

// allCrashed reports whether every replica is down (termination): each
// live pod's container is crashed or its node has failed.
func (c *Cluster) allCrashed() bool {
	n := 0
	for i := range c.pods {
		p := &c.pods[i]
		if !p.live() {
			continue
		}
		if p.phase != phaseCrashed && !c.lost(p) {
			return false
		}
		n++
	}
	return n > 0
}
