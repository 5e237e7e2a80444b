package envsim

import "math"

// PodState is what a pod slot shows at the end of a step, for the
// observation, the per-pod view and the timeline strip.
type PodState uint8

const (
	// PodEmpty marks a slot without a pod.
	PodEmpty PodState = iota
	// PodStarting is a new, rescheduled or kubelet-restarted pod that is
	// not ready yet (no traffic).
	PodStarting
	// PodHealthy is ready, serving and within every threshold.
	PodHealthy
	// PodDegraded is running but slow, failing, throttled, near its memory
	// limit or failing readiness.
	PodDegraded
	// PodCrashed is down: waiting out CrashLoopBackOff or on a failed node.
	PodCrashed
	// PodRestarting is being restarted by the operator (unavailable).
	PodRestarting
	// PodTerminating was scaled down and is shutting down (no traffic).
	PodTerminating
	// PodDrained is running but removed from the load balancer by a drain.
	PodDrained
	numPodStates
)

var podStateNames = [numPodStates]string{"empty", "starting", "healthy", "degraded", "crashed", "restarting", "terminating", "drained"}

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
	phaseStarting
	phaseRunning
	phaseCrashed
	phaseRestarting
	phaseTerminating
)

// crashReason says why a pod went down.
type crashReason uint8

const (
	crashKilled crashReason = iota
	crashOOM
	crashOverload
	crashBadConfig
	crashLoop
)

// pod is one replica slot. Metrics are smoothed observations; cpu is a
// fraction of the limit, mem MiB, wait the mean queueing latency (ms,
// without network delay), p95 ms, errRate a fraction of requests.
type pod struct {
	uid      uint32
	phase    phase
	timer    int // steps left in starting, restarting, crashed, terminating
	drained  bool
	notReady bool // readiness failing (pod-failure fault)
	degraded bool
	nodeDown bool // crashed on a failed node: waits for the node or a restart

	backoff   float64 // next CrashLoopBackOff delay, seconds
	runSteps  int     // consecutive running steps
	restarts  int
	overload  int // consecutive overloaded steps
	served    int // steps served since the last start
	crashWait int // steps of the current back-off (for the observation)
	crashStep int // step of the last crash: its back-off starts next step

	hog       float64 // CPU fraction burnt by a cpu-spike fault
	leakRate  float64 // MiB per step
	leaked    float64 // MiB
	netLatMs  float64
	netLoss   float64
	badErr    float64 // error fraction of a bad config, 0 if none
	crashLoop bool

	cpu, mem, wait, p95, errRate float64
	rps, util                    float64
}

// live reports whether the pod counts as a replica (not empty, not
// terminating).
func (p *pod) live() bool { return p.phase != phaseEmpty && p.phase != phaseTerminating }

// ready reports whether readiness passes (it may still be drained).
func (p *pod) ready() bool { return p.phase == phaseRunning && !p.notReady }

// serving reports whether the load balancer sends it traffic.
func (p *pod) serving() bool { return p.ready() && !p.drained }

// state maps the pod to its displayed PodState.
func (p *pod) state() PodState {
	switch p.phase {
	case phaseStarting:
		return PodStarting
	case phaseCrashed:
		return PodCrashed
	case phaseRestarting:
		return PodRestarting
	case phaseTerminating:
		return PodTerminating
	case phaseRunning:
		switch {
		case p.drained:
			return PodDrained
		case p.degraded || p.notReady:
			return PodDegraded
		}
		return PodHealthy
	}
	return PodEmpty
}

// badness ranks running pods for the worst-pod rule: the largest of
// error rate, p95 latency and memory, each relative to its threshold, plus
// 10 when readiness fails.
func (p *pod) badness(c *Cluster) float64 {
	b := math.Max(p.errRate/c.cfg.SLO.ErrorRate, p.p95/c.cfg.SLO.LatencyP95Ms)
	b = math.Max(b, p.mem/(c.cfg.Pods.MemoryPressure*c.cfg.Pods.MemoryLimitMiB))
	if p.notReady {
		b += 10
	}
	return b
}

// remainingWait is the rest of a crashed pod's wait in steps; a pod on a
// failed node waits without end.
func (p *pod) remainingWait() int {
	if p.nodeDown {
		return math.MaxInt32
	}
	return p.timer
}

