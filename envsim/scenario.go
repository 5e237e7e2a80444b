package envsim

import (
	"fmt"
)

// FaultKind names a kind of injected failure. Every kind has a scope
// (FaultKind.Scope): a pod-local fault stays with the pods it hit and is
// cured by deleting them (the replacement is clean); a node fault stays
// with its node; a template fault is in the Deployment's pod template, so
// every pod created from it (by a restart, a scale-up or a ReplicaSet
// replacing a deleted pod) carries it, and only a rollback (`kubectl
// rollout undo`) or a fixed release cures it. The README ("The
// simulation") has the table of what each does.
type FaultKind string

const (
	// FaultPodCrash kills the containers of Pods running pods at once
	// (LitmusChaos container-kill). The kubelet restarts each after its
	// CrashLoopBackOff wait. Pod-local, instantaneous.
	FaultPodCrash FaultKind = "pod-crash"
	// FaultPodFailure makes a pod fail readiness for Duration steps (Chaos
	// Mesh pod-failure): it leaves the endpoints but stays a replica.
	// Pod-local; ends by itself or when the pod is deleted.
	FaultPodFailure FaultKind = "pod-failure"
	// FaultCrashLoop makes a pod's container exit at the end of every
	// start for Duration steps (corrupted local state, e.g. an emptyDir
	// cache), so the kubelet's back-off doubles to the cap. Pod-local:
	// the kubelet's restarts keep the pod and do not help; deleting the
	// pod does. After the fault ends the pod still waits out its back-off.
	FaultCrashLoop FaultKind = "crash-loop"
	// FaultCPUSpike burns Magnitude (fraction, default 0.9) of the pod's
	// CPU limit (LitmusChaos pod-cpu-hog): CPU near 100%, capacity and
	// latency suffer (throttling, never a kill). Pod-local; ends after
	// Duration or when the pod is deleted.
	FaultCPUSpike FaultKind = "cpu-spike"
	// FaultMemoryHog makes a stressor in the pod hold Magnitude MiB
	// (default 250; LitmusChaos pod-memory-hog) for Duration steps: GC
	// pressure, and an OOM kill if it crosses the limit (the stressor dies
	// with the container). Pod-local.
	FaultMemoryHog FaultKind = "memory-hog"
	// FaultMemoryLeak is a release whose code leaks Magnitude MiB per
	// running step (default 8): it rolls out like any release, and every
	// container of it grows until it is OOM-killed at the limit, then
	// starts over. A restart resets one pod's memory; the leak goes on.
	// Template: cured only by a rollback.
	FaultMemoryLeak FaultKind = "memory-leak"
	// FaultNetworkLatency adds Magnitude ms to the pod's latency (Chaos
	// Mesh delay; default 400). Pod-local; ends after Duration or when
	// the pod is deleted; draining removes its effect on users.
	FaultNetworkLatency FaultKind = "network-latency"
	// FaultNetworkLoss drops Magnitude (fraction, default 0.3) of the
	// pod's requests. Pod-local, ends like FaultNetworkLatency.
	FaultNetworkLoss FaultKind = "network-loss"
	// FaultNodeFailure takes a node with pods of the Deployment down for
	// Duration steps (0: to the end of the episode), then it reboots. Its
	// pods serve nothing at once, but stay in the endpoints until the node
	// controller marks the node NotReady (kube.node_monitor_grace_seconds)
	// and are evicted and replaced only after the toleration
	// (kube.toleration_seconds). Deleting them (a restart) gets
	// replacements at once. Pods is ignored: a node fails with whatever
	// runs on it.
	FaultNodeFailure FaultKind = "node-failure"
	// FaultBadConfig is a config change rolled out as a new revision: its
	// pods pass readiness and fail Magnitude (fraction, default 0.6) of
	// their requests; in half of the occurrences (drawn per rollout) the
	// bad value also crashes the process after two steps of serving, after
	// every start, and the rollout stalls part way with pods
	// crash-looping. Template.
	FaultBadConfig FaultKind = "bad-config"
	// FaultBadRollout is a release that rolls out and is broken: its pods
	// fail Magnitude (fraction, default 0.15) of their requests and add
	// 150 ms of latency, so the error rate jumps as the new pods take
	// traffic. Template.
	FaultBadRollout FaultKind = "bad-rollout"
	// FaultRelease is not a fault: a routine release (a new version of the
	// current template, with whatever faults it has) rolls out. Most
	// rollouts are these, so a policy must not learn that every rollout is
	// bad. A change freeze holds while an incident is open or a rollout is
	// in progress: a release due then is skipped.
	FaultRelease FaultKind = "release"
	// FaultHotfix is a release that removes the current template's faults
	// (the fix for a bad release); rolling it back brings them back.
	FaultHotfix FaultKind = "hotfix"
	// FaultSlowStart makes image pulls take Magnitude extra steps
	// (default 4) for every pod created while it is active (a slow
	// registry): new pods stay Pending longer. Cluster-wide.
	FaultSlowStart FaultKind = "slow-start"
)

