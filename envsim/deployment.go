package envsim

import "math"

// template is what a ReplicaSet's pod template carries that matters to
// the simulation: the faults that live in the code, image or config, so
// that every pod created from it has them (REFERENCE.md, "Deleting a
// pod").
type template struct {
	version  int     // the release (image tag): two releases are two templates
	badErr   float64 // bad config: error fraction
	badCrash bool    // bad config: the process also crashes after two steps of serving
	errRate  float64 // bad release: extra error fraction
	latMs    float64 // bad release: extra latency (ms)
	leakRate float64 // code leak (MiB per running step)
}

// faulty reports whether the template carries any fault.
func (t template) faulty() bool {
	return t.badErr > 0 || t.errRate > 0 || t.latMs > 0 || t.leakRate > 0
}

// replicaSet is one revision of the Deployment.
type replicaSet struct {
	revision int // deployment.kubernetes.io/revision
	spec     int // desired replicas
	tmpl     template
}

// maxReplicaSets bounds the ReplicaSets kept (revisionHistoryLimit is 10
// upstream; 8 revisions are plenty for one episode).
const maxReplicaSets = 8

// rollingBounds returns the Deployment's maxSurge (rounded up) and
// maxUnavailable (rounded down) for d replicas; when both are 0,
// maxUnavailable is 1 (the Deployment controller's fenceposts).
func (c *Cluster) rollingBounds(d int) (surge, unavailable int) {
	k := &c.cfg.Kube
	surge = int(math.Ceil(k.MaxSurge*float64(d) - 1e-9))
	unavailable = int(math.Floor(k.MaxUnavailable*float64(d) + 1e-9))
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// countReplicaSets fills rsActive and rsAvail: the live and the
// available (ready) pods of every ReplicaSet.
func (c *Cluster) countReplicaSets() {
	clear(c.rsActive[:])
	clear(c.rsAvail[:])
	for i := range c.pods {
		p := &c.pods[i]
		if p.live() {
			c.rsActive[p.rs]++
			if c.ready(p) {
				c.rsAvail[p.rs]++
			}
		}
	}
}

// newRevision makes t the Deployment's template, as `kubectl apply` of a
// new image or config (or `rollout undo`, which passes the previous
// template) does: a ReplicaSet with the next revision, to which the
// rolling update moves the pods. It reuses a ReplicaSet with the same
// template, as the Deployment controller does.
func (c *Cluster) newRevision(t template) {
	maxRev, target := 0, -1
	for r := range c.nRS {
		maxRev = max(maxRev, c.rs[r].revision)
		if c.rs[r].tmpl == t {
			target = r
		}
	}
	if target < 0 {
		target = c.freeReplicaSet()
		c.rs[target] = replicaSet{tmpl: t}
	}
	c.rs[target].revision = maxRev + 1
	c.cur = target
	c.rolloutAt = c.step
	c.info.addEvent(Event{Kind: EventRolloutStarted, Pod: -1})
}

// freeReplicaSet returns a slot for a new ReplicaSet, dropping the oldest
// one without pods or replicas when all are taken.
func (c *Cluster) freeReplicaSet() int {
	if c.nRS < maxReplicaSets {
		c.nRS++
		return c.nRS - 1
	}
	oldest := -1
	for r := range c.nRS {
		if r == c.cur || c.rs[r].spec > 0 || c.rsActive[r] > 0 {
			continue
		}
		if oldest < 0 || c.rs[r].revision < c.rs[oldest].revision {
			oldest = r
		}
	}
	if oldest < 0 {
		oldest = (c.cur + 1) % maxReplicaSets // unreachable with <= 2*64 pods spread over 8 sets
	}
	return oldest
}

// previousRevision returns the ReplicaSet `kubectl rollout undo` goes
// back to: the highest revision below the current one, or -1.
func (c *Cluster) previousRevision() int {
	best := -1
	for r := range c.nRS {
		if r != c.cur && (best < 0 || c.rs[r].revision > c.rs[best].revision) {
			best = r
		}
	}
	return best
}

// rolloutInProgress reports whether older revisions still have replicas
// or pods (as of the last countReplicaSets).
func (c *Cluster) rolloutInProgress() bool {
	for r := range c.nRS {
		if r != c.cur && (c.rs[r].spec > 0 || c.rsActive[r] > 0) {
			return true
		}
	}
	return false
}

// scaleDeployment sets the Deployment's replicas to d as `kubectl scale`
// does. With one active ReplicaSet it takes them all; during a rollout
// the change is spread over the active ReplicaSets in proportion to
// their size, the rest going to the largest (newest on ties), as the
// Deployment controller's proportional scaling does.
func (c *Cluster) scaleDeployment(d int) {
	c.desired = d
	nActive, only := 0, c.cur
	for r := range c.nRS {
		if c.rs[r].spec > 0 {
			nActive++
			only = r
		}
	}
	if nActive <= 1 {
		c.rs[only].spec = d
		return
	}
	surge, _ := c.rollingBounds(d)
	sum := 0
	for r := range c.nRS {
		sum += c.rs[r].spec
	}
	add := d + surge - sum
	if add == 0 {
		return
	}
	done, largest := 0, -1
	for r := range c.nRS {
		s := c.rs[r].spec
		if s == 0 {
			continue
		}
		if largest < 0 || s > c.rs[largest].spec || (s == c.rs[largest].spec && c.rs[r].revision > c.rs[largest].revision) {
			largest = r
		}
		part := int(math.Round(float64(s) * float64(add) / float64(sum)))
		if add > 0 {
			part = min(part, add-done)
		} else {
			part = max(part, add-done, -s)
		}
		c.rs[r].spec += part
		done += part
	}
	c.rs[largest].spec = max(0, c.rs[largest].spec+add-done)
}

// syncDeployment runs one pass of the Deployment controller's
// RollingUpdate: scale the new ReplicaSet up within maxSurge, then scale
// old ones down while at least replicas-maxUnavailable pods stay
// available, unavailable old pods first. It reports whether a spec
// changed.
func (c *Cluster) syncDeployment() bool {
	d := c.desired
	cur := &c.rs[c.cur]
	if !c.rolloutInProgress() {
		if cur.spec != d {
			cur.spec = d
			return true
		}
		return false
	}
	surge, unavailable := c.rollingBounds(d)
	changed := false
	total := 0
	for r := range c.nRS {
		total += c.rs[r].spec
	}
	if up := min(d+surge-total, d-cur.spec); up > 0 {
		cur.spec += up
		changed = true
	}
	// Old ReplicaSets, oldest revision first.
	minAvailable := d - unavailable
	total = 0
	for r := range c.nRS {
		total += c.rs[r].spec
	}
	maxDown := total - minAvailable - (cur.spec - c.rsAvail[c.cur])
	if maxDown <= 0 {
		return changed
	}
	cleaned := 0
	c.forOldByRevision(func(r int) {
		rs := &c.rs[r]
		unhealthy := rs.spec - c.rsAvail[r]
		if rs.spec == 0 || unhealthy <= 0 || cleaned >= maxDown {
			return
		}
		k := min(maxDown-cleaned, unhealthy)
		rs.spec -= k
		cleaned += k
		changed = true
	})
	availAll := 0
	for r := range c.nRS {
		availAll += c.rsAvail[r]
	}
	down := availAll - minAvailable
	c.forOldByRevision(func(r int) {
		rs := &c.rs[r]
		if down <= 0 || rs.spec == 0 {
			return
		}
		k := min(rs.spec, down)
		rs.spec -= k
		down -= k
		changed = true
	})
	return changed
}

// forOldByRevision calls f for every ReplicaSet but the current one, in
// increasing revision order.
func (c *Cluster) forOldByRevision(f func(r int)) {
	last := -1
	for {
		next := -1
		for r := range c.nRS {
			rev := c.rs[r].revision
			if r != c.cur && rev > last && (next < 0 || rev < c.rs[next].revision) {
				next = r
			}
		}
		if next < 0 {
			return
		}
		last = c.rs[next].revision
		f(next)
	}
}

// syncReplicaSets makes every ReplicaSet's live pods match its spec:
// missing pods are created from its template, surplus ones deleted in
// the ReplicaSet controller's order (deletionVictim).
// It reports whether it created or deleted a pod.
func (c *Cluster) syncReplicaSets() bool {
	acted := false
	for r := range c.nRS {
		active := c.rsActive[r]
		for ; active < c.rs[r].spec; active++ {
			if !c.createPod(r) {
				break
			}
			acted = true
		}
		for ; active > c.rs[r].spec; active-- {
			c.deletePod(c.deletionVictim(r))
			acted = true
		}
	}
	return acted
}

// reconcile runs the Deployment and ReplicaSet controllers until they
// settle; they react within seconds, well inside a step. It leaves
// rsActive and rsAvail current.
func (c *Cluster) reconcile() {
	c.countReplicaSets()
	for range 4 {
		changed := c.syncDeployment()
		if !c.syncReplicaSets() && !changed {
			return
		}
		c.countReplicaSets()
	}
}

// deletionVictim returns the live pod of ReplicaSet r that the
// ReplicaSet controller deletes first when it scales down
// (ActivePodsWithRanks in pkg/controller/controller_utils.go; REFERENCE.md
// "ReplicaSet scale-down victim"). It never looks at latency, errors or
// memory.
func (c *Cluster) deletionVictim(r int) int {
	var onNode [maxNodes + 1]int // index node+1: unscheduled pods at 0
	for i := range c.pods {
		if p := &c.pods[i]; p.live() {
			onNode[p.node+1]++
		}
	}
	best := -1
	var bestRank int
	for i := range c.pods {
		p := &c.pods[i]
		if !p.live() || int(p.rs) != r {
			continue
		}
		rank := onNode[p.node+1]
		if best < 0 || c.deletedBefore(p, rank, &c.pods[best], bestRank) {
			best, bestRank = i, rank
		}
	}
	return best
}

// deletedBefore reports whether a goes before b in the ReplicaSet
// controller's order. rankA and rankB count the Deployment's pods on each
// pod's node (pods doubled up on a node go first). Times compare in
// log2 buckets of seconds, and pods in the same bucket in random (UID)
// order, as with the LogarithmicScaleDown feature (on by default since
// Kubernetes 1.22). Pod deletion cost is not modelled: it is 0 for every
// pod, as no annotation is set.
func (c *Cluster) deletedBefore(a *pod, rankA int, b *pod, rankB int) bool {
	// 1. Unscheduled before scheduled.
	if (a.node == noNode) != (b.node == noNode) {
		return a.node == noNode
	}
	// 2. Pending before Running (no pod is Unknown here).
	if pa, pb := a.phase == phasePending, b.phase == phasePending; pa != pb {
		return pa
	}
	// 3. Not ready before ready.
	ra, rb := c.ready(a), c.ready(b)
	if ra != rb {
		return !ra
	}
	// 5. More pods of the set on the same node first.
	if rankA != rankB {
		return rankA > rankB
	}
	// 6. Ready for a shorter time first.
	if ra && rb && a.readyAt != b.readyAt {
		ba, bb := c.logBucket(a.readyAt), c.logBucket(b.readyAt)
		if ba == bb {
			return a.tie < b.tie
		}
		return ba < bb
	}
	// 7. More container restarts first.
	if a.restarts != b.restarts {
		return a.restarts > b.restarts
	}
	// 8. Newer first.
	if a.created != b.created {
		ba, bb := c.logBucket(a.created), c.logBucket(b.created)
		if ba == bb {
			return a.tie < b.tie
		}
		return ba < bb
	}
	return a.tie < b.tie
}

// logBucket is floor(log2(seconds since step)), the bucket the
// LogarithmicScaleDown comparison uses (0 for under 2 s).
func (c *Cluster) logBucket(step int) int {
	s := int(float64(c.step-step)*StepSeconds) + 1
	b := 0
	for s > 1 {
		s >>= 1
		b++
	}
	return b
}