// resetMetrics sets the idle metrics of a freshly started container.
func (p *pod) resetMetrics(c *Cluster) {
	p.cpu, p.mem, p.wait = 0, c.cfg.Pods.MemoryBaseMiB, c.cfg.Pods.ServiceTimeMs
	p.p95, p.errRate, p.rps, p.util = c.cfg.Pods.ServiceTimeMs*ln20, 0, 0, 0
	p.overload, p.served, p.runSteps, p.degraded = 0, 0, 0, false
}

// clearDown zeroes the metrics of a pod that is not running.
func (p *pod) clearDown() {
	p.cpu, p.mem, p.wait, p.p95, p.errRate, p.rps, p.util = 0, 0, 0, 0, 0, 0, 0
	p.overload, p.served, p.runSteps, p.degraded = 0, 0, 0, false
}

// ln20 turns the mean of an exponential response time into its p95.
var ln20 = math.Log(20)

// spawn puts a new pod (fresh uid, no back-off) into slot i in phase ph.
func (c *Cluster) spawn(i int, ph phase, timer int) {
	c.nextUID++
	c.pods[i] = pod{uid: c.nextUID, phase: ph, timer: timer, backoff: c.cfg.Pods.BackoffInitialSeconds}
	c.pods[i].clearDown()
}

// startupSteps draws the start-up time of a new pod, including slow-start
// faults.
func (c *Cluster) startupSteps() int {
	p := &c.cfg.Pods
	return p.StartupStepsMin + c.rng.IntN(p.StartupStepsMax-p.StartupStepsMin+1) + c.slowExtra
}

// crash takes pod i down and starts its CrashLoopBackOff wait: the current
// back-off rounded up to whole steps, then the back-off doubles up to the
// cap (REFERENCE.md, "Restarts").
func (c *Cluster) crash(i int, why crashReason) {
	p := &c.pods[i]
	p.phase = phaseCrashed
	p.crashStep = c.step
	p.crashWait = int(math.Ceil(p.backoff / StepSeconds))
	p.timer = p.crashWait
	p.backoff = math.Min(2*p.backoff, c.cfg.Pods.BackoffMaxSeconds)
	p.restarts++
	p.leaked = 0
	p.clearDown()
	c.lastFailure = c.step
	c.incidentOpen = true
	kind := EventPodCrashed
	switch why {
	case crashOOM:
		kind = EventOOMKilled
	case crashOverload:
		kind = EventOverloadKilled
	}
	c.info.addEvent(Event{Kind: kind, Pod: i})
}

// becomeReady finishes a start or restart: the pod runs, or crashes at
// once if a crash-loop fault holds it.
func (c *Cluster) becomeReady(i int) {
	p := &c.pods[i]
	p.phase = phaseRunning
	p.resetMetrics(c)
	if p.crashLoop {
		c.crash(i, crashLoop)
		return
	}
	c.info.addEvent(Event{Kind: EventPodReady, Pod: i})
}

// advanceLifecycle runs the timers of every slot for one step.
func (c *Cluster) advanceLifecycle() {
	pc := &c.cfg.Pods
	resetSteps := int(math.Ceil(pc.BackoffResetSeconds / StepSeconds))
	for i := range c.pods {
		p := &c.pods[i]
		switch p.phase {
		case phaseStarting, phaseRestarting:
			p.timer--
			if p.timer <= 0 {
				c.becomeReady(i)
			}
		case phaseCrashed:
			if p.nodeDown || p.crashStep == c.step {
				continue
			}
			p.timer--
			if p.timer <= 0 {
				// The kubelet restarts the container in place.
				p.phase = phaseStarting
				p.timer = pc.ContainerRestartStepsMin + c.rng.IntN(pc.ContainerRestartStepsMax-pc.ContainerRestartStepsMin+1)
				c.info.addEvent(Event{Kind: EventContainerRestarted, Pod: i})
			}
		case phaseTerminating:
			p.timer--
			if p.timer <= 0 {
				*p = pod{}
			}
		case phaseRunning:
			p.runSteps++
			if p.runSteps >= resetSteps {
				p.backoff = pc.BackoffInitialSeconds
			}
		}
	}
}

// allCrashed reports whether every replica is down (termination).
func (c *Cluster) allCrashed() bool {
	n := 0
	for i := range c.pods {
		p := &c.pods[i]
		if !p.live() {
			continue
		}
		if p.phase != phaseCrashed {
			return false
		}
		n++
	}
	return n > 0
}