// FaultScope says where a fault lives and what cures it.
type FaultScope uint8

const (
	// ScopePod: the pods hit; deleting them cures it.
	ScopePod FaultScope = iota
	// ScopeNode: one node; evicting or deleting its pods moves them away.
	ScopeNode
	// ScopeTemplate: the pod template; only a rollback cures it.
	ScopeTemplate
	// ScopeCluster: the cluster (image registry); nothing the operator of
	// the Deployment does cures it.
	ScopeCluster
)

// String names the scope.
func (s FaultScope) String() string {
	switch s {
	case ScopePod:
		return "pod"
	case ScopeNode:
		return "node"
	case ScopeTemplate:
		return "template"
	case ScopeCluster:
		return "cluster"
	}
	return "unknown"
}

// Scope returns where faults of kind k live.
func (k FaultKind) Scope() FaultScope {
	switch k {
	case FaultNodeFailure:
		return ScopeNode
	case FaultMemoryLeak, FaultBadConfig, FaultBadRollout, FaultRelease, FaultHotfix:
		return ScopeTemplate
	case FaultSlowStart:
		return ScopeCluster
	}
	return ScopePod
}

// faultKinds lists every FaultKind, in a fixed order.
var faultKinds = [...]FaultKind{
	FaultPodCrash, FaultPodFailure, FaultCrashLoop, FaultCPUSpike, FaultMemoryHog, FaultMemoryLeak,
	FaultNetworkLatency, FaultNetworkLoss, FaultNodeFailure, FaultBadConfig, FaultBadRollout, FaultRelease, FaultHotfix, FaultSlowStart,
}

// badRolloutLatencyMs is the latency a bad release adds to its pods.
const badRolloutLatencyMs = 150

// defaultMagnitude is the kind-specific magnitude used when Fault.Magnitude
// is zero.
func (k FaultKind) defaultMagnitude() float64 {
	switch k {
	case FaultCPUSpike:
		return 0.9
	case FaultMemoryHog:
		return 250
	case FaultMemoryLeak:
		return 8
	case FaultNetworkLatency:
		return 400
	case FaultNetworkLoss:
		return 0.3
	case FaultBadConfig:
		return 0.6
	case FaultBadRollout:
		return 0.15
	case FaultSlowStart:
		return 4
	}
	return 0
}

// Scenario is a named workload plus the faults injected into it.
type Scenario struct {
	// Name identifies the scenario in reports.
	Name string `yaml:"name" json:"name"`
	// Base, in a config file, names the built-in scenario the file starts
	// from; it has no effect once parsed.
	Base string `yaml:"base,omitempty" json:"base,omitempty"`
	// Description says what the scenario tests.
	Description string `yaml:"description" json:"description"`
	// InitialReplicas, when > 0, overrides pods.initial_replicas.
	InitialReplicas int `yaml:"initial_replicas" json:"initial_replicas"`
	// Workload is the request rate over time.
	Workload Workload `yaml:"workload" json:"workload"`
	// Faults are injected by schedule or rate, at most 8.
	Faults []Fault `yaml:"faults" json:"faults"`
	// Mix, when not empty, makes this a mixture: every episode samples one
	// of these built-in scenario names uniformly (training).
	Mix []string `yaml:"mix" json:"mix"`
}

// Workload shapes the request rate:
// rate(t) = base * daily(t) * flash(t) * spike(t) * (1 + noise*N(0,1)).
type Workload struct {
	// BaseRPS is the mean request rate (requests/s, > 0).
	BaseRPS float64 `yaml:"base_rps" json:"base_rps"`
	// DailyAmplitude is the relative amplitude of the daily sine, in
	// [0, 1).
	DailyAmplitude float64 `yaml:"daily_amplitude" json:"daily_amplitude"`
	// DailyPeriodSteps is the length of one compressed "day" (steps, >= 1).
	DailyPeriodSteps int `yaml:"daily_period_steps" json:"daily_period_steps"`
	// DailyPhase is the phase of the day at step 0, as a fraction of the
	// period in [0, 1); 0.75 starts at the trough.
	DailyPhase float64 `yaml:"daily_phase" json:"daily_phase"`
	// RandomPhase draws DailyPhase uniformly at every Reset instead.
	RandomPhase bool `yaml:"random_phase" json:"random_phase"`
	// Noise is the relative standard deviation of per-step noise, in
	// [0, 0.5].
	Noise float64 `yaml:"noise" json:"noise"`
	// SpikeRate is the per-step probability that a sudden spike starts,
	// in [0, 1].
	SpikeRate float64 `yaml:"spike_rate" json:"spike_rate"`
	// SpikeMultiplier multiplies the rate during a spike (>= 1).
	SpikeMultiplier float64 `yaml:"spike_multiplier" json:"spike_multiplier"`
	// SpikeSteps is the length of one spike (steps, >= 1).
	SpikeSteps int `yaml:"spike_steps" json:"spike_steps"`
	// FlashCrowds are scheduled surges, at most 4.
	FlashCrowds []FlashCrowd `yaml:"flash_crowds" json:"flash_crowds"`
}

