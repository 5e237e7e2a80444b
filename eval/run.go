package eval

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"podmedic/envsim"
	"podmedic/policy"
	"podmedic/policy/baseline"
)

// ErrNoSnapshot is returned when a trained policy is asked for without a
// snapshot.
var ErrNoSnapshot = errors.New("eval: trained policy requested without a snapshot")

// Timeline is one scenario played by several policies on the same seed.
type Timeline struct {
	// Scenario and Seed name the episode; Traces holds one trace per
	// policy, in Results.Policies order.
	Scenario string
	Seed     uint64
	Traces   []*envsim.Trace
}

// Results holds every evaluated episode and what the reports need.
type Results struct {
	// Config is the evaluation config (Progress dropped).
	Config Config
	// Scenarios and Policies list what was evaluated, in order.
	Scenarios, Policies []string
	// ActionNames names the environment's actions.
	ActionNames []string
	// PolicyVersion is the trained snapshot's version (0 without one).
	PolicyVersion uint64
	// Episodes holds every episode, grouped by scenario, then policy, then
	// index.
	Episodes []Episode
	// Actions counts actions by situation per scenario and policy:
	// Actions[scenario][policy].
	Actions map[string]map[string]*ActionCounts
	// Timelines are trained vs hpa on the first seed of the timeline
	// scenarios (only when both were evaluated).
	Timelines []Timeline
}

// Run evaluates cfg.Policies on cfg.Scenarios, cfg.Episodes each, on the
// same seeds. trained may be nil when no trained policy is requested; it is
// checked against the environment with CheckSnapshot. envCfg supplies the
// pod model, SLO and reward; its scenario is replaced by each evaluated one
// (a name that is not built in must be envCfg's own scenario).
func Run(ctx context.Context, cfg Config, trained *policy.Snapshot, envCfg envsim.Config) (*Results, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	cfg.Progress = nil
	if cfg.needsSnapshot() {
		if trained == nil {
			return nil, ErrNoSnapshot
		}
		c, err := envsim.New(envCfg)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		if err := CheckSnapshot(trained, c.Spec()); err != nil {
			return nil, err
		}
	}
	res := &Results{Config: cfg, Scenarios: slices.Clone(cfg.Scenarios), Policies: slices.Clone(cfg.Policies),
		Actions: make(map[string]map[string]*ActionCounts)}
	if trained != nil {
		res.PolicyVersion = trained.Version
	}
	total := len(cfg.Scenarios) * len(cfg.Policies) * cfg.Episodes
	done := 0
	for _, name := range cfg.Scenarios {
		ecfg, err := scenarioConfig(envCfg, name)
		if err != nil {
			return nil, err
		}
		r, err := newRunner(ecfg)
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", name, err)
		}
		res.ActionNames = r.c.ActionSpec().Names
		res.Actions[name] = make(map[string]*ActionCounts)
		for _, pname := range cfg.Policies {
			counts := newActionCounts(r.c.NumActions())
			res.Actions[name][pname] = counts
			for i := range cfg.Episodes {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("evaluate: %w", err)
				}
				seed := EvalSeed(cfg.Seed, name, i)
				pol, err := newPolicy(pname, trained, r.c.Spec(), seed)
				if err != nil {
					return nil, err
				}
				ep := r.play(pol, seed, counts, nil)
				ep.Scenario, ep.Policy, ep.Index = name, pname, i
				res.Episodes = append(res.Episodes, ep)
				done++
				if progress != nil {
					progress(Progress{Done: done, Total: total, Scenario: name, Policy: pname})
				}
			}
		}
	}
	if err := res.recordTimelines(trained, envCfg); err != nil {
		return nil, err
	}
	return res, nil
}

// recordTimelines plays the first seed of each timeline scenario with the
// trained policy and hpa.
func (res *Results) recordTimelines(trained *policy.Snapshot, envCfg envsim.Config) error {
	pols := []string{PolicyTrained, "hpa"}
	for _, p := range pols {
		if !slices.Contains(res.Policies, p) {
			return nil
		}
	}
	for _, name := range res.Config.TimelineScenarios {
		if !slices.Contains(res.Scenarios, name) {
			continue
		}
		ecfg, err := scenarioConfig(envCfg, name)
		if err != nil {
			return err
		}
		r, err := newRunner(ecfg)
		if err != nil {
			return fmt.Errorf("timeline %s: %w", name, err)
		}
		seed := EvalSeed(res.Config.Seed, name, 0)
		tl := Timeline{Scenario: name, Seed: seed}
		for _, p := range pols {
			pol, err := newPolicy(p, trained, r.c.Spec(), seed)
			if err != nil {
				return err
			}
			tr := envsim.NewTrace(r.c, p, seed)
			r.play(pol, seed, newActionCounts(r.c.NumActions()), tr)
			tl.Traces = append(tl.Traces, tr)
		}
		res.Timelines = append(res.Timelines, tl)
	}
	return nil
}

// scenarioConfig returns envCfg with the named scenario.
func scenarioConfig(envCfg envsim.Config, name string) (envsim.Config, error) {
	if sc, err := envsim.ScenarioByName(name); err == nil {
		envCfg.Scenario = sc
		return envCfg, nil
	}
	if envCfg.Scenario.Name == name {
		return envCfg, nil
	}
	return envCfg, fmt.Errorf("evaluate: scenario %q: %w", name, envsim.ErrUnknownScenario)
}

// newPolicy builds policy name for one episode; stochastic policies get an
// RNG seeded by the episode seed, so runs are reproducible and paired.
func newPolicy(name string, trained *policy.Snapshot, spec envsim.Spec, seed uint64) (policy.Policy, error) {
	rng := rand.New(rand.NewPCG(seed, policySeq(name)))
	switch name {
	case PolicyTrained, PolicyTrainedStochastic:
		if trained == nil {
			return nil, ErrNoSnapshot
		}
		a, err := policy.NewAgent(*trained, name == PolicyTrained, rng)
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", name, err)
		}
		return a, nil
	}
	p, err := baseline.New(name, spec, rng)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", name, err)
	}
	return p, nil
}
