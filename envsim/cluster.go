package envsim

import (
	"fmt"
	"math/rand/v2"
)

// Cluster simulates one Deployment of a microservice behind a Service,
// with the kubelet's restarts but no autoscaler, and implements Env. It is
// not safe for concurrent use; run one Cluster per goroutine.
type Cluster struct {
	cfg       Config
	scenarios []Scenario // the config's scenario, or its mix
	sc        *Scenario  // this episode's
	obsSpec   ObservationSpec
	actSpec   ActionSpec

	pcg *rand.PCG
	rng *rand.Rand

	pods    []pod // 2*MaxReplicas slots: room for terminating pods
	nextUID uint32
	view    [MaxReplicasLimit]int16
	nView   int
	cand    [2 * MaxReplicasLimit]int16

	step        int
	lastFailure int
	pending     int
	dailyPhase  float64
	spikeLeft   int
	flashStart  [maxFlashCrowds]int

	runs      [maxFaultSpecs]faultRun
	nRuns     int
	active    [maxActiveFaults]activeFault
	nActive   int
	slowExtra int

	incidentOpen   bool
	incidentImpact bool
	prevAllHealthy bool
	prevSLOMet     bool

	info      StepInfo
	cur       [NumBaseFeatures]float32
	hist      []float32
	fillHist  bool
	eventsBuf [maxEvents]Event
}

var _ Env = (*Cluster)(nil)

// New validates cfg and builds a Cluster. Call Reset before Step.
func New(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new cluster: %w", err)
	}
	cfg.Scenario.Faults = append([]Fault(nil), cfg.Scenario.Faults...)
	cfg.Scenario.Workload.FlashCrowds = append([]FlashCrowd(nil), cfg.Scenario.Workload.FlashCrowds...)
	c := &Cluster{cfg: cfg, pcg: rand.NewPCG(0, 0)}
	c.rng = rand.New(c.pcg)
	if len(cfg.Scenario.Mix) > 0 {
		for _, name := range cfg.Scenario.Mix {
			sc, err := ScenarioByName(name)
			if err != nil {
				return nil, fmt.Errorf("new cluster: %w", err)
			}
			c.scenarios = append(c.scenarios, sc)
		}
	} else {
		c.scenarios = []Scenario{cfg.Scenario}
	}
	slots := 0
	if cfg.ActionMode == ActionModePerPod {
		slots = cfg.Pods.MaxReplicas
	}
	c.obsSpec = newObservationSpec(slots, cfg.HistorySteps)
	c.actSpec = newActionSpec(cfg.ActionMode, cfg.Pods.MaxReplicas)
	c.pods = make([]pod, 2*cfg.Pods.MaxReplicas)
	c.hist = make([]float32, cfg.HistorySteps*NumBaseFeatures)
	c.info.Events = c.eventsBuf[:0]
	c.sc = &c.scenarios[0]
	return c, nil
}

// Config returns the configuration the Cluster was built with.
func (c *Cluster) Config() Config { return c.cfg }

// ObservationSize implements Env.
func (c *Cluster) ObservationSize() int { return c.obsSpec.Size }

// NumActions implements Env.
func (c *Cluster) NumActions() int { return c.actSpec.Size }

// ObservationSpec describes the observation vector.
func (c *Cluster) ObservationSpec() ObservationSpec { return c.obsSpec }

// ActionSpec describes the action space.
func (c *Cluster) ActionSpec() ActionSpec { return c.actSpec }

// Info returns the info of the last Step or Reset. The pointer stays
// valid, but its contents change on the next Step or Reset.
func (c *Cluster) Info() *StepInfo { return &c.info }

// Scenario returns the scenario of the current episode.
func (c *Cluster) Scenario() *Scenario { return c.sc }

// streamSeq fixes the PCG stream; the episode seed chooses the state.
const streamSeq = 0x9e3779b97f4a7c15

// Reset implements Env: it re-seeds the generator from seed alone, samples
// the scenario (for a mix), the workload phase and the fault schedule, and
// starts with the initial replicas all ready and healthy.
func (c *Cluster) Reset(seed uint64, obs []float32) {
	c.pcg.Seed(seed, streamSeq)
	if len(c.scenarios) > 1 {
		c.sc = &c.scenarios[c.rng.IntN(len(c.scenarios))]
	} else {
		c.sc = &c.scenarios[0]
	}
	w := &c.sc.Workload
	c.dailyPhase = w.DailyPhase
	if w.RandomPhase {
		c.dailyPhase = c.rng.Float64()
	}
	for k, fc := range w.FlashCrowds {
		c.flashStart[k] = fc.Start + c.rng.IntN(fc.StartJitter+1)
	}
	c.step, c.lastFailure, c.spikeLeft, c.nextUID = 0, -failureHorizonSteps, 0, 0
	c.incidentOpen, c.incidentImpact = false, false
	c.info.reset()
	c.info.Scenario = c.sc.Name
	c.resetFaults()
	clear(c.pods)
	n := c.cfg.Pods.InitialReplicas
	if c.sc.InitialReplicas > 0 {
		n = max(min(c.sc.InitialReplicas, c.cfg.Pods.MaxReplicas), c.cfg.Pods.MinReplicas)
	}
	for i := range n {
		c.spawn(i, phaseRunning, 0)
		c.pods[i].resetMetrics(c)
	}
	// Start the smoothed metrics at the model's values for the initial
	// load: one unsmoothed update, then forget its side effects.
	rate := c.workloadRate()
	a := c.cfg.Pods.MetricSmoothing
	c.cfg.Pods.MetricSmoothing = 1
	c.updateLoad(rate)
	c.cfg.Pods.MetricSmoothing = a
	for i := range c.pods {
		c.pods[i].overload, c.pods[i].served = 0, 0
	}
	c.incidentOpen = false
	c.lastFailure = -failureHorizonSteps
	c.info.reset()
	c.info.Scenario = c.sc.Name
	c.aggregate(rate)
	c.info.IncidentOpen = false
	c.prevAllHealthy, c.prevSLOMet = c.info.AllHealthy, c.info.SLOMet
	c.buildView()
	c.fillHist = true
	c.writeObservation(obs)
}

// Step implements Env. Order within a step: the action, fault schedule,
// pod lifecycle timers, workload, load and metrics (with OOM, liveness and
// bad-config kills), aggregates, reward, termination, observation.
// Terminated means every replica is crashed; truncated means the episode
// reached EpisodeSteps. An invalid action does nothing and is reported in
// Info; Step never panics on any action value.
func (c *Cluster) Step(action int, obs []float32) (reward float64, terminated, truncated bool) {
	prevHealthy := c.info.Healthy
	scenario := c.info.Scenario
	c.info.reset()
	c.info.Scenario = scenario
	c.step++
	c.info.Step, c.info.TimeSeconds = c.step, float64(c.step)*StepSeconds
	if c.nActive > 0 {
		c.info.FaultActive = true
	}
	acted, invalid := c.applyAction(action)
	c.advanceFaults()
	c.advanceLifecycle()
	rate := c.workloadRate()
	c.updateLoad(rate)
	c.aggregate(rate)
	c.info.ActiveFaults = c.nActive
	reward = c.reward(prevHealthy, acted, invalid)
	c.info.Reward = reward
	terminated = c.allCrashed()
	truncated = !terminated && c.step >= c.cfg.EpisodeSteps
	c.info.Terminated, c.info.Truncated = terminated, truncated
	c.prevAllHealthy, c.prevSLOMet = c.info.AllHealthy, c.info.SLOMet
	c.buildView()
	c.writeObservation(obs)
	return reward, terminated, truncated
}
