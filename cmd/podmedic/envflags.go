package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"podmedic/envsim"
	"podmedic/learner"
)

// envFlags select the environment every actor runs and the learner expects.
type envFlags struct {
	scenario  string
	envConfig string
}

func (e *envFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.scenario, "scenario", envsim.MixedScenarioName,
		"scenario name ("+strings.Join(envsim.ScenarioNames(), ", ")+") or a YAML/JSON scenario file")
	fs.StringVar(&e.envConfig, "env-config", "", "YAML/JSON file with the whole simulation config (pods, slo, reward, scenario); --scenario overrides its scenario when given explicitly, and applies when the file has none")
}

// config resolves the simulation config. explicitScenario reports whether
// --scenario was set on the command line or environment.
func (e *envFlags) config(explicitScenario bool) (envsim.Config, error) {
	cfg := envsim.DefaultConfig()
	if e.envConfig != "" {
		data, err := os.ReadFile(e.envConfig)
		if err != nil {
			return cfg, fmt.Errorf("read --env-config: %w", err)
		}
		if cfg, err = envsim.ParseConfig(data); err != nil {
			return cfg, fmt.Errorf("--env-config %s: %w", e.envConfig, err)
		}
		if !explicitScenario && hasScenario(data) {
			return cfg, nil
		}
	}
	sc, err := loadScenario(e.scenario)
	if err != nil {
		return cfg, err
	}
	cfg.Scenario = sc
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("--scenario %s: %w", e.scenario, err)
	}
	return cfg, nil
}

// hasScenario reports whether a config file sets a scenario (a file that
// only changes, say, the action mode keeps the command's scenario).
func hasScenario(data []byte) bool {
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return true // ParseConfig accepted it: let its scenario stand
	}
	_, ok := top["scenario"]
	return ok
}

// loadScenario takes a built-in name or a path to a scenario file.
func loadScenario(nameOrPath string) (envsim.Scenario, error) {
	if sc, err := envsim.ScenarioByName(nameOrPath); err == nil {
		return sc, nil
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return envsim.Scenario{}, flagError{fmt.Errorf("--scenario: %q is neither a built-in scenario (%s) nor a readable file", nameOrPath, strings.Join(envsim.ScenarioNames(), ", "))}
	}
	sc, err := envsim.ParseScenario(data)
	if err != nil {
		return envsim.Scenario{}, fmt.Errorf("scenario file %s: %w", nameOrPath, err)
	}
	return sc, nil
}

// newClusters builds n simulated clusters of cfg.
func newClusters(cfg envsim.Config, n int) ([]envsim.Env, error) {
	envs := make([]envsim.Env, n)
	for i := range envs {
		c, err := envsim.New(cfg)
		if err != nil {
			return nil, err
		}
		envs[i] = c
	}
	return envs, nil
}

// envSpec is what the learner must know of cfg's environment.
func envSpec(cfg envsim.Config) (learner.EnvSpec, error) {
	c, err := envsim.New(cfg)
	if err != nil {
		return learner.EnvSpec{}, err
	}
	return learner.EnvSpec{
		ObsSize: c.ObservationSize(), NumActions: c.NumActions(),
		ActionNames: c.ActionSpec().Names, ObsNames: c.ObservationSpec().Names,
	}, nil
}

// setFlags reports which flags were set on the command line or through
// their environment variables (parseFlags applies those with fs.Set, which
// Visit sees too).
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
