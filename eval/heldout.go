package eval

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"podmedic/envsim"
)

// HeldOutPrefix starts the name of every held-out variant derived from a
// built-in scenario ("heldout:load-2x").
const HeldOutPrefix = "heldout:"

// Suite names accepted by Suite.
const (
	// SuiteTrain is the training suite: every built-in scenario of the
	// training mix, and "mixed".
	SuiteTrain = "train"
	// SuiteHeldOut is what training never saw: HeldOutVariants.
	SuiteHeldOut = "heldout"
	// SuiteAll is both, training suite first.
	SuiteAll = "all"
)

// ErrUnknownSuite is returned by Suite for a name other than train,
// heldout or all.
var ErrUnknownSuite = errors.New("eval: unknown suite")

// Variant is an evaluation condition training never saw: a built-in
// scenario left out of the training mix, or a built-in scenario changed
// (fault intensity, load, replica limit). Variants start from built-in
// scenarios, so they keep the routine releases every built-in scenario
// has.
type Variant struct {
	// Name is the scenario name reports and flags use; derived variants
	// start with HeldOutPrefix.
	Name string
	// Description says what differs from training.
	Description string
	// Base is the built-in scenario it starts from.
	Base string
	// apply changes the config built from Base (nil: Base as it is).
	apply func(cfg *envsim.Config) error
}

// Chaos-tool defaults (REFERENCE.md "Failure scenarios in chaos-engineering
// practice": cpu/memory hog for 60 s, network latency 2000 ms for 60 s,
// loss 100% for 60 s), and the schedule of the variants built on them.
const (
	chaosDurationSteps = 4 // 60 s of 15 s steps
	chaosLatencyMs     = 2000
	chaosLoss          = 1.0
	chaosCPUHog        = 1.0
	chaosMemoryHogMiB  = 500
	chaosStart         = 10
	chaosStartJitter   = 30
)

// HeldOutVariants returns the held-out suite, in report order: the
// scenarios left out of the training mix (envsim.HeldOutScenarioNames),
// the chaos tools' default fault intensities, base load at 0.5x and 2x,
// and a namespace pod quota of 7 (another replica limit; the action space
// is unchanged, so a trained policy still applies).
func HeldOutVariants() []Variant {
	var vs []Variant
	for _, name := range envsim.HeldOutScenarioNames() {
		vs = append(vs, Variant{Name: name, Base: name,
			Description: "left out of the training mix (" + envsim.MixedScenarioName + ")"})
	}
	chaos := func(kind envsim.FaultKind, magnitude float64) func(*envsim.Config) error {
		return func(cfg *envsim.Config) error {
			setFault(&cfg.Scenario, envsim.Fault{Kind: kind, Start: chaosStart, StartJitter: chaosStartJitter,
				Duration: chaosDurationSteps, Magnitude: magnitude})
			return nil
		}
	}
	load := func(scale float64) func(*envsim.Config) error {
		return func(cfg *envsim.Config) error {
			cfg.LoadScale *= scale
			return nil
		}
	}
	return append(vs,
		Variant{Name: HeldOutPrefix + "network-latency-2000ms", Base: "network-latency",
			Description: "one pod's network adds 2000 ms for 60 s (chaos-tool default; training: none, held out: 400 ms for 10 min)",
			apply:       chaos(envsim.FaultNetworkLatency, chaosLatencyMs)},
		Variant{Name: HeldOutPrefix + "network-loss-100pct", Base: "network-loss",
			Description: "one pod drops 100% of its requests for 60 s (chaos-tool default; training: 10-50% for 10 min)",
			apply:       chaos(envsim.FaultNetworkLoss, chaosLoss)},
		Variant{Name: HeldOutPrefix + "cpu-hog-100pct", Base: "cpu-hog",
			Description: "a CPU hog takes 100% of one pod's CPU for 60 s (chaos-tool default; training: 60-100% for 10 min)",
			apply:       chaos(envsim.FaultCPUSpike, chaosCPUHog)},
		Variant{Name: HeldOutPrefix + "memory-hog-500mib", Base: "no-fault",
			Description: "a stressor holds 500 MiB in one pod for 60 s (chaos-tool default; the memory-hog fault is never in training): over the 512 MiB limit, OOM-killed",
			apply:       chaos(envsim.FaultMemoryHog, chaosMemoryHogMiB)},
		Variant{Name: HeldOutPrefix + "load-0.5x", Base: envsim.MixedScenarioName,
			Description: "the training mix at half the base load", apply: load(0.5)},
		Variant{Name: HeldOutPrefix + "load-2x", Base: envsim.MixedScenarioName,
			Description: "the training mix at twice the base load", apply: load(2)},
		Variant{Name: HeldOutPrefix + "pod-quota-7", Base: envsim.MixedScenarioName,
			Description: "the training mix under a namespace pod quota of 7 (rollout surge and terminating pods count; scale-ups beyond it stay uncreated)",
			apply: func(cfg *envsim.Config) error {
				cfg.Kube.PodQuota = 7
				return nil
			}},
	)
}

