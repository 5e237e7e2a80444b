package envsim

import (
	"fmt"
	"math"
)

// Aggregate actions, valid in both action modes. Restart, drain and
// undrain pick their pod by the worst-pod rule:
//
//   - restart: the crashed pod with the longest remaining wait (a pod on a
//     failed node first), else the degraded running pod with the highest
//     badness (max of error rate/SLO, p95/SLO, memory/pressure threshold,
//     +10 if readiness fails); ties go to the lowest slot. Invalid when no
//     pod is crashed or degraded.
//   - drain: the degraded serving pod with the highest badness; invalid if
//     none, or if it is the last serving pod.
//   - undrain: the drained running pod with the lowest badness.
//   - scale down removes the pod Kubernetes would (ReplicaSet ranking):
//     crashed first, then starting or restarting, then not ready, drained,
//     then the highest badness, the newest on ties.
const (
	// ActionNoop does nothing.
	ActionNoop = iota
	// ActionRestart deletes the worst pod; a fresh one is ready after
	// RestartSteps (no back-off, transient faults cleared).
	ActionRestart
	// ActionScaleUp adds one replica (ready after StartupSteps).
	ActionScaleUp
	// ActionScaleDown removes one replica.
	ActionScaleDown
	// ActionDrain removes the worst pod from the load balancer.
	ActionDrain
	// ActionUndrain returns the best drained pod to the load balancer.
	ActionUndrain
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
	// KindScaleTo sets the replica count.
	KindScaleTo
)

// ActionSpec describes the discrete action space of a Cluster:
// ActionNoop..ActionUndrain, then "scale to n" for n = 1..MaxReplicas, then
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
	names := []string{"noop", "restart", "scale_up", "scale_down", "drain", "undrain"}
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
	in.Needless = !c.anyFaultActive() && !c.incidentOpen && c.prevAllHealthy && c.prevSLOMet
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
	case KindScaleUp:
		reason = c.scaleTo(c.replicas() + 1)
	case KindScaleDown:
		reason = c.scaleTo(c.replicas() - 1)
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
	if v < c.nView {
		return int(c.view[v])
	}
	return -1
}

// replicas counts live pods.
func (c *Cluster) replicas() int {
	n := 0
	for i := range c.pods {
		if c.pods[i].live() {
			n++
		}
	}
	return n
}

// restart deletes pod slot (or the worst pod if !explicit); a fresh pod is
// unavailable for RestartSteps, keeps only faults that live in its
// template (bad config, crash-loop) and has no back-off.
func (c *Cluster) restart(slot int, explicit bool) (int, InvalidReason) {
	if !explicit {
		slot = c.worstToRestart()
	}
	if slot < 0 {
		return -1, InvalidNothingToRestart
	}
	p := &c.pods[slot]
	if p.phase != phaseCrashed && !(p.phase == phaseRunning && (p.degraded || p.notReady || explicit)) {
		return -1, InvalidNothingToRestart
	}
	old := *p
	pc := &c.cfg.Pods
	// +1: the lifecycle timers already run in the step of the action.
	c.spawn(slot, phaseRestarting, 1+pc.RestartStepsMin+c.rng.IntN(pc.RestartStepsMax-pc.RestartStepsMin+1)+c.slowExtra)
	p.badErr, p.crashLoop, p.drained = old.badErr, old.crashLoop, old.drained
	c.retargetFaults(slot, old.uid, p.uid)
	return slot, ValidAction
}

// worstToRestart applies the restart rule, or returns -1.
func (c *Cluster) worstToRestart() int {
	best, bestWait, bestBad := -1, -1, math.Inf(-1)
	for i := range c.pods {
		p := &c.pods[i]
		if p.phase == phaseCrashed && p.remainingWait() > bestWait {
			best, bestWait = i, p.remainingWait()
		}
	}
	if best >= 0 {
		return best
	}
	for i := range c.pods {
		p := &c.pods[i]
		if p.phase == phaseRunning && (p.degraded || p.notReady) {
			if b := p.badness(c); b > bestBad {
				best, bestBad = i, b
			}
		}
	}
	return best
}

// drain removes pod slot (or the worst degraded serving pod) from the load
// balancer.
func (c *Cluster) drain(slot int, explicit bool) (int, InvalidReason) {
	serving := 0
	best, bestBad := -1, math.Inf(-1)
	for i := range c.pods {
		p := &c.pods[i]
		if !p.serving() {
			continue
		}
		serving++
		if !explicit && p.degraded {
			if b := p.badness(c); b > bestBad {
				best, bestBad = i, b
			}
		}
	}
	if explicit {
		best = slot
	}
	if best < 0 || !c.pods[best].serving() {
		return -1, InvalidNothingToDrain
	}
	if serving <= 1 {
		return -1, InvalidLastServingPod
	}
	c.pods[best].drained = true
	return best, ValidAction
}

// undrain returns pod slot (or the drained pod with the lowest badness) to
// the load balancer.
func (c *Cluster) undrain(slot int, explicit bool) (int, InvalidReason) {
	best, bestBad := -1, math.Inf(1)
	if explicit {
		if slot >= 0 && c.pods[slot].live() && c.pods[slot].drained {
			best = slot
		}
	} else {
		for i := range c.pods {
			p := &c.pods[i]
			if p.live() && p.drained {
				if b := p.badness(c); b < bestBad {
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

// scaleTo sets the replica count to n: new pods start in the lowest free
// slots, removed pods are chosen by the ReplicaSet ranking.
func (c *Cluster) scaleTo(n int) InvalidReason {
	cur := c.replicas()
	switch {
	case n > c.cfg.Pods.MaxReplicas:
		return InvalidAtMaxReplicas
	case n < c.cfg.Pods.MinReplicas:
		return InvalidAtMinReplicas
	case n == cur:
		return InvalidAlreadyAtTarget
	}
	for ; cur < n; cur++ {
		for i := range c.pods {
			if c.pods[i].phase == phaseEmpty {
				c.spawn(i, phaseStarting, 1+c.startupSteps())
				break
			}
		}
	}
	for ; cur > n; cur-- {
		v := c.scaleDownVictim()
		p := &c.pods[v]
		uid := p.uid
		*p = pod{uid: uid, phase: phaseTerminating, timer: c.cfg.Pods.TerminationSteps}
	}
	return ValidAction
}

// scaleDownVictim ranks live pods like the ReplicaSet controller.
func (c *Cluster) scaleDownVictim() int {
	best, bestScore := -1, math.Inf(-1)
	var bestUID uint32
	for i := range c.pods {
		p := &c.pods[i]
		if !p.live() {
			continue
		}
		var s float64
		switch {
		case p.phase == phaseCrashed:
			s = 1000
		case p.phase != phaseRunning:
			s = 500
		case p.notReady:
			s = 400
		case p.drained:
			s = 300 + p.badness(c)
		default:
			s = p.badness(c)
		}
		if s > bestScore || (s == bestScore && p.uid > bestUID) {
			best, bestScore, bestUID = i, s, p.uid
		}
	}
	return best
}
