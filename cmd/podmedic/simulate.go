package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"podmedic/envsim"
	"podmedic/eval"
	"podmedic/internal/policywire"
	"podmedic/policy"
	"podmedic/policy/baseline"
	"podmedic/protocol"
)

// runSimulate runs one episode of a scenario with a policy and writes its
// trace (trace.csv) and timeline (timeline.png) into --out.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", "simulate [--scenario NAME|FILE] [--policy NAME] [--seed N] [--steps N] --out DIR\n\n"+
		"Runs one episode and writes DIR/trace.csv and DIR/timeline.png.\n"+
		"Scenarios: "+strings.Join(eval.ScenarioNames(), ", ")+",\n"+
		"or a YAML/JSON file holding a full config (pods, reward, scenario, ...) or a\n"+
		"single scenario (with optional \"base: NAME\" to start from a built-in one).\n"+
		"Policies: "+strings.Join(baseline.Names(), ", ")+", or a policy.snapshot file of a training run.", stderr)
	scenario := fs.String("scenario", "pod-kill", "built-in scenario name, held-out condition (heldout:...) or path to a YAML/JSON file")
	policyName := fs.String("policy", "hpa", "policy: "+strings.Join(baseline.Names(), ", ")+", or a trained policy's snapshot file (runs/make-run/policy.snapshot)")
	seed := fs.Uint64("seed", 1, "episode seed")
	steps := fs.Int("steps", 0, "episode length in steps of 15 s (0: the config's, default 200)")
	out := fs.String("out", "", "output directory (created if missing)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *out == "" {
		return flagError{errors.New("simulate: --out is required")}
	}
	if *steps < 0 {
		return flagError{fmt.Errorf("simulate: --steps must be >= 0 (got %d)", *steps)}
	}
	cfg, err := simulateConfig(*scenario)
	if err != nil {
		return err
	}
	if *steps > 0 {
		cfg.EpisodeSteps = *steps
	}
	cluster, err := envsim.New(cfg)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	pol, err := simulatePolicy(*policyName, cluster.Spec(), *seed)
	if err != nil {
		return err
	}

	obs := make([]float32, cluster.ObservationSize())
	cluster.Reset(*seed, obs)
	pol.Reset()
	tr := envsim.NewTrace(cluster, pol.Name(), *seed)
	tr.Record(cluster)
	var sloSteps, actions, invalid, faults int
	terminated := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, term, trunc := cluster.Step(pol.Act(obs), obs)
		tr.Record(cluster)
		in := cluster.Info()
		if in.SLOMet {
			sloSteps++
		}
		if in.Action != envsim.ActionNoop {
			if in.Invalid == envsim.ValidAction {
				actions++
			} else {
				invalid++
			}
		}
		for _, e := range in.Events {
			if e.Kind == envsim.EventFaultStarted {
				faults++
			}
		}
		if term || trunc {
			terminated = term
			break
		}
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("simulate: create output directory: %w", err)
	}
	csvPath := filepath.Join(*out, "trace.csv")
	if err := writeFileWith(csvPath, tr.WriteCSV); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	pngPath := filepath.Join(*out, "timeline.png")
	title := "podmedic simulate"
	if err := writeFileWith(pngPath, func(w io.Writer) error { return eval.WriteTimelinePNG(w, tr, title) }); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	n := len(tr.Steps) - 1
	end := "ran to the time limit"
	if terminated {
		end = "ended early: every pod crashed"
	}
	fmt.Fprintf(stdout, "scenario %s, policy %s, seed %d: %d steps (%.0f min), %s; return %.2f; SLO met in %d/%d steps (%.0f%%); "+
		"%d faults started; %d actions applied, %d invalid.\nwrote %s and %s\n",
		tr.Scenario, pol.Name(), *seed, n, float64(n)*envsim.StepSeconds/60, end, tr.Return(),
		sloSteps, n, 100*float64(sloSteps)/float64(max(n, 1)), faults, actions, invalid, csvPath, pngPath)
	return nil
}

// simulateConfig resolves --scenario: a built-in name, a held-out
// condition of the evaluation (heldout:...), or a YAML/JSON file with
// either a full config or a single scenario.
func simulateConfig(arg string) (envsim.Config, error) {
	cfg := envsim.DefaultConfig()
	if c, err := eval.ScenarioConfig(cfg, arg); err == nil {
		return c, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return cfg, flagError{fmt.Errorf("simulate: --scenario %q is neither a built-in scenario (%s) nor a file",
				arg, strings.Join(eval.ScenarioNames(), ", "))}
		}
		return cfg, fmt.Errorf("simulate: read scenario: %w", err)
	}
	full, errFull := envsim.ParseConfig(data)
	if errFull == nil {
		return full, nil
	}
	sc, errSc := envsim.ParseScenario(data)
	if errSc != nil {
		return cfg, fmt.Errorf("simulate: %s: not a config (%v) nor a scenario: %w", arg, errFull, errSc)
	}
	cfg.Scenario = sc
	return cfg, nil
}

// writeFileWith creates path and writes it with write, closing it and
// reporting the first error.
func writeFileWith(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// simulatePolicy returns the named baseline or, for a path, the trained
// policy in that snapshot file (acting greedily), after checking that it
// was trained on this observation and action layout.
func simulatePolicy(nameOrPath string, spec envsim.Spec, seed uint64) (policy.Policy, error) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	pol, err := baseline.New(nameOrPath, spec, rng)
	if err == nil {
		return pol, nil
	}
	if !errors.Is(err, baseline.ErrUnknownPolicy) {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	if _, statErr := os.Stat(nameOrPath); statErr != nil {
		return nil, flagError{fmt.Errorf("simulate: --policy: %w, and no snapshot file %q", err, nameOrPath)}
	}
	w, err := protocol.ReadSnapshotFile(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	snap, err := policywire.Snapshot(w)
	if err != nil {
		return nil, fmt.Errorf("simulate: %s: %w", nameOrPath, err)
	}
	if err := eval.CheckSnapshot(&snap, spec); err != nil {
		return nil, fmt.Errorf("simulate: %s: %w", nameOrPath, err)
	}
	agent, err := policy.NewAgent(snap, true, rng)
	if err != nil {
		return nil, fmt.Errorf("simulate: %s: %w", nameOrPath, err)
	}
	return agent, nil
}