// setFault replaces the scenario's fault of f.Kind by f, or adds f when
// the scenario has none of that kind.
func setFault(sc *envsim.Scenario, f envsim.Fault) {
	sc.Faults = slices.Clone(sc.Faults)
	if i := slices.IndexFunc(sc.Faults, func(g envsim.Fault) bool { return g.Kind == f.Kind }); i >= 0 {
		sc.Faults[i] = f
		return
	}
	sc.Faults = append([]envsim.Fault{f}, sc.Faults...)
}

// Config returns envCfg (pod model, SLO, reward) with the variant's
// scenario and changes, validated.
func (v Variant) Config(envCfg envsim.Config) (envsim.Config, error) {
	sc, err := envsim.ScenarioByName(v.Base)
	if err != nil {
		return envCfg, fmt.Errorf("held-out %s: %w", v.Name, err)
	}
	envCfg.Scenario = sc
	if v.Name != v.Base {
		envCfg.Scenario.Name = v.Name
		envCfg.Scenario.Description = v.Description
	}
	if v.apply != nil {
		if err := v.apply(&envCfg); err != nil {
			return envCfg, fmt.Errorf("held-out %s: %w", v.Name, err)
		}
	}
	if err := envCfg.Validate(); err != nil {
		return envCfg, fmt.Errorf("held-out %s: %w", v.Name, err)
	}
	return envCfg, nil
}

// TrainSuite lists the built-in scenarios of the training mix and "mixed"
// itself, in suite order.
func TrainSuite() []string {
	return slices.DeleteFunc(envsim.ScenarioNames(), func(s string) bool {
		return slices.Contains(envsim.HeldOutScenarioNames(), s)
	})
}

// HeldOutSuite lists the names of HeldOutVariants.
func HeldOutSuite() []string {
	vs := HeldOutVariants()
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return names
}

// Suite returns the scenarios of suite train, heldout or all.
func Suite(name string) ([]string, error) {
	switch name {
	case SuiteTrain:
		return TrainSuite(), nil
	case SuiteHeldOut:
		return HeldOutSuite(), nil
	case SuiteAll:
		return append(TrainSuite(), HeldOutSuite()...), nil
	}
	return nil, fmt.Errorf("%w %q (known: %s, %s, %s)", ErrUnknownSuite, name, SuiteTrain, SuiteHeldOut, SuiteAll)
}

// IsHeldOut reports whether scenario belongs to the held-out suite; the
// reports keep such scenarios out of the training suite's tables and its
// "overall" row.
func IsHeldOut(scenario string) bool {
	return slices.Contains(HeldOutSuite(), scenario)
}

// ScenarioNames lists every name ScenarioConfig resolves without an
// environment config of its own: the built-in scenarios and the held-out
// variants.
func ScenarioNames() []string {
	names := envsim.ScenarioNames()
	for _, n := range HeldOutSuite() {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// ScenarioConfig returns envCfg with the named scenario: a built-in one, a
// held-out variant, or envCfg's own scenario when name is its name. An
// unknown name is an error wrapping envsim.ErrUnknownScenario that lists
// the known ones.
func ScenarioConfig(envCfg envsim.Config, name string) (envsim.Config, error) {
	if sc, err := envsim.ScenarioByName(name); err == nil {
		envCfg.Scenario = sc
		return envCfg, nil
	}
	for _, v := range HeldOutVariants() {
		if v.Name == name {
			return v.Config(envCfg)
		}
	}
	if envCfg.Scenario.Name == name {
		return envCfg, nil
	}
	return envCfg, fmt.Errorf("evaluate: scenario %q: %w (known: %s)", name, envsim.ErrUnknownScenario,
		strings.Join(ScenarioNames(), ", "))
}
