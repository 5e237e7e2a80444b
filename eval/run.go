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
	// PolicyVersions holds the snapshot version of each training run of
	// the trained policy, in run order (empty without one).
	PolicyVersions []uint64
	// Episodes holds every episode, grouped by scenario, then policy, then
	// run, then index.
	Episodes []Episode
	// Actions counts actions by situation per scenario and policy, over
	// all runs: Actions[scenario][policy].
	Actions map[string]map[string]*ActionCounts
	// Timelines are trained (its first run) vs hpa on the first seed of
	// the timeline scenarios (only when both were evaluated).
	Timelines []Timeline
}

// isTrained reports whether p is a trained policy (one per training run).
func isTrained(p string) bool { return p == PolicyTrained || p == PolicyTrainedStochastic }

// Runs returns the number of runs policy p was evaluated with: the
// training runs for a trained policy, 1 for a baseline.
func (r *Results) Runs(p string) int {
	if isTrained(p) {
		return max(1, len(r.PolicyVersions))
	}
	return 1
}

// Run evaluates cfg.Policies on cfg.Scenarios, cfg.Episodes each, on the
// same seeds. trained holds the snapshots of R training runs of one
// configuration; each trained policy is evaluated once per run on the
// same seeds. trained may be empty when no trained policy is requested;
// every snapshot must have the observation and action spec of the others
// and of the environment (CheckSameSpec, CheckSnapshot). envCfg supplies
// the pod model, SLO and reward; its scenario is replaced by each
// evaluated one (ScenarioConfig: a built-in one, a held-out variant, or
// envCfg's own by its name).
func Run(ctx context.Context, cfg Config, trained []*policy.Snapshot, envCfg envsim.Config) (*Results, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	cfg.Progress = nil
	if !cfg.NeedsSnapshot() {
		trained = nil
	} else if err := checkRuns(trained, envCfg); err != nil {
		return nil, err
	}
	ecfgs := make([]envsim.Config, len(cfg.Scenarios))
	for i, name := range cfg.Scenarios {
		var err error
		if ecfgs[i], err = ScenarioConfig(envCfg, name); err != nil {
			return nil, err
		}
	}
	res := &Results{Config: cfg, Scenarios: slices.Clone(cfg.Scenarios), Policies: slices.Clone(cfg.Policies),
		Actions: make(map[string]map[string]*ActionCounts)}
	for _, t := range trained {
		res.PolicyVersions = append(res.PolicyVersions, t.Version)
	}
	perScenario := 0
	for _, p := range cfg.Policies {
		perScenario += res.Runs(p) * cfg.Episodes
	}
	total, done := len(cfg.Scenarios)*perScenario, 0
	for si, name := range cfg.Scenarios {
		r, err := newRunner(ecfgs[si])
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", name, err)
		}
		res.ActionNames = r.c.ActionSpec().Names
		res.Actions[name] = make(map[string]*ActionCounts)
		for _, pname := range cfg.Policies {
			counts := newActionCounts(r.c.NumActions())
			res.Actions[name][pname] = counts
			for run := range res.Runs(pname) {
				var snap *policy.Snapshot
				if isTrained(pname) {
					snap = trained[run]
				}
				for i := range cfg.Episodes {
					if err := ctx.Err(); err != nil {
						return nil, fmt.Errorf("evaluate: %w", err)
					}
					seed := EvalSeed(cfg.Seed, name, i)
					pol, err := newPolicy(pname, snap, r.c.Spec(), seed)
					if err != nil {
						return nil, err
					}
					ep := r.play(pol, seed, counts, nil)
					ep.Scenario, ep.Policy, ep.Run, ep.Index = name, pname, run, i
					res.Episodes = append(res.Episodes, ep)
					done++
					if progress != nil {
						progress(Progress{Done: done, Total: total, Scenario: name, Policy: pname, Run: run})
					}
				}
			}
		}
	}
	var first *policy.Snapshot
	if len(trained) > 0 {
		first = trained[0]
	}
	if err := res.recordTimelines(first, envCfg); err != nil {
		return nil, err
	}
	return res, nil
}

// checkRuns refuses an empty or nil snapshot list and snapshots whose
// observation or action spec differs from the first run's or from the
// environment's, naming the run.
func checkRuns(trained []*policy.Snapshot, envCfg envsim.Config) error {
	if len(trained) == 0 {
		return ErrNoSnapshot
	}
	for i, t := range trained {
		if t == nil {
			return fmt.Errorf("%w (run %d of %d)", ErrNoSnapshot, i+1, len(trained))
		}
		if i > 0 {
			if err := CheckSameSpec(trained[0], t); err != nil {
				return fmt.Errorf("evaluate: runs 1 and %d of %d (versions %d and %d): %w", i+1, len(trained),
					trained[0].Version, t.Version, err)
			}
		}
	}
	c, err := envsim.New(envCfg)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	for i, t := range trained {
		if err := CheckSnapshot(t, c.Spec()); err != nil {
			if len(trained) == 1 {
				return err
			}
			return fmt.Errorf("evaluate: run %d of %d (version %d): %w", i+1, len(trained), t.Version, err)
		}
	}
	return nil
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
		ecfg, err := ScenarioConfig(envCfg, name)
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
