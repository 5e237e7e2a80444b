package envsim

import (
	"fmt"
)

// Aggregate actions, valid in both action modes. Each is one Kubernetes
// operation (the README's mapping table); restart, drain and undrain pick
// their pod by what a cluster shows (never by the simulator's hidden
// state), the worst-pod rule:
//
//   - restart (`kubectl delete pod`): a pod whose container waits in
//     CrashLoopBackOff, most restarts first; else a pod on a NotReady node;
//     else a running pod failing readiness; else the degraded pod with the
//     highest badness (max of error rate/SLO, p95/SLO, memory/pressure
//     threshold). Ties go to the lowest slot. Invalid when no pod is
//     crashed, lost to a NotReady node, not ready or degraded.
//   - drain (readiness gate set to false): the degraded serving pod with
//     the highest badness; invalid if none, or if it is the last serving
//     pod.
//   - undrain: the drained pod with the lowest badness.
//   - scale down (`kubectl scale`): the ReplicaSet controller deletes the
//     pod of its ranking (deletionVictim), which never looks at latency,
//     errors or memory: a drained (not ready) pod goes before ready ones.
//   - rollback (`kubectl rollout undo`): roll the previous revision's
//     template out again (RollingUpdate, maxSurge 25%, maxUnavailable
//     25%).
const (
	// ActionNoop does nothing.
	ActionNoop = iota
	// ActionRestart deletes the worst pod; its ReplicaSet creates a
	// replacement from the same template at once, which starts and warms
	// up as usual, while the deleted pod terminates gracefully.
	ActionRestart
	// ActionScaleUp adds one replica.
	ActionScaleUp
	// ActionScaleDown removes one replica.
	ActionScaleDown
	// ActionDrain takes the worst pod out of the Service's endpoints.
	ActionDrain
	// ActionUndrain returns the best drained pod to the endpoints.
	ActionUndrain
	// ActionRollback rolls back to the previous revision.
	ActionRollback
	// ActionScaleToBase is the first of MaxReplicas actions "scale to n"
	// (n = index - ActionScaleToBase + 1), which the HPA baseline needs to
	// move several replicas per step like Kubernetes does.
	ActionScaleToBase
)

// ActionKind is what an action index does.
type ActionKind uint8

const (
	// KindNoop does nothing.
	KindNoop ActionKind = iota
	// KindRestart restarts a pod.
	KindRestart
	// KindScaleUp adds a replica.
	KindScaleUp
	// KindScaleDown removes a replica.
	KindScaleDown
	// KindDrain drains a pod.
	KindDrain
	// KindUndrain undrains a pod.
	KindUndrain
	// KindRollback rolls back to the previous revision.
	KindRollback
	// KindScaleTo sets the replica count.
	KindScaleTo
)

// ActionSpec describes the discrete action space of a Cluster:
// ActionNoop..ActionRollback, then "scale to n" for n = 1..MaxReplicas, then
// in per-pod mode restart, drain and undrain of each per-pod slot.
type ActionSpec struct {
	// Mode is the action mode.
	Mode ActionMode
	// Size is the number of actions.
	Size int
	// Names names every action ("noop", "scale_to_3", "restart_pod_2").
	Names []string
	// MaxReplicas is the number of scale-to actions and per-pod slots.
	MaxReplicas int
}

func newActionSpec(mode ActionMode, maxReplicas int) ActionSpec {
	names := []string{"noop", "restart", "scale_up", "scale_down", "drain", "undrain", "rollback"}
	for n := 1; n <= maxReplicas; n++ {
		names = append(names, fmt.Sprintf("scale_to_%d", n))
	}
	if mode == ActionModePerPod {
		for _, verb := range []string{"restart", "drain", "undrain"} {
			for i := range maxReplicas {
				names = append(names, fmt.Sprintf("%s_pod_%d", verb, i))
			}
		}
	}
	return ActionSpec{Mode: mode, Size: len(names), Names: names, MaxReplicas: maxReplicas}
}

// ScaleTo returns the action that sets the replica count to n, in
// [1, MaxReplicas].
func (s ActionSpec) ScaleTo(n int) int { return ActionScaleToBase + n - 1 }

// PodAction returns the per-pod action of kind (KindRestart, KindDrain or
// KindUndrain) for per-pod slot i, or -1 outside per-pod mode.
func (s ActionSpec) PodAction(kind ActionKind, i int) int {
	if s.Mode != ActionModePerPod || i < 0 || i >= s.MaxReplicas {
		return -1
	}
	base := ActionScaleToBase + s.MaxReplicas
	switch kind {
	case KindRestart:
		return base + i
	case KindDrain:
		return base + s.MaxReplicas + i
	case KindUndrain:
		return base + 2*s.MaxReplicas + i
	}
	return -1
}

// Decode returns what action a does and its argument: the replica count
// for KindScaleTo, the per-pod slot for per-pod actions, else -1. ok is
// false outside the action space.
func (s ActionSpec) Decode(a int) (kind ActionKind, arg int, ok bool) {
	switch {
	case a < 0 || a >= s.Size:
		return KindNoop, -1, false
	case a < ActionScaleToBase:
		return ActionKind(a), -1, true
	case a < ActionScaleToBase+s.MaxReplicas:
		return KindScaleTo, a - ActionScaleToBase + 1, true
	}
	r := a - ActionScaleToBase - s.MaxReplicas
	return [...]ActionKind{KindRestart, KindDrain, KindUndrain}[r/s.MaxReplicas], r % s.MaxReplicas, true
}

