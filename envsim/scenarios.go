package envsim

import (
	"errors"
	"fmt"
	"slices"
)

// ErrUnknownScenario is returned by ScenarioByName for a name outside the
// suite.
var ErrUnknownScenario = errors.New("envsim: unknown scenario")

// MixedScenarioName names the training mixture of the other scenarios
// but the held-out ones.
const MixedScenarioName = "mixed"

// HeldOutScenarioNames are the built-in scenarios left out of the mixed
// training mixture, so that evaluating on them shows whether a policy
// copes with what training never saw: a broken release that fails
// requests without crashing (training has bad config and a leak) and a
// slow pod (training has a lossy one and a CPU hog).
func HeldOutScenarioNames() []string { return []string{"bad-rollout", "network-latency"} }

// defaultWorkload is 300 requests/s, a mild daily wave with a random phase
// and 3% noise: utilisation 0.6 on the default 5 pods.
func defaultWorkload() Workload {
	return Workload{
		BaseRPS:          300,
		DailyAmplitude:   0.1,
		DailyPeriodSteps: 200,
		RandomPhase:      true,
		Noise:            0.03,
		SpikeMultiplier:  1,
		SpikeSteps:       1,
	}
}

// NoFaultScenario is steady load without faults; a good policy does
// nothing but perhaps add headroom for a rollout, so it catches needless
// actions. As a built-in scenario it gets routine releases too.
func NoFaultScenario() Scenario {
	return Scenario{
		Name:        "no-fault",
		Description: "steady load and routine releases, no faults: acting is needless but for headroom during a rollout",
		Workload:    defaultWorkload(),
	}
}

// routineReleases is the release schedule every built-in scenario has:
// from step 5 on, a routine release with probability 1% per step.
func routineReleases() Fault { return Fault{Kind: FaultRelease, Start: 5, Rate: 0.01} }