// FlashCrowd is a scheduled surge: the rate ramps linearly up to
// Multiplier times over RampSteps, holds, then ramps down over RampSteps.
type FlashCrowd struct {
	// Start is the first step of the ramp (>= 0).
	Start int `yaml:"start" json:"start"`
	// StartJitter delays Start by a uniform [0, StartJitter] steps (>= 0).
	StartJitter int `yaml:"start_jitter" json:"start_jitter"`
	// Duration is the length including both ramps (steps, >= 1).
	Duration int `yaml:"duration" json:"duration"`
	// RampSteps is the length of each ramp (steps, >= 0, 2*ramp <=
	// duration).
	RampSteps int `yaml:"ramp_steps" json:"ramp_steps"`
	// Multiplier is the peak factor (>= 1).
	Multiplier float64 `yaml:"multiplier" json:"multiplier"`
}

// Fault schedules one kind of failure. With Rate == 0 it happens once, at
// Start plus a uniform [0, StartJitter] delay; with Rate > 0 it happens
// with that probability at every step from Start on, at most
// MaxOccurrences times (0: unlimited).
type Fault struct {
	// Kind is the failure; see the FaultKind constants.
	Kind FaultKind `yaml:"kind" json:"kind"`
	// Start is the first step the fault may begin (>= 0).
	Start int `yaml:"start" json:"start"`
	// StartJitter adds a uniform [0, StartJitter] delay to Start (>= 0).
	StartJitter int `yaml:"start_jitter" json:"start_jitter"`
	// Duration is how long one occurrence lasts (steps, >= 0; 0 means
	// until the end of the episode, or for node-failure 40 steps = 10
	// min). For a template fault it is the time until a fixed release
	// rolls out (0: never; only a rollback cures it).
	Duration int `yaml:"duration" json:"duration"`
	// Rate is the per-step probability of an occurrence, in [0, 1].
	Rate float64 `yaml:"rate" json:"rate"`
	// MaxOccurrences caps random occurrences (>= 0; 0: unlimited).
	MaxOccurrences int `yaml:"max_occurrences" json:"max_occurrences"`
	// Pods is the number of pods a pod-local occurrence hits (>= 0; 0
	// means 1). Node and template faults ignore it.
	Pods int `yaml:"pods" json:"pods"`
	// Magnitude is kind-specific (see FaultKind); 0 selects the default.
	Magnitude float64 `yaml:"magnitude" json:"magnitude"`
	// MagnitudeJitter draws each occurrence's magnitude uniformly within
	// this fraction of Magnitude, in [0, 1) (0: always Magnitude): real
	// faults vary in severity.
	MagnitudeJitter float64 `yaml:"magnitude_jitter" json:"magnitude_jitter"`
	// Deployed, for a template fault, puts it into the release already
	// running at the start of the episode instead of rolling it out later
	// (Start, Rate and Duration are then ignored).
	Deployed bool `yaml:"deployed" json:"deployed"`
}

const (
	maxFaultSpecs  = 8
	maxFlashCrowds = 4
)

func (s Scenario) validate(field string, maxReplicas int) error {
	if s.Name == "" {
		return fieldError(field+".name", "must not be empty")
	}
	if len(s.Mix) > 0 {
		for i, name := range s.Mix {
			sc, err := ScenarioByName(name)
			if err != nil || len(sc.Mix) > 0 {
				return fieldError(fmt.Sprintf("%s.mix[%d]", field, i), "must name a built-in, non-mixed scenario (got %q)", name)
			}
		}
		return nil
	}
	if s.InitialReplicas < 0 || s.InitialReplicas > maxReplicas {
		return fieldError(field+".initial_replicas", "must be in [0, max_replicas] (got %d)", s.InitialReplicas)
	}
	if err := s.Workload.validate(field + ".workload"); err != nil {
		return err
	}
	if len(s.Faults) > maxFaultSpecs {
		return fieldError(field+".faults", "at most %d faults (got %d)", maxFaultSpecs, len(s.Faults))
	}
	for i, f := range s.Faults {
		if err := f.validate(fmt.Sprintf("%s.faults[%d]", field, i), maxReplicas); err != nil {
			return err
		}
	}
	return nil
}