// applyAction carries out action a and records it in info. It returns
// whether a non-noop action was applied and whether it was invalid.
func (c *Cluster) applyAction(a int) (acted, invalid bool) {
	in := &c.info
	in.Action = a
	kind, arg, ok := c.actSpec.Decode(a)
	if !ok {
		return false, c.invalid(InvalidOutOfRange)
	}
	if kind == KindNoop {
		return false, false
	}
	in.Needless = !c.anyFaultActive() && !c.incident.open && c.prevAllHealthy && c.prevSLOMet && !c.rolloutInProgress()
	target := -1
	switch kind {
	case KindRestart, KindDrain, KindUndrain:
		if arg >= 0 {
			target = c.viewSlot(arg)
		}
	}
	reason := ValidAction
	switch kind {
	case KindRestart:
		target, reason = c.restart(target, arg >= 0)
	case KindDrain:
		target, reason = c.drain(target, arg >= 0)
	case KindUndrain:
		target, reason = c.undrain(target, arg >= 0)
	case KindRollback:
		reason = c.rollback()
	case KindScaleUp:
		reason = c.scaleTo(c.desired + 1)
	case KindScaleDown:
		reason = c.scaleTo(c.desired - 1)
	case KindScaleTo:
		reason = c.scaleTo(arg)
	}
	if reason != ValidAction {
		in.Needless = false
		return false, c.invalid(reason)
	}
	in.TargetPod = target
	in.addEvent(Event{Kind: EventActionApplied, Pod: target})
	return true, false
}

func (c *Cluster) invalid(r InvalidReason) bool {
	c.info.Invalid = r
	c.info.addEvent(Event{Kind: EventActionInvalid, Pod: -1})
	return true
}

// viewSlot maps per-pod slot v of the last observation to a pod slot, or
// -1.
func (c *Cluster) viewSlot(v int) int {
	if v >= 0 && v < len(c.viewPod) {
		return int(c.viewPod[v])
	}
	return -1
}

// badness ranks pods for the worst-pod rule from what the pod's metrics
// show: the largest of error rate, p95 latency and memory, each relative
// to its threshold.
func (c *Cluster) badness(p *pod) float64 {
	b := max(p.errRate/c.cfg.SLO.ErrorRate, p.p95/c.cfg.SLO.LatencyP95Ms)
	return max(b, p.mem/(c.cfg.Pods.MemoryPressure*c.cfg.Pods.MemoryLimitMiB))
}

// restartScore orders restart candidates by what the cluster shows; 0
// means "nothing to restart".
func (c *Cluster) restartScore(p *pod) float64 {
	switch {
	case !p.live():
		return 0
	case p.phase == phaseCrashed:
		return 3000 + float64(p.restarts)
	case c.nodeNotReady(p):
		return 2000
	case p.phase == phaseRunning && p.notReady:
		return 1000
	case p.phase == phaseRunning && p.degraded && !c.lost(p):
		return 1 + c.badness(p)
	}
	return 0
}

// restart deletes pod slot (or the worst pod if !explicit): `kubectl
// delete pod`. An explicit restart may hit any live pod.
func (c *Cluster) restart(slot int, explicit bool) (int, InvalidReason) {
	if !explicit {
		best := 0.0
		for i := range c.pods {
			if s := c.restartScore(&c.pods[i]); s > best {
				slot, best = i, s
			}
		}
	}
	if slot < 0 || !c.pods[slot].live() {
		return -1, InvalidNothingToRestart
	}
	c.deletePod(slot)
	return slot, ValidAction
}

// drain sets the readiness gate of pod slot (or the worst degraded
// serving pod) to false.
func (c *Cluster) drain(slot int, explicit bool) (int, InvalidReason) {
	serving := 0
	best, bestBad := -1, 0.0
	for i := range c.pods {
		p := &c.pods[i]
		if !c.serving(p) {
			continue
		}
		serving++
		if !explicit && p.degraded {
			if b := c.badness(p); best < 0 || b > bestBad {
				best, bestBad = i, b
			}
		}
	}
	if explicit {
		best = slot
	}
	if best < 0 || !c.serving(&c.pods[best]) {
		return -1, InvalidNothingToDrain
	}
	if serving <= 1 {
		return -1, InvalidLastServingPod
	}
	c.pods[best].drained = true
	return best, ValidAction
}

// undrain sets the readiness gate of pod slot (or the drained pod with
// the lowest badness) back to true.
func (c *Cluster) undrain(slot int, explicit bool) (int, InvalidReason) {
	best, bestBad := -1, 0.0
	if explicit {
		if slot >= 0 && c.pods[slot].live() && c.pods[slot].drained {
			best = slot
		}
	} else {
		for i := range c.pods {
			p := &c.pods[i]
			if p.live() && p.drained {
				if b := c.badness(p); best < 0 || b < bestBad {
					best, bestBad = i, b
				}
			}
		}
	}
	if best < 0 {
		return -1, InvalidNothingDrained
	}
	c.pods[best].drained = false
	return best, ValidAction
}

// rollback rolls the previous revision's template out.
func (c *Cluster) rollback() InvalidReason {
	prev := c.previousRevision()
	if prev < 0 {
		return InvalidNoPreviousRevision
	}
	c.newRevision(c.rs[prev].tmpl)
	c.info.addEvent(Event{Kind: EventRolledBack, Pod: -1})
	return ValidAction
}

// scaleTo sets the Deployment's replicas to n.
func (c *Cluster) scaleTo(n int) InvalidReason {
	switch {
	case n > c.cfg.Pods.MaxReplicas:
		return InvalidAtMaxReplicas
	case n < c.cfg.Pods.MinReplicas:
		return InvalidAtMinReplicas
	case n == c.desired:
		return InvalidAlreadyAtTarget
	}
	c.scaleDeployment(n)
	return ValidAction
}
