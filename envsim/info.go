package envsim

// EventKind names something that happened during a step.
type EventKind uint8

const (
	// EventFaultStarted: a fault began (Fault set; Pod is its first
	// target or -1).
	EventFaultStarted EventKind = iota
	// EventFaultEnded: a fault ended, by its schedule or, with Remedied,
	// because its pods, node or ReplicaSet are gone (a restart, a
	// scale-down, a rollback).
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
	// EventRecovered: the open incident closed (see Incident); its
	// length is StepInfo.RecoverySteps.
	EventRecovered
	// EventIncidentOpened: a symptom became visible with no incident open.
	EventIncidentOpened
	// EventRolloutStarted: the Deployment got a new template revision (a
	// release, a config change or a rollback) and starts rolling it out.
	EventRolloutStarted
	// EventRolledBack: the operator rolled back to the previous revision.
	EventRolledBack
	// EventNodeNotReady: the node controller marked a failed node NotReady
	// (Node set).
	EventNodeNotReady
	// EventPodEvicted: a pod on a NotReady node was evicted after its
	// toleration.
	EventPodEvicted
	// EventNodeReady: a failed node came back (rebooted).
	EventNodeReady
	numEventKinds
)

var eventKindNames = [numEventKinds]string{
	"fault-started", "fault-ended", "fault-skipped", "pod-crashed", "oom-killed",
	"overload-killed", "container-restarted", "pod-ready", "action-applied",
	"action-invalid", "recovered", "incident-opened", "rollout-started", "rolled-back",
	"node-not-ready", "pod-evicted", "node-ready",
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
	// Node is the node involved in node events and node faults, else 0.
	Node int
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
	// InvalidNothingToRestart: no crashed, not-ready or degraded pod (or
	// the per-pod slot is empty).
	InvalidNothingToRestart
	// InvalidNothingToDrain: no degraded serving pod (or the slot does not
	// serve).
	InvalidNothingToDrain
	// InvalidLastServingPod: draining would leave no pod serving.
	InvalidLastServingPod
	// InvalidNothingDrained: undrain without a drained running pod.
	InvalidNothingDrained
	// InvalidNoPreviousRevision: rollback without an older revision.
	InvalidNoPreviousRevision
	numInvalidReasons
)

var invalidReasonNames = [numInvalidReasons]string{
	"valid", "out of range", "at max replicas", "at min replicas", "already at target",
	"nothing to restart", "nothing to drain", "last serving pod", "nothing drained",
	"no previous revision",
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
	// active, no incident was open, no rollout was in progress, every pod
	// was healthy and the SLO met.
	Needless bool

	// Reward is the step reward, the sum of Components.
	Reward float64
	// Components holds each reward term, indexed by RewardComponent.
	Components [NumRewardComponents]float64

	// Events lists what happened this step, in order.
	Events []Event
	// EventsDropped counts events beyond the buffer (64).
	EventsDropped int

	// FaultActive reports that some fault was active during the step
	// (hidden state: for analysis, never for the policy).
	FaultActive bool
	// ActiveFaults counts active fault occurrences at the end of the step;
	// FaultScopes has bit 1<<FaultScope set for each scope among them
	// (hidden state: for analysis, never for the policy).
	ActiveFaults int
	FaultScopes  uint8
	// Symptom reports a visible sign of trouble this step (see Incident).
	Symptom bool
	// IncidentOpen reports an incident open at the end of the step;
	// IncidentSteps how many steps it has been open.
	IncidentOpen  bool
	IncidentSteps int
	// RecoverySteps is the length of the incident that closed this step
	// (with EventRecovered), else 0.
	RecoverySteps int
	// AllHealthy reports that every replica is running, ready, serving and
	// healthy.
	AllHealthy bool
	// SLOMet reports p95 latency and error rate within the SLO.
	SLOMet bool
	// CapacityOK reports that the healthy serving pods alone could carry
	// the offered load within the latency SLO.
	CapacityOK bool

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

	// Replica counts as the API shows them: Replicas live pods (rollout
	// surge included; the cost), Desired the Deployment's spec.replicas,
	// Ready passing readiness (drained pods are not ready), Serving in the
	// Service's endpoints, and per observed state.
	Replicas, Desired, Ready, Serving             int
	Healthy, Degraded, Crashed, Starting, Drained int
	// Lost counts live pods on failed nodes (hidden until NotReady), and
	// NodesNotReady the nodes marked NotReady.
	Lost, NodesNotReady int
	// Updated counts live pods of the current revision; RolloutSteps is
	// the steps since the current revision was rolled out.
	Updated, RolloutSteps int

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