func (w Workload) validate(field string) error {
	switch {
	case !finite(w.BaseRPS) || w.BaseRPS <= 0:
		return fieldError(field+".base_rps", "must be > 0 (got %v)", w.BaseRPS)
	case !finite(w.DailyAmplitude) || w.DailyAmplitude < 0 || w.DailyAmplitude >= 1:
		return fieldError(field+".daily_amplitude", "must be in [0, 1) (got %v)", w.DailyAmplitude)
	case w.DailyPeriodSteps < 1:
		return fieldError(field+".daily_period_steps", "must be >= 1 (got %d)", w.DailyPeriodSteps)
	case !finite(w.DailyPhase) || w.DailyPhase < 0 || w.DailyPhase >= 1:
		return fieldError(field+".daily_phase", "must be in [0, 1) (got %v)", w.DailyPhase)
	case !finite(w.Noise) || w.Noise < 0 || w.Noise > 0.5:
		return fieldError(field+".noise", "must be in [0, 0.5] (got %v)", w.Noise)
	case !finite(w.SpikeRate) || w.SpikeRate < 0 || w.SpikeRate > 1:
		return fieldError(field+".spike_rate", "must be in [0, 1] (got %v)", w.SpikeRate)
	case !finite(w.SpikeMultiplier) || w.SpikeMultiplier < 1 || w.SpikeMultiplier > 100:
		return fieldError(field+".spike_multiplier", "must be in [1, 100] (got %v)", w.SpikeMultiplier)
	case w.SpikeSteps < 1:
		return fieldError(field+".spike_steps", "must be >= 1 (got %d)", w.SpikeSteps)
	case len(w.FlashCrowds) > maxFlashCrowds:
		return fieldError(field+".flash_crowds", "at most %d (got %d)", maxFlashCrowds, len(w.FlashCrowds))
	}
	for i, fc := range w.FlashCrowds {
		f := fmt.Sprintf("%s.flash_crowds[%d]", field, i)
		switch {
		case fc.Start < 0:
			return fieldError(f+".start", "must be >= 0 (got %d)", fc.Start)
		case fc.StartJitter < 0:
			return fieldError(f+".start_jitter", "must be >= 0 (got %d)", fc.StartJitter)
		case fc.Duration < 1:
			return fieldError(f+".duration", "must be >= 1 (got %d)", fc.Duration)
		case fc.RampSteps < 0 || 2*fc.RampSteps > fc.Duration:
			return fieldError(f+".ramp_steps", "must be in [0, duration/2] (got %d)", fc.RampSteps)
		case !finite(fc.Multiplier) || fc.Multiplier < 1 || fc.Multiplier > 100:
			return fieldError(f+".multiplier", "must be in [1, 100] (got %v)", fc.Multiplier)
		}
	}
	return nil
}

func (f Fault) validate(field string, maxReplicas int) error {
	known := false
	for _, k := range faultKinds {
		known = known || k == f.Kind
	}
	switch {
	case !known:
		return fieldError(field+".kind", "unknown fault kind %q", f.Kind)
	case f.Start < 0:
		return fieldError(field+".start", "must be >= 0 (got %d)", f.Start)
	case f.StartJitter < 0:
		return fieldError(field+".start_jitter", "must be >= 0 (got %d)", f.StartJitter)
	case f.Duration < 0:
		return fieldError(field+".duration", "must be >= 0 (got %d)", f.Duration)
	case !finite(f.Rate) || f.Rate < 0 || f.Rate > 1:
		return fieldError(field+".rate", "must be in [0, 1] (got %v)", f.Rate)
	case f.MaxOccurrences < 0:
		return fieldError(field+".max_occurrences", "must be >= 0 (got %d)", f.MaxOccurrences)
	case f.Pods < 0 || f.Pods > maxReplicas:
		return fieldError(field+".pods", "must be in [0, max_replicas] (got %d)", f.Pods)
	case !finite(f.Magnitude) || f.Magnitude < 0:
		return fieldError(field+".magnitude", "must be >= 0 (got %v)", f.Magnitude)
	case !finite(f.MagnitudeJitter) || f.MagnitudeJitter < 0 || f.MagnitudeJitter >= 1:
		return fieldError(field+".magnitude_jitter", "must be in [0, 1) (got %v)", f.MagnitudeJitter)
	case (f.Kind == FaultCPUSpike || f.Kind == FaultNetworkLoss || f.Kind == FaultBadConfig || f.Kind == FaultBadRollout) && f.Magnitude > 1:
		return fieldError(field+".magnitude", "must be a fraction in [0, 1] for %s (got %v)", f.Kind, f.Magnitude)
	case f.Deployed && (f.Kind.Scope() != ScopeTemplate || f.Kind == FaultRelease || f.Kind == FaultHotfix):
		return fieldError(field+".deployed", "only a template fault (bad-config, bad-rollout, memory-leak) can be deployed at the start (got %s)", f.Kind)
	}
	return nil
}
