package envsim

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestDefaultConfigAndSuiteValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, name := range ScenarioNames() {
		sc, err := ScenarioByName(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Scenario = sc
		if err := cfg.Validate(); err != nil {
			t.Errorf("scenario %s: %v", name, err)
		}
	}
	if _, err := ScenarioByName("nope"); !errors.Is(err, ErrUnknownScenario) {
		t.Fatalf("unknown scenario error %v, want ErrUnknownScenario", err)
	}
}

func TestValidateNamesBadField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string
	}{
		{"max below min", func(c *Config) { c.Pods.MaxReplicas = 0 }, "pods.max_replicas: must be >= min_replicas (got 0)"},
		{"min zero", func(c *Config) { c.Pods.MinReplicas = 0 }, "pods.min_replicas"},
		{"too many replicas", func(c *Config) { c.Pods.MaxReplicas = 65 }, "pods.max_replicas"},
		{"initial out of range", func(c *Config) { c.Pods.InitialReplicas = 11 }, "pods.initial_replicas"},
		{"startup max below min", func(c *Config) { c.Pods.StartupStepsMax = 1 }, "pods.startup_steps_max"},
		{"timeout too short", func(c *Config) { c.Pods.TimeoutMs = 100 }, "pods.timeout_ms"},
		{"NaN capacity", func(c *Config) { c.Pods.CapacityRPS = math.NaN() }, "pods"},
		{"memory limit below base", func(c *Config) { c.Pods.MemoryLimitMiB = 100 }, "pods.memory_limit_mib"},
		{"smoothing zero", func(c *Config) { c.Pods.MetricSmoothing = 0 }, "pods.metric_smoothing"},
		{"overload threshold", func(c *Config) { c.Pods.OverloadCrashUtilization = 1 }, "pods.overload_crash_utilization"},
		{"nodes", func(c *Config) { c.Kube.Nodes = 0 }, "kube.nodes"},
		{"grace", func(c *Config) { c.Kube.NodeMonitorGraceSeconds = 0 }, "kube.node_monitor_grace_seconds"},
		{"surge", func(c *Config) { c.Kube.MaxSurge = 1.5 }, "kube.max_surge"},
		{"shaping gamma", func(c *Config) { c.Reward.ShapingGamma = 1.1 }, "reward.shaping_gamma"},
		{"slo error rate", func(c *Config) { c.SLO.ErrorRate = 1 }, "slo.error_rate"},
		{"negative reward weight", func(c *Config) { c.Reward.Action = -1 }, "reward.action"},
		{"action mode", func(c *Config) { c.ActionMode = "both" }, "action_mode"},
		{"history", func(c *Config) { c.HistorySteps = 17 }, "history_steps"},
		{"episode", func(c *Config) { c.EpisodeSteps = 0 }, "episode_steps"},
		{"scenario name", func(c *Config) { c.Scenario.Name = "" }, "scenario.name"},
		{"base rps", func(c *Config) { c.Scenario.Workload.BaseRPS = 0 }, "scenario.workload.base_rps"},
		{"noise", func(c *Config) { c.Scenario.Workload.Noise = 0.9 }, "scenario.workload.noise"},
		{"flash ramp", func(c *Config) {
			c.Scenario.Workload.FlashCrowds = []FlashCrowd{{Duration: 4, RampSteps: 3, Multiplier: 2}}
		}, "scenario.workload.flash_crowds[0].ramp_steps"},
		{"fault kind", func(c *Config) { c.Scenario.Faults = []Fault{{Kind: "meteor"}} }, "scenario.faults[0].kind"},
		{"fault rate", func(c *Config) { c.Scenario.Faults = []Fault{{Kind: FaultPodCrash, Rate: 2}} }, "scenario.faults[0].rate"},
		{"fault fraction", func(c *Config) {
			c.Scenario.Faults = []Fault{{Kind: FaultPodCrash}, {Kind: FaultNetworkLoss, Magnitude: 1.5}}
		}, "scenario.faults[1].magnitude"},
		{"mix name", func(c *Config) { c.Scenario.Mix = []string{"pod-kill", "mixed"} }, "scenario.mix[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), "envsim: config: "+tt.field) {
				t.Fatalf("error %q does not name %q", err, tt.field)
			}
			if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New accepted a bad config: %v", err)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "empty keeps defaults", doc: "", check: func(t *testing.T, c Config) {
			if c.Pods.MaxReplicas != 10 || c.Scenario.Name != "no-fault" {
				t.Fatalf("got %+v", c.Pods)
			}
		}},
		{name: "yaml overrides one field", doc: "pods:\n  max_replicas: 20\naction_mode: per-pod\n", check: func(t *testing.T, c Config) {
			if c.Pods.MaxReplicas != 20 || c.Pods.MinReplicas != 1 || c.ActionMode != ActionModePerPod {
				t.Fatalf("got %+v %v", c.Pods, c.ActionMode)
			}
		}},
		{name: "json", doc: `{"episode_steps": 50, "reward": {"action": 0.5}}`, check: func(t *testing.T, c Config) {
			if c.EpisodeSteps != 50 || c.Reward.Action != 0.5 || c.Reward.SLOMet != 0.1 {
				t.Fatalf("got %d %+v", c.EpisodeSteps, c.Reward)
			}
		}},
		{name: "scenario from base", doc: "scenario:\n  base: memory-leak-oom\n  name: fast-leak\n  faults:\n    - kind: memory-leak\n      magnitude: 60\n", check: func(t *testing.T, c Config) {
			if c.Scenario.Name != "fast-leak" || len(c.Scenario.Faults) != 1 || c.Scenario.Faults[0].Magnitude != 60 || c.Scenario.Workload.BaseRPS != 300 {
				t.Fatalf("got %+v", c.Scenario)
			}
		}},
		{name: "unknown field", doc: "pods:\n  max_replica: 3\n", wantErr: "max_replica"},
		{name: "unknown base", doc: "scenario:\n  base: nope\n", wantErr: "unknown scenario"},
		{name: "invalid value", doc: "pods:\n  min_replicas: 0\n", wantErr: "pods.min_replicas"},
		{name: "syntax", doc: "pods: [", wantErr: "parse config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseScenario(t *testing.T) {
	sc, err := ParseScenario([]byte("name: my-crowd\nworkload:\n  base_rps: 100\n  flash_crowds:\n    - {start: 5, duration: 10, ramp_steps: 2, multiplier: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Workload.BaseRPS != 100 || len(sc.Workload.FlashCrowds) != 1 || sc.Workload.SpikeMultiplier != 1 {
		t.Fatalf("got %+v", sc.Workload)
	}
	if _, err := ParseScenario([]byte("name: x\nfaults:\n  - kind: pod-crash\n    when: 3\n")); err == nil {
		t.Fatal("unknown fault field accepted")
	}
}
