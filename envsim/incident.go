package envsim

// RecoveryHoldSteps is how many consecutive good steps close an incident:
// 2 steps (30 s) with the SLO held, no visible symptom, and enough
// healthy serving capacity for the load.
const RecoveryHoldSteps = 2

// incident is the state of the one incident definition, used by the
// reward, the actors' Prometheus metrics and the evaluation alike:
//
//   - a step shows a symptom when something a cluster exposes is wrong:
//     the service misses its SLO (p95 latency or error rate), a container
//     waits in CrashLoopBackOff, a running pod fails readiness or its own
//     metrics (errors, latency, memory near the limit, CPU throttled) or
//     sits on a NotReady node, or a pod is drained (StepInfo.Symptom);
//   - an incident opens at the first step with a symptom;
//   - it closes at the end of RecoveryHoldSteps consecutive steps without
//     any symptom and with enough capacity (StepInfo.CapacityOK); its
//     recovery time is the steps from its opening step to its closing
//     step.
//
// Hidden state (a fault injected but not yet visible, a node that died a
// moment ago) never opens or closes an incident. Removing or draining a
// pod never closes one by itself: a drained pod is a symptom, and after a
// removal the service must still hold its SLO with enough capacity.
type incident struct {
	open   bool
	openAt int
	good   int // consecutive good steps while open
}

// trackIncident advances the incident with this step's symptom and
// capacity and records the result in info.
func (c *Cluster) trackIncident() {
	in := &c.info
	ic := &c.incident
	switch {
	case !ic.open && in.Symptom:
		ic.open, ic.openAt, ic.good = true, c.step, 0
		in.addEvent(Event{Kind: EventIncidentOpened, Pod: -1})
	case ic.open && !in.Symptom && in.CapacityOK:
		ic.good++
		if ic.good >= RecoveryHoldSteps {
			ic.open = false
			in.RecoverySteps = c.step - ic.openAt
			in.addEvent(Event{Kind: EventRecovered, Pod: -1})
		}
	case ic.open:
		ic.good = 0
	}
	in.IncidentOpen = ic.open
	if ic.open {
		in.IncidentSteps = c.step - ic.openAt
	}
}

// EpisodeStats sums up one episode of a Cluster from its StepInfo, with
// the incident definition above. The actors' Prometheus metrics and the
// evaluation report both use it, so they agree. Call Begin after Reset and
// Add after every Step; Add allocates only when RecoverySteps outgrows its
// capacity, which Begin keeps.
type EpisodeStats struct {
	// Scenario is the episode's scenario (for a mix, the one sampled).
	Scenario string
	// Return is the sum of rewards, Steps the number of steps.
	Return float64
	Steps  int
	// Terminated and Truncated say how the episode ended.
	Terminated, Truncated bool
	// Incidents counts incidents opened (one open at Reset included),
	// Recovered those that closed, RecoverySteps their lengths in order.
	// OpenSteps is the length so far of an incident still open at the
	// end (censored), 0 if none.
	Incidents, Recovered int
	RecoverySteps        []int
	OpenSteps            int
	// SLOSteps counts steps with the SLO met.
	SLOSteps int
	// HealthySum sums healthy/replicas, AvailabilitySum 1-error rate,
	// LatencySum the service's p95 latency (ms), over steps.
	HealthySum, AvailabilitySum, LatencySum float64
	// ReplicaSteps sums live pods over steps (cost; one unit is a pod for
	// 15 s).
	ReplicaSteps int
	// Actions counts applied non-noop actions, Invalid the invalid ones,
	// Needless the applied ones taken while nothing was wrong.
	Actions, Invalid, Needless int
}

// Begin starts a new episode from the info of Reset.
func (s *EpisodeStats) Begin(in *StepInfo) {
	rec := s.RecoverySteps[:0]
	*s = EpisodeStats{Scenario: in.Scenario, RecoverySteps: rec}
	if in.IncidentOpen {
		s.Incidents++
	}
}

// Add books one step.
func (s *EpisodeStats) Add(in *StepInfo) {
	s.Steps++
	s.Return += in.Reward
	s.Terminated, s.Truncated = in.Terminated, in.Truncated
	if in.SLOMet {
		s.SLOSteps++
	}
	if in.Replicas > 0 {
		s.HealthySum += float64(in.Healthy) / float64(in.Replicas)
	}
	s.AvailabilitySum += 1 - in.ErrorRate
	s.LatencySum += in.LatencyP95Ms
	s.ReplicaSteps += in.Replicas
	if in.Action != ActionNoop {
		switch {
		case in.Invalid != ValidAction:
			s.Invalid++
		default:
			s.Actions++
			if in.Needless {
				s.Needless++
			}
		}
	}
	for _, e := range in.Events {
		switch e.Kind {
		case EventIncidentOpened:
			s.Incidents++
		case EventRecovered:
			s.Recovered++
			s.RecoverySteps = append(s.RecoverySteps, in.RecoverySteps)
		}
	}
	s.OpenSteps = 0
	if in.IncidentOpen {
		s.OpenSteps = in.IncidentSteps
	}
}

// mean divides sum by the step count (0 without steps).
func (s *EpisodeStats) mean(sum float64) float64 {
	if s.Steps == 0 {
		return 0
	}
	return sum / float64(s.Steps)
}

// SLOAttainment is the share of steps with the SLO met.
func (s *EpisodeStats) SLOAttainment() float64 { return s.mean(float64(s.SLOSteps)) }

// HealthyFraction is the mean share of healthy replicas.
func (s *EpisodeStats) HealthyFraction() float64 { return min(1, s.mean(s.HealthySum)) }

// Availability is the mean share of requests served successfully.
func (s *EpisodeStats) Availability() float64 { return s.mean(s.AvailabilitySum) }

// MeanLatencyP95Ms is the mean over steps of the service's p95 latency.
func (s *EpisodeStats) MeanLatencyP95Ms() float64 { return s.mean(s.LatencySum) }
