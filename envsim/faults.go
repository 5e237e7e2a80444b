package envsim

// maxActiveFaults bounds concurrent fault occurrences; more are skipped.
const maxActiveFaults = 16

// nodeDownSteps is the default time a failed node stays down before it
// reboots: 10 minutes, twice the 300 s eviction toleration, so that
// waiting for the node is not the cheap way out.
const nodeDownSteps = 40

// faultRun is the per-episode schedule state of one Fault.
type faultRun struct {
	spec        Fault
	nextStart   int // one-shot start step, -1 once done
	occurrences int
}

// activeFault is one fault occurrence in progress. Pod-local faults list
// their target pods (slot and uid), a node fault its node; a template
// fault lives in whichever revisions carry it.
type activeFault struct {
	kind FaultKind
	end  int // step at which it ends; -1 never
	mag  float64
	n    int
	node int
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
		}
		if f.Duration == 0 && f.Kind == FaultNodeFailure {
			f.Duration = nodeDownSteps
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
// A one-shot fault scheduled at or before the current step starts now
// (so a fault at step 0 starts with the first step).
func (c *Cluster) advanceFaults() {
	for k := 0; k < c.nActive; {
		f := &c.active[k]
		if f.end >= 0 && c.step >= f.end {
			c.endFault(k, false)
			continue
		}
		if !c.faultHolds(f) {
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
		} else if run.nextStart >= 0 && run.nextStart <= c.step {
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

// faultHolds reports whether the occurrence still has an effect: a
// pod-local fault while a target pod carries it, a template fault while
// its ReplicaSet is current or has pods, a node fault while the node is
// down.
func (c *Cluster) faultHolds(f *activeFault) bool {
	switch f.kind.Scope() {
	case ScopeCluster:
		return true
	case ScopeNode:
		return c.nodes[f.node].down
	case ScopeTemplate:
		// In any revision that is current or still has pods: a routine
		// release copies the template, fault and all.
		for r := range c.nRS {
			if (r == c.cur || c.rsActive[r] > 0) && hasTemplateFault(c.rs[r].tmpl, f.kind) {
				return true
			}
		}
		return false
	}
	for j := 0; j < f.n; j++ {
		p := &c.pods[f.slot[j]]
		if p.uid == f.uid[j] && p.live() && c.hasEffect(p, f.kind) {
			return true
		}
	}
	return false
}

// startFault applies one occurrence of s.
func (c *Cluster) startFault(s *Fault) {
	in := &c.info
	in.FaultActive = true
	if c.nActive == maxActiveFaults && s.Kind != FaultPodCrash {
		in.addEvent(Event{Kind: EventFaultSkipped, Pod: -1, Fault: s.Kind})
		return
	}
	switch s.Kind.Scope() {
	case ScopeCluster:
		c.addActive(s, 0)
		c.slowExtra += int(s.Magnitude)
		in.addEvent(Event{Kind: EventFaultStarted, Pod: -1, Fault: s.Kind})
		return
	case ScopeTemplate:
		switch s.Kind {
		case FaultRelease:
			// Not a fault: nothing to track. Change freeze during an
			// incident or a rollout.
			if c.incident.open || c.rolloutInProgress() {
				return
			}
			c.releases++
			t := c.rs[c.cur].tmpl
			t.version = c.releases
			c.newRevision(t)
			in.addEvent(Event{Kind: EventFaultStarted, Pod: -1, Fault: s.Kind})
			return
		case FaultHotfix:
			c.releases++
			c.newRevision(template{version: c.releases})
			in.addEvent(Event{Kind: EventFaultStarted, Pod: -1, Fault: s.Kind})
			return
		}
		c.releases++
		t := withFault(c.rs[c.cur].tmpl, s, c.magnitude(s))
		if s.Kind == FaultBadConfig {
			t.badCrash = c.rng.Float64() < badConfigCrashShare
		}
		t.version = c.releases
		c.newRevision(t)
		c.addActive(s, 0)
		in.addEvent(Event{Kind: EventFaultStarted, Pod: -1, Fault: s.Kind})
		return
	case ScopeNode:
		c.startNodeFailure(s)
		return
	}
	n := 0
	for i := range c.pods {
		p := &c.pods[i]
		if p.phase == phaseRunning && !c.lost(p) && !c.hasEffect(p, s.Kind) {
			c.cand[n] = int16(i)
			n++
		}
	}
	k := min(s.Pods, n)
	if k == 0 {
		in.addEvent(Event{Kind: EventFaultSkipped, Pod: -1, Fault: s.Kind})
		return
	}
	for j := range k { // partial Fisher-Yates
		r := j + c.rng.IntN(n-j)
		c.cand[j], c.cand[r] = c.cand[r], c.cand[j]
	}
	in.addEvent(Event{Kind: EventFaultStarted, Pod: int(c.cand[0]), Fault: s.Kind})
	if s.Kind == FaultPodCrash {
		for j := range k {
			c.crash(int(c.cand[j]), crashKilled)
		}
		in.addEvent(Event{Kind: EventFaultEnded, Pod: int(c.cand[0]), Fault: s.Kind})
		return
	}
	f := c.addActive(s, k)
	m := c.magnitude(s)
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
			p.hog = m
		case FaultMemoryHog:
			p.memHog = m
		case FaultNetworkLatency:
			p.netLatMs = m
		case FaultNetworkLoss:
			p.netLoss = m
		}
	}
}

// badConfigCrashShare is the share of bad configs that also crash the
// process (a wrong value read on a start-up path); the others only fail
// requests (a wrong endpoint, a bad feature flag).
const badConfigCrashShare = 0.5

// hasTemplateFault reports whether template t carries a fault of kind k.
func hasTemplateFault(t template, k FaultKind) bool {
	switch k {
	case FaultBadConfig:
		return t.badErr > 0
	case FaultBadRollout:
		return t.errRate > 0 || t.latMs > 0
	case FaultMemoryLeak:
		return t.leakRate > 0
	}
	return false
}

// withFault returns t with the template fault s added at magnitude m.
func withFault(t template, s *Fault, m float64) template {
	switch s.Kind {
	case FaultBadConfig:
		t.badErr = m
	case FaultBadRollout:
		t.errRate, t.latMs = m, badRolloutLatencyMs
	case FaultMemoryLeak:
		t.leakRate = m
	}
	return t
}

// magnitude draws one occurrence's magnitude: uniform within
// MagnitudeJitter of the fault's magnitude (fractions stay in [0, 1]).
func (c *Cluster) magnitude(s *Fault) float64 {
	m := s.Magnitude
	if s.MagnitudeJitter > 0 {
		m *= 1 + s.MagnitudeJitter*(2*c.rng.Float64()-1)
	}
	switch s.Kind {
	case FaultCPUSpike, FaultNetworkLoss, FaultBadConfig, FaultBadRollout:
		m = min(m, 1)
	}
	return m
}

// deployFaults puts the template faults marked Deployed into the current
// revision at Reset: the release running when the episode starts carries
// them (its pods are created afterwards).
func (c *Cluster) deployFaults() {
	for r := 0; r < c.nRuns; r++ {
		s := &c.runs[r].spec
		if !s.Deployed {
			continue
		}
		c.runs[r].nextStart = -1
		c.rs[c.cur].tmpl = withFault(c.rs[c.cur].tmpl, s, c.magnitude(s))
		if s.Kind == FaultBadConfig {
			c.rs[c.cur].tmpl.badCrash = c.rng.Float64() < badConfigCrashShare
		}
		c.addActive(s, 0)
	}
}

// startNodeFailure takes down a random node that runs pods of the
// Deployment and is up.
func (c *Cluster) startNodeFailure(s *Fault) {
	var count [maxNodes]int
	for i := range c.pods {
		if p := &c.pods[i]; p.live() && p.node != noNode {
			count[p.node]++
		}
	}
	n, choice := 0, -1
	for nd := range c.cfg.Kube.Nodes {
		if count[nd] > 0 && !c.nodes[nd].down {
			n++
			if c.rng.IntN(n) == 0 {
				choice = nd
			}
		}
	}
	if choice < 0 {
		c.info.addEvent(Event{Kind: EventFaultSkipped, Pod: -1, Fault: s.Kind})
		return
	}
	c.failNode(choice)
	f := c.addActive(s, 0)
	f.node = choice
	c.info.addEvent(Event{Kind: EventFaultStarted, Pod: -1, Fault: s.Kind, Node: choice})
}

// addActive records an occurrence of s hitting n pods; the caller fills
// the targets.
func (c *Cluster) addActive(s *Fault, n int) *activeFault {
	f := &c.active[c.nActive]
	c.nActive++
	f.kind, f.mag, f.n, f.end, f.node = s.Kind, s.Magnitude, n, -1, -1
	if s.Duration > 0 {
		f.end = c.step + s.Duration
	}
	return f
}

// hasEffect reports whether pod p carries a pod-local fault of kind k.
func (c *Cluster) hasEffect(p *pod, k FaultKind) bool {
	switch k {
	case FaultPodFailure:
		return p.notReady
	case FaultCrashLoop:
		return p.crashLoop
	case FaultCPUSpike:
		return p.hog > 0
	case FaultMemoryHog:
		return p.memHog > 0
	case FaultNetworkLatency:
		return p.netLatMs > 0
	case FaultNetworkLoss:
		return p.netLoss > 0
	}
	return false
}

// endFault removes occurrence k, clearing its effect: pod-local effects on
// the targets that still carry them, a failed node reboots, and a
// template fault whose time is up gets a fixed release rolled out.
func (c *Cluster) endFault(k int, remedied bool) {
	f := &c.active[k]
	first := -1
	switch f.kind.Scope() {
	case ScopeCluster:
		c.slowExtra -= int(f.mag)
	case ScopeNode:
		if c.nodes[f.node].down {
			c.restoreNode(f.node)
		}
	case ScopeTemplate:
		if !remedied && hasTemplateFault(c.rs[c.cur].tmpl, f.kind) {
			t := c.rs[c.cur].tmpl
			c.releases++
			t.version = c.releases
			switch f.kind {
			case FaultBadConfig:
				t.badErr = 0
			case FaultBadRollout:
				t.errRate, t.latMs = 0, 0
			case FaultMemoryLeak:
				t.leakRate = 0
			}
			c.newRevision(t)
		}
	default:
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
			case FaultMemoryHog:
				p.memHog = 0
			case FaultNetworkLatency:
				p.netLatMs = 0
			case FaultNetworkLoss:
				p.netLoss = 0
			}
		}
	}
	c.info.addEvent(Event{Kind: EventFaultEnded, Pod: first, Fault: f.kind, Remedied: remedied, Node: f.node})
	c.nActive--
	c.active[k] = c.active[c.nActive]
}
