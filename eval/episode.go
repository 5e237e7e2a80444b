package eval

import (
	"slices"

	"podmedic/envsim"
	"podmedic/policy"
)

// Episode holds the measures of one evaluation episode.
type Episode struct {
	// Scenario is the evaluated scenario (for "mixed", "mixed"; Sampled
	// names the one drawn), Policy the policy, Index the episode number
	// and Seed its environment seed.
	Scenario, Sampled, Policy string
	Index                     int
	Seed                      uint64
	// Return is the sum of rewards.
	Return float64
	// Steps is the episode length; Terminated reports an early end (every
	// pod down).
	Steps      int
	Terminated bool
	// Incidents counts incidents (envsim's definition: opened by a visible
	// symptom, closed by two good steps with enough capacity); Recovered
	// those closed before the end.
	Incidents, Recovered int
	// RecoverySteps lists, per incident, the steps from its opening to its
	// closing; one still open at the end counts the steps to the episode's
	// end (censored).
	RecoverySteps []int
	// SLOAttainment is the share of steps with p95 latency and error rate
	// within the SLO (0..1).
	SLOAttainment float64
	// Availability is the mean share of requests served successfully (0..1).
	Availability float64
	// ReplicaSteps sums live replicas over the steps (cost; one unit is a
	// replica for 15 s).
	ReplicaSteps int
	// Actions counts applied non-noop actions, Invalid the invalid ones,
	// Needless the applied ones taken while nothing was wrong (no fault,
	// no open incident, all healthy, SLO met).
	Actions, Invalid, Needless int
	// LatencyP95Ms is the mean over steps of the service's p95 latency (ms).
	LatencyP95Ms float64
}

// MeanRecoverySteps is the mean of RecoverySteps, or 0 without incidents.
func (e *Episode) MeanRecoverySteps() float64 {
	if len(e.RecoverySteps) == 0 {
		return 0
	}
	s := 0
	for _, r := range e.RecoverySteps {
		s += r
	}
	return float64(s) / float64(len(e.RecoverySteps))
}

// Situation classifies the state a policy acted in, for the policy
// analysis.
type Situation int

// Situations, in priority order: the first that holds is counted.
const (
	// SituationCrashed: some pod is crashed.
	SituationCrashed Situation = iota
	// SituationMemoryHigh: the highest pod memory is >= 75% of the limit
	// (a leak heading for an OOM kill).
	SituationMemoryHigh
	// SituationCPUHigh: the mean CPU of ready pods is >= 75% of the limit.
	SituationCPUHigh
	// SituationDegraded: some pod is degraded or the SLO is missed.
	SituationDegraded
	// SituationRecovering: pods are starting or restarting, nothing worse.
	SituationRecovering
	// SituationHealthy: everything is healthy and the SLO met.
	SituationHealthy
	// NumSituations is the number of situations.
	NumSituations
)

var situationNames = [NumSituations]string{"pod crashed", "memory high", "cpu high", "degraded", "pods starting", "all healthy"}

// String names the situation.
func (s Situation) String() string {
	if s < 0 || s >= NumSituations {
		return "unknown"
	}
	return situationNames[s]
}

// Situation thresholds, fractions of the limits.
const (
	memoryHighFraction = 0.75
	cpuHighFraction    = 0.75
)

// classify returns the situation of the last observation.
func classify(obs []float32, in *envsim.StepInfo) Situation {
	switch {
	case in.Crashed > 0:
		return SituationCrashed
	case float64(obs[envsim.ObsMemoryMax]) >= memoryHighFraction:
		return SituationMemoryHigh
	case float64(obs[envsim.ObsCPUAvg]) >= cpuHighFraction:
		return SituationCPUHigh
	case in.Degraded > 0 || !in.SLOMet:
		return SituationDegraded
	case in.Starting > 0:
		return SituationRecovering
	}
	return SituationHealthy
}

// ActionCounts counts actions by situation: [situation][action].
type ActionCounts [NumSituations][]int

func newActionCounts(numActions int) *ActionCounts {
	var c ActionCounts
	for i := range c {
		c[i] = make([]int, numActions)
	}
	return &c
}

// add adds o into c.
func (c *ActionCounts) add(o *ActionCounts) {
	for s := range c {
		for a, n := range o[s] {
			c[s][a] += n
		}
	}
}

// runner plays episodes of one cluster with reusable buffers.
type runner struct {
	c     *envsim.Cluster
	obs   []float32
	stats envsim.EpisodeStats
}

func newRunner(cfg envsim.Config) (*runner, error) {
	c, err := envsim.New(cfg)
	if err != nil {
		return nil, err
	}
	return &runner{c: c, obs: make([]float32, c.ObservationSize())}, nil
}

// play runs one episode of pol on seed, counting actions by situation into
// counts and recording into tr when tr is not nil. Incidents and recovery
// times come from envsim.EpisodeStats, the one definition the reward and
// the actors' metrics use too.
func (r *runner) play(pol policy.Policy, seed uint64, counts *ActionCounts, tr *envsim.Trace) Episode {
	c, obs := r.c, r.obs
	c.Reset(seed, obs)
	pol.Reset()
	if tr != nil {
		tr.Record(c)
	}
	in := c.Info()
	st := &r.stats
	st.Begin(in)
	for {
		sit := classify(obs, in)
		a := pol.Act(obs)
		_, term, trunc := c.Step(a, obs)
		in = c.Info()
		if tr != nil {
			tr.Record(c)
		}
		st.Add(in)
		if a >= 0 && a < len(counts[sit]) {
			counts[sit][a]++
		}
		if term || trunc {
			break
		}
	}
	ep := Episode{
		Sampled: st.Scenario, Seed: seed, Return: st.Return, Steps: st.Steps, Terminated: st.Terminated,
		Incidents: st.Incidents, Recovered: st.Recovered,
		SLOAttainment: st.SLOAttainment(), Availability: st.Availability(), LatencyP95Ms: st.MeanLatencyP95Ms(),
		ReplicaSteps: st.ReplicaSteps, Actions: st.Actions, Invalid: st.Invalid, Needless: st.Needless,
	}
	ep.RecoverySteps = append(make([]int, 0, len(st.RecoverySteps)+1), st.RecoverySteps...)
	if st.OpenSteps > 0 || st.Incidents > st.Recovered {
		// Still open at the end: censored at the episode's end.
		ep.RecoverySteps = append(ep.RecoverySteps, st.OpenSteps+1)
	}
	ep.RecoverySteps = slices.Clip(ep.RecoverySteps)
	return ep
}
