package eval

import (
	"slices"

	"podmedic/envsim"
	"podmedic/policy"
)

// Episode holds the measures of one evaluation episode.
type Episode struct {
	// Scenario is the evaluated scenario (for "mixed", "mixed"; Sampled
	// names the one drawn), Policy the policy, Run the training run of a
	// trained policy (the index of its snapshot; 0 for a baseline), Index
	// the episode number and Seed its environment seed (the same for every
	// policy and run).
	Scenario, Sampled, Policy string
	Run, Index                int
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
	// Rollbacks counts applied rollbacks; NeededRollbacks those that undid
	// a faulty template: a template fault was active when the rollback was
	// chosen, and it was the first (third, ...) rollback since that fault
	// appeared, because `kubectl rollout undo` right after an undo rolls
	// the revision just undone out again.
	Rollbacks, NeededRollbacks int
}

// NeedlessRollbacks is Rollbacks minus NeededRollbacks.
func (e *Episode) NeedlessRollbacks() int { return e.Rollbacks - e.NeededRollbacks }

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

// Situation classifies the state a policy acted in by what was really
// wrong (the scopes of the active faults, hidden state the policy never
// sees) and what the cluster showed, for the policy analysis. Each
// situation has an expected answer (Situation.Expected).
type Situation int

// Situations, in priority order: the first that holds is counted. A
// cluster-scope fault (slow image pulls) is nothing the Deployment's
// operator can cure, so it does not count as a fault here.
const (
	// SituationTemplateFault: a template fault (bad config, bad release,
	// leaking release) is active: only a rollback cures it.
	SituationTemplateFault Situation = iota
	// SituationPodFault: a pod-local fault is active (and no template
	// fault): deleting (restarting) or draining the pod cures it.
	SituationPodFault
	// SituationNodeFault: a node is down (no template or pod fault):
	// deleting its pods gets replacements at once.
	SituationNodeFault
	// SituationLoad: no fault, but the mean CPU of the ready pods is >=
	// 75% of the limit: scale up.
	SituationLoad
	// SituationRollout: no fault, a rollout is in progress (a routine
	// release, a hotfix, or a rollback rolling out): nothing to cure; at
	// most headroom for the pod the rollout takes out of service.
	SituationRollout
	// SituationSymptom: no fault, no load, no rollout, but something is
	// visibly wrong (a killed container restarting, pods warming up, the
	// SLO missed): mostly the controllers' work.
	SituationSymptom
	// SituationHealthy: no fault, every pod healthy and the SLO met:
	// nothing to do.
	SituationHealthy
	// NumSituations is the number of situations.
	NumSituations
)

var situationNames = [NumSituations]string{"template fault", "pod-local fault", "node fault",
	"load (no fault, CPU >= 75%)", "good rollout in progress", "other symptom, no fault", "all healthy, no fault"}

// situationExpected holds, per situation, a description of the expected
// answer and the action kinds it counts.
var situationExpected = [NumSituations]struct {
	text  string
	kinds []string
}{
	{"rollback (once, then wait for its rollout)", []string{"rollback"}},
	{"restart or drain the bad pod", []string{"restart", "drain"}},
	{"restart the lost pods", []string{"restart"}},
	{"scale up", []string{"scale_up", "scale_to"}},
	{"noop, or scale up for headroom", []string{"noop", "scale_up"}},
	{"–", nil},
	{"noop", []string{"noop"}},
}

// String names the situation.
func (s Situation) String() string {
	if s < 0 || s >= NumSituations {
		return "unknown"
	}
	return situationNames[s]
}

// Expected describes the expected answer in situation s and the action
// kinds (actionGroup names) it counts; none for SituationSymptom.
func (s Situation) Expected() (string, []string) {
	if s < 0 || s >= NumSituations {
		return "–", nil
	}
	e := situationExpected[s]
	return e.text, e.kinds
}

// cpuHighFraction is the mean CPU (fraction of the limit) from which a
// step without a fault counts as SituationLoad: past the HPA's 60% target
// by more than its tolerance.
const cpuHighFraction = 0.75

// scopeBit is the StepInfo.FaultScopes bit of scope s.
func scopeBit(s envsim.FaultScope) uint8 { return 1 << s }

// classify returns the situation of the step that in and obs describe
// (the state the next action is chosen in).
func classify(obs []float32, in *envsim.StepInfo) Situation {
	switch {
	case in.FaultScopes&scopeBit(envsim.ScopeTemplate) != 0:
		return SituationTemplateFault
	case in.FaultScopes&scopeBit(envsim.ScopePod) != 0:
		return SituationPodFault
	case in.FaultScopes&scopeBit(envsim.ScopeNode) != 0:
		return SituationNodeFault
	case float64(obs[envsim.ObsCPUAvg]) >= cpuHighFraction:
		return SituationLoad
	case in.Updated < in.Replicas:
		return SituationRollout
	case !in.AllHealthy || !in.SLOMet:
		return SituationSymptom
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
	rollbacks, needed, undone := 0, 0, 0 // undone: rollbacks since the template fault appeared
	for {
		sit := classify(obs, in)
		template := in.FaultScopes&scopeBit(envsim.ScopeTemplate) != 0
		if !template {
			undone = 0
		}
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
		if a == envsim.ActionRollback && in.Invalid == envsim.ValidAction {
			rollbacks++
			if template {
				if undone%2 == 0 {
					needed++
				}
				undone++
			}
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
		Rollbacks: rollbacks, NeededRollbacks: needed,
	}
	ep.RecoverySteps = append(make([]int, 0, len(st.RecoverySteps)+1), st.RecoverySteps...)
	if st.OpenSteps > 0 || st.Incidents > st.Recovered {
		// Still open at the end: censored at the episode's end.
		ep.RecoverySteps = append(ep.RecoverySteps, st.OpenSteps+1)
	}
	ep.RecoverySteps = slices.Clip(ep.RecoverySteps)
	return ep
}
