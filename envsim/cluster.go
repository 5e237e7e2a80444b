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

	pods    []pod // podSlots(MaxReplicas) slots: room for surge and terminating pods
	nextUID uint32
	viewPod []int16 // per-pod observation slot -> pod slot, or -1
	cand    []int16

	nodes     [maxNodes]node
	nodesDown int // nodes down (a fast path for the common case of none)
	rs        [maxReplicaSets]replicaSet
	nRS       int
	cur       int // the Deployment's current ReplicaSet
	releases  int // releases so far (template versions)
	desired   int // the Deployment's spec.replicas
	rsActive  [maxReplicaSets]int
	rsAvail   [maxReplicaSets]int

	step        int
	lastSymptom int
	rolloutAt   int
	pending     int
	dailyPhase  float64
	spikeLeft   int
	flashStart  [maxFlashCrowds]int

	runs      [maxFaultSpecs]faultRun
	nRuns     int
	active    [maxActiveFaults]activeFault
	nActive   int
	slowExtra int

	incident       incident
	prevAllHealthy bool
	prevSLOMet     bool

	info      StepInfo
	obsBuf    [NumBaseFeatures]float32
	obsAgg    obsAggregates
	mixDelay  []float64 // the serving pods' latency mixture, per step
	mixWait   []float64
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
	c.pods = make([]pod, podSlots(cfg.Pods.MaxReplicas))
	c.cand = make([]int16, len(c.pods))
	c.mixDelay, c.mixWait = make([]float64, len(c.pods)), make([]float64, len(c.pods))
	c.viewPod = make([]int16, slots)
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

// noteFaults records the active faults in info (a fault deployed with
// the running release is active from Reset on).
func (c *Cluster) noteFaults() {
	in := &c.info
	in.ActiveFaults = c.nActive
	in.FaultActive = in.FaultActive || c.nActive > 0
	for k := range c.nActive {
		in.FaultScopes |= 1 << c.active[k].kind.Scope()
	}
}

// podSlots is the number of pod slots for maxReplicas: the replicas, a
// rollout's surge (25%), and as many again for pods terminating or stuck
// on a failed node.
func podSlots(maxReplicas int) int { return 2*maxReplicas + (maxReplicas+3)/4 + 2 }

// streamSeq fixes the PCG stream; the episode seed chooses the state.
const streamSeq = 0x9e3779b97f4a7c15

// Reset implements Env: it re-seeds the generator from seed alone, samples
// the scenario (for a mix), the workload phase and the fault schedule, and
// starts the Deployment at revision 2 (revision 1, an older good release,
// is in its history) with the initial replicas spread over the nodes, all
// ready and healthy.
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
	c.step, c.spikeLeft, c.nextUID = 0, 0, 0
	c.lastSymptom, c.rolloutAt = -failureHorizonSteps, -RolloutHorizonSteps
	c.incident = incident{}
	c.info.reset()
	c.info.Scenario = c.sc.Name
	c.resetFaults()
	clear(c.pods)
	for i := range c.pods {
		c.pods[i].view, c.pods[i].node = noView, noNode
	}
	for v := range c.viewPod {
		c.viewPod[v] = -1
	}
	clear(c.nodes[:])
	c.nodesDown = 0
	n := c.cfg.Pods.InitialReplicas
	if c.sc.InitialReplicas > 0 {
		n = max(min(c.sc.InitialReplicas, c.cfg.Pods.MaxReplicas), c.cfg.Pods.MinReplicas)
	}
	c.rs[0] = replicaSet{revision: 1, tmpl: template{version: 1}}
	c.rs[1] = replicaSet{revision: 2, spec: n, tmpl: template{version: 2}}
	c.nRS, c.cur, c.desired, c.releases = 2, 1, n, 2
	c.deployFaults()
	c.countReplicaSets()
	c.syncReplicaSets()
	pc := &c.cfg.Pods
	leak := c.rs[c.cur].tmpl.leakRate
	for i := range c.pods {
		if p := &c.pods[i]; p.live() {
			// Running and ready for a while already, at varied ages; a
			// leak in the running release has grown with each container's
			// age (short of the limit).
			c.beginWarmup(p)
			w := p.timer
			p.phase, p.timer = phaseRunning, 0
			p.created = -1 - w - c.rng.IntN(4*failureHorizonSteps)
			p.readyAt = p.created + w
			p.resetMetrics(c)
			if leak > 0 {
				room := 0.8 * (pc.MemoryLimitMiB - pc.MemoryBaseMiB)
				p.leaked = c.rng.Float64() * room
			}
		}
	}
	c.countReplicaSets()
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
	c.info.reset()
	c.info.Scenario = c.sc.Name
	c.noteFaults()
	c.aggregate(rate)
	c.trackIncident()
	c.prevAllHealthy, c.prevSLOMet = c.info.AllHealthy, c.info.SLOMet
	c.fillHist = true
	c.writeObservation(obs)
}

// Step implements Env. Order within a step: the action, the fault
// schedule, the node controller, the kubelet's timers, the Deployment and
// ReplicaSet controllers, workload, load and metrics (with OOM, liveness
// and bad-config kills), aggregates, incident, reward, termination,
// observation. Terminated means every replica is down (crashed or on a
// failed node); truncated means the episode reached EpisodeSteps. An
// invalid action does nothing and is reported in Info; Step never panics
// on any action value.
func (c *Cluster) Step(action int, obs []float32) (reward float64, terminated, truncated bool) {
	prevRec, prevHealthy := c.potentials()
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
	c.advanceNodes()
	c.advanceLifecycle()
	c.reconcile()
	rate := c.workloadRate()
	c.updateLoad(rate)
	c.aggregate(rate)
	c.trackIncident()
	c.noteFaults()
	terminated = c.allCrashed()
	truncated = !terminated && c.step >= c.cfg.EpisodeSteps
	reward = c.reward(prevRec, prevHealthy, acted, invalid, terminated)
	c.info.Reward = reward
	c.info.Terminated, c.info.Truncated = terminated, truncated
	c.prevAllHealthy, c.prevSLOMet = c.info.AllHealthy, c.info.SLOMet
	c.writeObservation(obs)
	return reward, terminated, truncated
}
