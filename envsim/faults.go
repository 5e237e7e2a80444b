package envsim

// maxActiveFaults bounds concurrent fault occurrences; more are skipped.
const maxActiveFaults = 16

// nodeEvictionSteps is the default duration of a node failure: the 300 s
// toleration after which Kubernetes evicts pods from an unreachable node.
const nodeEvictionSteps = 20

// faultRun is the per-episode schedule state of one Fault.
type faultRun struct {
	spec        Fault
	nextStart   int // one-shot start step, -1 once done
	occurrences int
}

// activeFault is one fault occurrence in progress.
type activeFault struct {
	kind FaultKind
	end  int // step at which it ends; -1 never
	mag  float64
	n    int
	slot [MaxReplicasLimit]int16
	uid  [MaxReplicasLimit]uint32
}

// resetFaults prepares the schedules of the episode's scenario.
func (c *Cluster) resetFaults() {
	c.nRuns, c.nActive, c.slowExtra = 0, 0, 0
	for _, f := range c.sc.Faults {
		if f.Magnitude == 0 {
			f.Magnitude = f.Kind.defaultMagnitude()
		}
		if f.Pods == 0 {
			f.Pods = 1
			if f.Kind == FaultNodeFailure {
				f.Pods = 3
			}
		}
		if f.Duration == 0 && f.Kind == FaultNodeFailure {
			f.Duration = nodeEvictionSteps
		}
		r := faultRun{spec: f, nextStart: -1}
		if f.Rate == 0 {
			r.nextStart = f.Start + c.rng.IntN(f.StartJitter+1)
		}
		c.runs[c.nRuns] = r
		c.nRuns++
	}
}

// anyFaultActive reports whether an occurrence is in progress.
func (c *Cluster) anyFaultActive() bool { return c.nActive > 0 }

// advanceFaults ends expired or remedied occurrences and starts due ones.
func (c *Cluster) advanceFaults() {
	for k := 0; k < c.nActive; {
		f := &c.active[k]
		if f.end >= 0 && c.step >= f.end {
			c.endFault(k, false)
			continue
		}
		if f.kind != FaultSlowStart && !c.faultHolds(f) {
			c.endFault(k, true)
			continue
		}
		k++
	}
	for r := 0; r < c.nRuns; r++ {
		run := &c.runs[r]
		s := &run.spec
		due := false
		if s.Rate > 0 {
			if c.step >= s.Start && (s.MaxOccurrences == 0 || run.occurrences < s.MaxOccurrences) {
				due = c.rng.Float64() < s.Rate
			}
		} else if run.nextStart == c.step {
			due = true
			run.nextStart = -1
		}
		if due {
			run.occurrences++
			c.startFault(s)
		}
	}
	if c.nActive > 0 {
		c.info.FaultActive = true
	}
}

// faultHolds reports whether any target still carries the fault's effect.
func (c *Cluster) faultHolds(f *activeFault) bool {
	for j := 0; j < f.n; j++ {
		p := &c.pods[f.slot[j]]
		if p.uid != f.uid[j] || !p.live() {
			continue
		}
		switch f.kind {
		case FaultPodFailure:
			if p.notReady {
				return true
			}
		case FaultCrashLoop:
			if p.crashLoop {
				return true
			}
		case FaultCPUSpike:
			if p.hog > 0 {
				return true
			}
		case FaultMemoryLeak:
			if p.leakRate > 0 {
				return true
			}
		case FaultNetworkLatency:
			if p.netLatMs > 0 {
				return true
			}
		case FaultNetworkLoss:
			if p.netLoss > 0 {
				return true
			}
		case FaultNodeFailure:
			if p.nodeDown {
				return true
			}
		case FaultBadConfig:
			if p.badErr > 0 {
				return true
			}
		}
	}
	return false
}

