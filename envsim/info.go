package envsim

// EventKind names something that happened during a step.
type EventKind uint8

const (
	// EventFaultStarted: a fault began (Fault set; Pod is its first
	// target or -1).
	EventFaultStarted EventKind = iota
	// EventFaultEnded: a fault ended, by its schedule or, with Remedied,
	// because an action removed it (restart, scale-down).
	EventFaultEnded
	// EventFaultSkipped: a fault found no pod to hit.
	EventFaultSkipped
	// EventPodCrashed: a pod went down (killed, crash-loop, bad config).
	EventPodCrashed
	// EventOOMKilled: a pod exceeded its memory limit.
	EventOOMKilled
	// EventOverloadKilled: an overloaded pod failed its liveness probe.
	EventOverloadKilled
	// EventContainerRestarted: the kubelet restarted a crashed container
	// after its back-off.
	EventContainerRestarted
	// EventPodReady: a pod passed readiness and takes traffic.
	EventPodReady
	// EventActionApplied: the action took effect (Pod is its target or -1).
	EventActionApplied
	// EventActionInvalid: the action did nothing; StepInfo.Invalid says why.
	EventActionInvalid
	// EventRecovered: every pod is healthy and the SLO is met again after
	// a failure.
	EventRecovered
	numEventKinds
)

var eventKindNames = [numEventKinds]string{
	"fault-started", "fault-ended", "fault-skipped", "pod-crashed", "oom-killed",
	"overload-killed", "container-restarted", "pod-ready", "action-applied",
	"action-invalid", "recovered",
}

// String returns the kebab-case event name.
func (k EventKind) String() string {
	if k < numEventKinds {
		return eventKindNames[k]
	}
	return "unknown"
}

// Event is one thing that happened in a step.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// Pod is the slot involved, or -1.
	Pod int
	// Fault is the fault kind for fault events, else empty.
	Fault FaultKind
	// Remedied marks a fault ended by an action rather than its schedule.
	Remedied bool
}

// InvalidReason says why an action did nothing.
type InvalidReason uint8

const (
	// ValidAction: the action was applied (or was a no-op).
	ValidAction InvalidReason = iota
	// InvalidOutOfRange: the action index is outside the action space.
	InvalidOutOfRange
	// InvalidAtMaxReplicas: scale-up at max_replicas.
	InvalidAtMaxReplicas
	// InvalidAtMinReplicas: scale-down at min_replicas.
	InvalidAtMinReplicas
	// InvalidAlreadyAtTarget: scale-to the current replica count.
	InvalidAlreadyAtTarget
	// InvalidNothingToRestart: no crashed or degraded pod (or the slot is
	// empty or already restarting).
	InvalidNothingToRestart
	// InvalidNothingToDrain: no degraded serving pod (or the slot does not
	// serve).
	InvalidNothingToDrain
	// InvalidLastServingPod: draining would leave no pod serving.
	InvalidLastServingPod
	// InvalidNothingDrained: undrain without a drained running pod.
	InvalidNothingDrained
	numInvalidReasons
)

var invalidReasonNames = [numInvalidReasons]string{
	"valid", "out of range", "at max replicas", "at min replicas", "already at target",
	"nothing to restart", "nothing to drain", "last serving pod", "nothing drained",
}

// String describes the reason.
func (r InvalidReason) String() string {
	if r < numInvalidReasons {
		return invalidReasonNames[r]
	}
	return "unknown"
}

// maxEvents bounds StepInfo.Events; more are counted in EventsDropped.
const maxEvents = 64

// StepInfo describes the last Reset or Step. Cluster.Info returns a
// pointer to the Cluster's own copy: it is valid until the next Step or
// Reset, and its Events slice must not be retained.
type StepInfo struct {
	// Scenario is the name of this episode's scenario (for "mixed", the
	// one sampled).
	Scenario string
	// Step counts steps in the episode (0 after Reset).
	Step int
	// TimeSeconds is Step * StepSeconds.
	TimeSeconds float64

	// Action is the action given to Step, Invalid why it did nothing
	// (ValidAction if it was applied or a no-op), TargetPod the slot it
	// acted on or -1.
	Action    int
	Invalid   InvalidReason
	TargetPod int
	// Needless marks a valid non-noop action taken while no fault was
	// active, no incident was open, every pod was healthy and the SLO met.
	Needless bool

	// Reward is the step reward, the sum of Components.
	Reward float64
	// Components holds each reward term, indexed by RewardComponent.
	Components [NumRewardComponents]float64

	// Events lists what happened this step, in order.
	Events []Event
	// EventsDropped counts events beyond the buffer (64).
	EventsDropped int

	// FaultActive reports that some fault was active during the step.
	FaultActive bool
	// ActiveFaults counts active fault occurrences at the end of the step.
	ActiveFaults int
	// IncidentOpen reports a failure not yet followed by full recovery.
	IncidentOpen bool
	// AllHealthy reports that every replica is running, ready, serving and
	// healthy.
	AllHealthy bool
	// SLOMet reports p95 latency and error rate within the SLO.
	SLOMet bool

	// RequestRate is the offered load (requests/s).
	RequestRate float64
	// LatencyP95Ms is the p95 latency of all requests (ms, capped at the
	// timeout); LatencyMeanMs their mean.
	LatencyP95Ms  float64
	LatencyMeanMs float64
	// ErrorRate is the fraction of requests that failed.
	ErrorRate float64
	// AvgCPU and AvgMemory average running pods (fractions of the limits).
	AvgCPU, AvgMemory float64

	// Replica counts: Replicas live pods, Ready passing readiness
	// (including drained), Serving taking traffic, and per state.
	Replicas, Ready, Serving                      int
	Healthy, Degraded, Crashed, Starting, Drained int

	// Terminated and Truncated mirror the return values of Step.
	Terminated, Truncated bool
}

// addEvent appends e unless the buffer is full.
func (s *StepInfo) addEvent(e Event) {
	if len(s.Events) == cap(s.Events) {
		s.EventsDropped++
		return
	}
	s.Events = append(s.Events, e)
}

// reset clears per-step fields and keeps the event buffer.
func (s *StepInfo) reset() {
	ev := s.Events[:0]
	*s = StepInfo{Events: ev, TargetPod: -1}
}

// HasEvent reports whether an event of kind k happened this step.
func (s *StepInfo) HasEvent(k EventKind) bool {
	for _, e := range s.Events {
		if e.Kind == k {
			return true
		}
	}
	return false
}
