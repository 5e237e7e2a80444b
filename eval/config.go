package eval

import (
	"errors"
	"fmt"
	"slices"

	"podmedic/policy/baseline"
)

// ErrInvalidConfig reports a bad evaluation Config.
var ErrInvalidConfig = errors.New("eval: config")

// Policy names beyond the baselines.
const (
	// PolicyTrained is the trained policy acting greedily (argmax).
	PolicyTrained = "trained"
	// PolicyTrainedStochastic is the trained policy sampling its actions.
	PolicyTrainedStochastic = "trained-stochastic"
)

// PolicyNames lists every policy Run knows, trained first.
func PolicyNames() []string {
	return append([]string{PolicyTrained, PolicyTrainedStochastic}, baseline.Names()...)
}

// Progress reports how far Run got: Done of Total episodes, the last one
// of Scenario with Policy (training run Run for a trained policy).
type Progress struct {
	Done, Total      int
	Scenario, Policy string
	Run              int
}

// Config selects what Run evaluates.
type Config struct {
	// Episodes is the number of episodes per scenario and policy
	// (1..100000; default 20). Every policy runs the same seeds.
	Episodes int
	// Scenarios names the scenarios: built-in names, held-out variants
	// (HeldOutVariants) or the name of the scenario in the environment
	// config passed to Run (default: Suite("all"), the training suite then
	// the held-out one). Held-out scenarios are reported in a table of
	// their own.
	Scenarios []string
	// Policies names the policies (see PolicyNames; default all). The
	// trained ones need a snapshot.
	Policies []string
	// Seed selects the evaluation seed family (any value; default 1). It
	// derives seeds with EvalSeed, disjoint from training seeds.
	Seed uint64
	// Bootstrap is the number of bootstrap resamples for confidence
	// intervals (100..1000000; default 2000).
	Bootstrap int
	// Confidence is the level of the intervals, in (0, 1) (default 0.95).
	Confidence float64
	// TimelineScenarios names the scenarios drawn as behaviour timelines
	// (trained vs hpa on the first evaluation seed); names not evaluated
	// are skipped. Default: pod-kill, memory-leak-oom, flash-crowd,
	// node-failure.
	TimelineScenarios []string
	// Progress, if set, is called after every episode.
	Progress func(Progress)
}

// DefaultConfig returns the protocol of the issue: 20 episodes of every
// scenario of the training and held-out suites and every policy, 95%
// bootstrap intervals from 2000 resamples.
func DefaultConfig() Config {
	all, _ := Suite(SuiteAll) // a known suite
	return Config{
		Episodes:          20,
		Scenarios:         all,
		Policies:          PolicyNames(),
		Seed:              1,
		Bootstrap:         2000,
		Confidence:        0.95,
		TimelineScenarios: []string{"pod-kill", "memory-leak-oom", "flash-crowd", "node-failure"},
	}
}

func fieldError(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

// Validate checks the config and names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Episodes < 1 || c.Episodes > 100000:
		return fieldError("episodes", "must be in 1..100000 (got %d)", c.Episodes)
	case len(c.Scenarios) == 0:
		return fieldError("scenarios", "must not be empty")
	case len(c.Policies) == 0:
		return fieldError("policies", "must not be empty")
	case c.Bootstrap < 100 || c.Bootstrap > 1000000:
		return fieldError("bootstrap", "must be in 100..1000000 (got %d)", c.Bootstrap)
	case !(c.Confidence > 0 && c.Confidence < 1):
		return fieldError("confidence", "must be in (0, 1) (got %g)", c.Confidence)
	}
	known := PolicyNames()
	for i, p := range c.Policies {
		if !slices.Contains(known, p) {
			return fieldError(fmt.Sprintf("policies[%d]", i), "unknown policy %q (known: %v)", p, known)
		}
		if slices.Contains(c.Policies[:i], p) {
			return fieldError(fmt.Sprintf("policies[%d]", i), "duplicate policy %q", p)
		}
	}
	for i, s := range c.Scenarios {
		if slices.Contains(c.Scenarios[:i], s) {
			return fieldError(fmt.Sprintf("scenarios[%d]", i), "duplicate scenario %q", s)
		}
	}
	return nil
}

// NeedsSnapshot reports whether the config evaluates a trained policy,
// so that Run needs the snapshots of its training runs.
func (c Config) NeedsSnapshot() bool { return slices.ContainsFunc(c.Policies, isTrained) }