// startFault picks targets for one occurrence of s and applies it.
func (c *Cluster) startFault(s *Fault) {
	in := &c.info
	in.FaultActive = true
	c.lastFailure = c.step
	if s.Kind == FaultSlowStart {
		c.addActive(s, 0)
		c.slowExtra += int(s.Magnitude)
		in.addEvent(Event{Kind: EventFaultStarted, Pod: -1, Fault: s.Kind})
		return
	}
	n := 0
	for i := range c.pods {
		p := &c.pods[i]
		eligible := p.phase == phaseRunning
		if s.Kind == FaultNodeFailure {
			eligible = p.live() && !p.nodeDown
		}
		if eligible && !c.hasEffect(p, s.Kind) {
			c.cand[n] = int16(i)
			n++
		}
	}
	k := min(s.Pods, n)
	if k == 0 || (s.Kind != FaultPodCrash && c.nActive == maxActiveFaults) {
		in.addEvent(Event{Kind: EventFaultSkipped, Pod: -1, Fault: s.Kind})
		return
	}
	for j := range k { // partial Fisher-Yates
		r := j + c.rng.IntN(n-j)
		c.cand[j], c.cand[r] = c.cand[r], c.cand[j]
	}
	c.incidentOpen = true
	in.addEvent(Event{Kind: EventFaultStarted, Pod: int(c.cand[0]), Fault: s.Kind})
	if s.Kind == FaultPodCrash {
		for j := range k {
			c.crash(int(c.cand[j]), crashKilled)
		}
		in.addEvent(Event{Kind: EventFaultEnded, Pod: int(c.cand[0]), Fault: s.Kind})
		return
	}
	f := c.addActive(s, k)
	for j := range k {
		i := int(c.cand[j])
		p := &c.pods[i]
		f.slot[j], f.uid[j] = int16(i), p.uid
		switch s.Kind {
		case FaultPodFailure:
			p.notReady = true
		case FaultCrashLoop:
			p.crashLoop = true
			c.crash(i, crashLoop)
		case FaultCPUSpike:
			p.hog = s.Magnitude
		case FaultMemoryLeak:
			p.leakRate = s.Magnitude
		case FaultNetworkLatency:
			p.netLatMs = s.Magnitude
		case FaultNetworkLoss:
			p.netLoss = s.Magnitude
		case FaultNodeFailure:
			c.crash(i, crashKilled)
			p.nodeDown = true
		case FaultBadConfig:
			p.badErr = s.Magnitude
			p.served = 0
		}
	}
}

// addActive records an occurrence of s hitting n pods; the caller fills
// the targets.
func (c *Cluster) addActive(s *Fault, n int) *activeFault {
	f := &c.active[c.nActive]
	c.nActive++
	f.kind, f.mag, f.n, f.end = s.Kind, s.Magnitude, n, -1
	if s.Duration > 0 {
		f.end = c.step + s.Duration
	}
	return f
}

// hasEffect reports whether pod p already carries a fault of kind k.
func (c *Cluster) hasEffect(p *pod, k FaultKind) bool {
	switch k {
	case FaultPodFailure:
		return p.notReady
	case FaultCrashLoop:
		return p.crashLoop
	case FaultCPUSpike:
		return p.hog > 0
	case FaultMemoryLeak:
		return p.leakRate > 0
	case FaultNetworkLatency:
		return p.netLatMs > 0
	case FaultNetworkLoss:
		return p.netLoss > 0
	case FaultBadConfig:
		return p.badErr > 0
	}
	return false
}

// endFault removes occurrence k, clearing its effect on targets that
// still carry it.
func (c *Cluster) endFault(k int, remedied bool) {
	f := &c.active[k]
	first := -1
	for j := 0; j < f.n; j++ {
		i := int(f.slot[j])
		p := &c.pods[i]
		if first < 0 {
			first = i
		}
		if p.uid != f.uid[j] || !p.live() {
			continue
		}
		switch f.kind {
		case FaultPodFailure:
			p.notReady = false
		case FaultCrashLoop:
			p.crashLoop = false
		case FaultCPUSpike:
			p.hog = 0
		case FaultMemoryLeak:
			p.leakRate = 0
		case FaultNetworkLatency:
			p.netLatMs = 0
		case FaultNetworkLoss:
			p.netLoss = 0
		case FaultNodeFailure:
			if p.nodeDown {
				// The node is back or its pods were evicted: rescheduled.
				p.nodeDown = false
				p.phase, p.timer, p.backoff = phaseStarting, c.startupSteps(), c.cfg.Pods.BackoffInitialSeconds
			}
		case FaultBadConfig:
			p.badErr = 0
		}
	}
	if f.kind == FaultSlowStart {
		c.slowExtra -= int(f.mag)
	}
	c.info.addEvent(Event{Kind: EventFaultEnded, Pod: first, Fault: f.kind, Remedied: remedied})
	c.nActive--
	c.active[k] = c.active[c.nActive]
}

// retargetFaults follows faults that survive an operator restart (they
// live in the pod template) to the fresh pod.
func (c *Cluster) retargetFaults(slot int, oldUID, newUID uint32) {
	for k := 0; k < c.nActive; k++ {
		f := &c.active[k]
		if f.kind != FaultBadConfig && f.kind != FaultCrashLoop {
			continue
		}
		for j := 0; j < f.n; j++ {
			if int(f.slot[j]) == slot && f.uid[j] == oldUID {
				f.uid[j] = newUID
			}
		}
	}
}