// builtinScenarios builds the suite in a fixed order.
func builtinScenarios() []Scenario {
	w := defaultWorkload
	with := func(f func(*Workload)) Workload {
		wl := w()
		f(&wl)
		return wl
	}
	suite := []Scenario{
		NoFaultScenario(),
		{
			Name:        "pod-kill",
			Description: "containers are killed at random (up to 6 times); survivors run hot until the kubelet restarts them",
			Workload:    with(func(wl *Workload) { wl.BaseRPS = 360 }),
			Faults:      []Fault{{Kind: FaultPodCrash, Start: 10, Rate: 0.05, MaxOccurrences: 6}},
		},
		{
			Name:        "pod-failure-transient",
			Description: "a pod fails readiness for 60 s, three times; it recovers by itself, restarting is wasted",
			Workload:    w(),
			Faults:      []Fault{{Kind: FaultPodFailure, Start: 15, Duration: 4, Rate: 0.04, MaxOccurrences: 3}},
		},
		{
			Name:        "crashloop",
			Description: "a pod's local state is corrupt for 10 min: its container exits at every start and the back-off grows; deleting the pod cures it, the kubelet's restarts do not",
			Workload:    w(),
			Faults:      []Fault{{Kind: FaultCrashLoop, Start: 10, StartJitter: 20, Duration: 40}},
		},
		{
			Name:        "bad-config",
			Description: "a config change rolls out: its pods fail 20-60% of requests, and in half the cases crash after every start so the rollout stalls part way; restarts and scaling bring more bad pods, a rollback cures it",
			Workload:    w(),
			Faults:      []Fault{{Kind: FaultBadConfig, Start: 10, StartJitter: 20, Magnitude: 0.4, MagnitudeJitter: 0.5}},
		},
		{
			Name:        "bad-rollout",
			Description: "a release that fails 15% of requests and adds 150 ms rolls out: the error rate climbs as its pods take traffic; only a rollback cures it",
			Workload:    w(),
			Faults:      []Fault{{Kind: FaultBadRollout, Start: 20, StartJitter: 40}},
		},
		{
			Name:        "memory-leak-oom",
			Description: "a release whose code leaks 4-12 MiB per step rolls out: every pod of it slows under GC pressure and is OOM-killed every 6-19 min; a restart resets one pod, a rollback cures it",
			Workload:    w(),
			Faults:      []Fault{{Kind: FaultMemoryLeak, Start: 5, StartJitter: 20, Magnitude: 8, MagnitudeJitter: 0.5}},
		},
		{
			Name:        "routine-release",
			Description: "two good releases roll out (and the routine ones): nothing to do; a rollback only churns pods and reverts a release",
			Workload:    w(),
			Faults: []Fault{
				{Kind: FaultRelease, Start: 10, StartJitter: 60},
				{Kind: FaultRelease, Start: 110, StartJitter: 60},
			},
		},
		{
			Name:        "leak-hotfix",
			Description: "the running release leaks memory; the fix rolls out at 5-15 min: let it, since rolling it back brings the leak back",
			Workload:    w(),
			Faults: []Fault{
				{Kind: FaultMemoryLeak, Deployed: true},
				{Kind: FaultHotfix, Start: 20, StartJitter: 40},
			},
		},
		{
			Name:        "cpu-hog",
			Description: "a CPU hog takes 60-100% of one pod's CPU for 10 min: it throttles, overloads and fails liveness",
			Workload:    w(),
			Faults:      []Fault{{Kind: FaultCPUSpike, Start: 10, StartJitter: 30, Duration: 40, Magnitude: 0.8, MagnitudeJitter: 0.25}},
		},
		{
			Name:        "network-latency",
			Description: "one pod's network adds 400 ms for 10 min",
			Workload:    w(),
			Faults:      []Fault{{Kind: FaultNetworkLatency, Start: 10, StartJitter: 30, Duration: 40}},
		},
		{
			Name:        "network-loss",
			Description: "one pod drops 10-50% of its requests for 10 min",
			Workload:    w(),
			Faults:      []Fault{{Kind: FaultNetworkLoss, Start: 10, StartJitter: 30, Duration: 40, Magnitude: 0.3, MagnitudeJitter: 0.67}},
		},
		{
			Name:        "flash-crowd",
			Description: "load doubles for 10 min, with a 1 min ramp",
			Workload: with(func(wl *Workload) {
				wl.FlashCrowds = []FlashCrowd{{Start: 20, StartJitter: 40, Duration: 40, RampSteps: 4, Multiplier: 2}}
			}),
		},
		{
			Name:        "diurnal-ramp",
			Description: "a full compressed day from trough (150 req/s) to peak (450 req/s) and back",
			Workload: with(func(wl *Workload) {
				wl.DailyAmplitude, wl.DailyPhase, wl.RandomPhase = 0.5, 0.75, false
			}),
		},
		{
			Name:            "overload-cascade",
			Description:     "4 pods run hot; a surge and a crash push the survivors past their limit: they fail liveness one after another",
			InitialReplicas: 4,
			Workload: with(func(wl *Workload) {
				wl.FlashCrowds = []FlashCrowd{{Start: 15, StartJitter: 20, Duration: 60, RampSteps: 3, Multiplier: 1.4}}
			}),
			Faults: []Fault{{Kind: FaultPodCrash, Start: 22, StartJitter: 20}},
		},
		{
			Name:            "node-failure",
			Description:     "a node with 2-3 of 7 pods fails for 10 min: its requests fail until it is marked NotReady (50 s), and its pods are replaced only after the 300 s eviction toleration unless deleted",
			InitialReplicas: 7,
			Workload:        w(),
			Faults:          []Fault{{Kind: FaultNodeFailure, Start: 20, StartJitter: 40}},
		},
		{
			Name:        "slow-start",
			Description: "image pulls take 4 extra steps (a slow registry) while load ramps up by 80%: scale early",
			Workload: with(func(wl *Workload) {
				wl.FlashCrowds = []FlashCrowd{{Start: 20, StartJitter: 30, Duration: 80, RampSteps: 10, Multiplier: 1.8}}
			}),
			Faults: []Fault{{Kind: FaultSlowStart}},
		},
		{
			Name:        "compound",
			Description: "a leaking release rolls out, packet loss hits one pod, and load spikes at random",
			Workload: with(func(wl *Workload) {
				wl.SpikeRate, wl.SpikeMultiplier, wl.SpikeSteps = 0.02, 1.5, 3
			}),
			Faults: []Fault{
				{Kind: FaultMemoryLeak, Start: 10, StartJitter: 20},
				{Kind: FaultNetworkLoss, Start: 20, StartJitter: 40, Duration: 40},
			},
		},
	}
	// Routine releases in every scenario: about two an episode, as in a
	// team that deploys several times a day (REFERENCE.md: a bad rollout
	// shows as a jump that starts with the new pods; most rollouts are
	// fine).
	var names []string
	for i := range suite {
		suite[i].Faults = append(suite[i].Faults, routineReleases())
		if !slices.Contains(HeldOutScenarioNames(), suite[i].Name) {
			names = append(names, suite[i].Name)
		}
	}
	return append(suite, Scenario{
		Name:        MixedScenarioName,
		Description: "samples one of the other scenarios per episode, but the held-out ones (training)",
		Workload:    w(),
		Mix:         names,
	})
}

// ScenarioNames lists the built-in scenarios in suite order, "mixed" last.
func ScenarioNames() []string {
	suite := builtinScenarios()
	names := make([]string, len(suite))
	for i, s := range suite {
		names[i] = s.Name
	}
	return names
}

// ScenarioByName returns a copy of the named built-in scenario, or an error
// wrapping ErrUnknownScenario that lists the valid names.
func ScenarioByName(name string) (Scenario, error) {
	suite := builtinScenarios()
	i := slices.IndexFunc(suite, func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, fmt.Errorf("%w %q (known: %v)", ErrUnknownScenario, name, ScenarioNames())
	}
	return suite[i], nil
}
