package envsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"go.yaml.in/yaml/v3"
)

// StepSeconds is the simulated time of one Step: the Kubernetes HPA sync
// period (REFERENCE.md, "HPA ... runs every 15 s").
const StepSeconds = 15.0

// MaxReplicasLimit bounds PodConfig.MaxReplicas so that per-pod state fits
// fixed arrays.
const MaxReplicasLimit = 64

// ErrInvalidConfig is wrapped by every configuration validation error.
var ErrInvalidConfig = errors.New("envsim: config")

// ActionMode selects the discrete action space.
type ActionMode string

const (
	// ActionModeAggregate acts on "the worst pod" chosen by a documented
	// rule (see ActionRestart); the observation has no per-pod slots.
	ActionModeAggregate ActionMode = "aggregate"
	// ActionModePerPod adds restart/drain/undrain actions for every pod
	// slot and per-pod observation slots.
	ActionModePerPod ActionMode = "per-pod"
)

// Config configures a Cluster. Every field has a default in DefaultConfig;
// Validate names the first bad field. Durations are in steps of
// StepSeconds unless the name says otherwise.
type Config struct {
	// Pods sizes the deployment and models one replica.
	Pods PodConfig `yaml:"pods" json:"pods"`
	// Kube holds the Kubernetes controller settings the simulation follows
	// (nodes, node lifecycle, rolling updates).
	Kube KubeConfig `yaml:"kube" json:"kube"`
	// SLO holds the service-level objectives the reward and the info flags
	// use.
	SLO SLOConfig `yaml:"slo" json:"slo"`
	// Reward weights each reward term.
	Reward RewardConfig `yaml:"reward" json:"reward"`
	// ActionMode is "aggregate" (default) or "per-pod".
	ActionMode ActionMode `yaml:"action_mode" json:"action_mode"`
	// HistorySteps is K, the number of past steps whose base features are
	// appended to the observation, in [0, 16]. Default 1: enough to see
	// trends (a rising memory curve, a growing load) without a recurrent
	// policy.
	HistorySteps int `yaml:"history_steps" json:"history_steps"`
	// EpisodeSteps is the time limit after which an episode is truncated,
	// in [1, 1000000]. Default 200 (50 simulated minutes).
	EpisodeSteps int `yaml:"episode_steps" json:"episode_steps"`
	// LoadScale multiplies every scenario's request rate, in (0, 10]
	// (default 1): the same scenarios at another base load.
	LoadScale float64 `yaml:"load_scale" json:"load_scale"`
	// Scenario is the workload and the faults. A Scenario named "mixed"
	// samples one of its Mix scenarios per episode.
	Scenario Scenario `yaml:"scenario" json:"scenario"`
}

// PodConfig models the replicas of the service.
type PodConfig struct {
	// MinReplicas is the smallest replica count scale-down allows, >= 1.
	MinReplicas int `yaml:"min_replicas" json:"min_replicas"`
	// MaxReplicas is the largest replica count, in [MinReplicas, 64].
	MaxReplicas int `yaml:"max_replicas" json:"max_replicas"`
	// InitialReplicas is the replica count at Reset, in
	// [MinReplicas, MaxReplicas]; all start ready and healthy.
	InitialReplicas int `yaml:"initial_replicas" json:"initial_replicas"`
	// CapacityRPS is the request rate one pod serves at its CPU limit
	// (requests/s, > 0).
	CapacityRPS float64 `yaml:"capacity_rps" json:"capacity_rps"`
	// ServiceTimeMs is the mean service time of one request at zero load
	// (ms, > 0).
	ServiceTimeMs float64 `yaml:"service_time_ms" json:"service_time_ms"`
	// TimeoutMs caps latency; requests slower than this fail (ms,
	// > 3*ServiceTimeMs).
	TimeoutMs float64 `yaml:"timeout_ms" json:"timeout_ms"`
	// CPURequestCores is the CPU request the HPA measures against
	// (cores, > 0).
	CPURequestCores float64 `yaml:"cpu_request_cores" json:"cpu_request_cores"`
	// CPULimitCores is the CPU limit; demand above it is throttled, never
	// killed (cores, >= CPURequestCores).
	CPULimitCores float64 `yaml:"cpu_limit_cores" json:"cpu_limit_cores"`
	// MemoryBaseMiB is the resident memory of an idle pod (MiB, > 0).
	MemoryBaseMiB float64 `yaml:"memory_base_mib" json:"memory_base_mib"`
	// MemoryPerInflightMiB is the memory of one in-flight request; Little's
	// law gives in-flight = rate * latency (MiB, >= 0).
	MemoryPerInflightMiB float64 `yaml:"memory_per_inflight_mib" json:"memory_per_inflight_mib"`
	// MemoryLimitMiB is the limit above which a pod is OOM-killed (MiB,
	// > MemoryBaseMiB).
	MemoryLimitMiB float64 `yaml:"memory_limit_mib" json:"memory_limit_mib"`
	// MemoryPressure is the fraction of the limit above which garbage
	// collection slows requests, in (0, 1]; latency grows linearly up to
	// 4x at the limit.
	MemoryPressure float64 `yaml:"memory_pressure" json:"memory_pressure"`
	// StartupStepsMin and StartupStepsMax bound the steps a started
	// container needs to pass readiness (uniform warm-up), 1 <= min <= max.
	// Default 2-4 (REFERENCE.md, "Start-up": ready-to-serve 30 s to a few
	// minutes). A new pod, whether from scale-up, a deleted pod's
	// replacement or a rollout, takes this long; so does a container the
	// kubelet restarts after a crash.
	StartupStepsMin int `yaml:"startup_steps_min" json:"startup_steps_min"`
	StartupStepsMax int `yaml:"startup_steps_max" json:"startup_steps_max"`
	// TerminationSteps is how long a deleted pod stays Terminating
	// (steps, >= 1; terminationGracePeriodSeconds 30 s = 2 steps,
	// REFERENCE.md "Termination"). It leaves the Service's endpoints at
	// once, so it gets no traffic, and no longer counts as a replica.
	TerminationSteps int `yaml:"termination_steps" json:"termination_steps"`
	// BackoffInitialSeconds is the first CrashLoopBackOff delay (s, > 0;
	// kubelet: 10 s).
	BackoffInitialSeconds float64 `yaml:"backoff_initial_seconds" json:"backoff_initial_seconds"`
	// BackoffMaxSeconds caps the doubling back-off (s, >= initial;
	// kubelet: 300 s).
	BackoffMaxSeconds float64 `yaml:"backoff_max_seconds" json:"backoff_max_seconds"`
	// BackoffResetSeconds of uninterrupted running resets the back-off
	// (s, > 0; kubelet: 600 s).
	BackoffResetSeconds float64 `yaml:"backoff_reset_seconds" json:"backoff_reset_seconds"`
	// OverloadCrashUtilization is the utilisation (arrival rate over
	// effective capacity) at or above which a pod fails its liveness
	// probe, > 1.
	OverloadCrashUtilization float64 `yaml:"overload_crash_utilization" json:"overload_crash_utilization"`
	// OverloadCrashSteps is how many consecutive overloaded steps kill a
	// pod (>= 1; probes: 3 failures x 10 s ~ 2 steps).
	OverloadCrashSteps int `yaml:"overload_crash_steps" json:"overload_crash_steps"`
	// MetricSmoothing is the weight of the new value in the exponential
	// smoothing of observed per-pod metrics, in (0, 1]; 1 disables
	// smoothing.
	MetricSmoothing float64 `yaml:"metric_smoothing" json:"metric_smoothing"`
}

// SLOConfig holds the service-level objectives.
type SLOConfig struct {
	// LatencyP95Ms is the p95 latency objective (ms, > 0).
	LatencyP95Ms float64 `yaml:"latency_p95_ms" json:"latency_p95_ms"`
	// ErrorRate is the largest acceptable fraction of failed requests,
	// in (0, 1).
	ErrorRate float64 `yaml:"error_rate" json:"error_rate"`
	// RightSizeUtilization is the per-pod utilisation a right-sized
	// deployment runs at, in (0, 1]; replicas beyond
	// ceil(rate/(capacity*this)) count as over-scaled.
	RightSizeUtilization float64 `yaml:"right_size_utilization" json:"right_size_utilization"`
}

// DefaultConfig returns the default configuration: 5 of at most 10 pods of
// 100 requests/s each serving 300 requests/s (utilisation 0.6), the
// no-fault scenario, 200 steps, aggregate actions.
func DefaultConfig() Config {
	return Config{
		Pods: PodConfig{
			MinReplicas:              1,
			MaxReplicas:              10,
			InitialReplicas:          5,
			CapacityRPS:              100,
			ServiceTimeMs:            50,
			TimeoutMs:                1000,
			CPURequestCores:          1,
			CPULimitCores:            1,
			MemoryBaseMiB:            200,
			MemoryPerInflightMiB:     1,
			MemoryLimitMiB:           512,
			MemoryPressure:           0.75,
			StartupStepsMin:          2,
			StartupStepsMax:          4,
			TerminationSteps:         2,
			BackoffInitialSeconds:    10,
			BackoffMaxSeconds:        300,
			BackoffResetSeconds:      600,
			OverloadCrashUtilization: 1.1,
			OverloadCrashSteps:       2,
			MetricSmoothing:          0.6,
		},
		SLO: SLOConfig{
			LatencyP95Ms:         500,
			ErrorRate:            0.01,
			RightSizeUtilization: 0.6,
		},
		Kube:         DefaultKubeConfig(),
		Reward:       DefaultRewardConfig(),
		ActionMode:   ActionModeAggregate,
		HistorySteps: 1,
		EpisodeSteps: 200,
		LoadScale:    1,
		Scenario:     NoFaultScenario(),
	}
}

// fieldError builds a validation error naming field.
func fieldError(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

// finite reports whether every value is a finite number.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Validate checks every field and returns an error wrapping
// ErrInvalidConfig that names the first bad one, for example
// "envsim: config: pods.max_replicas: must be >= min_replicas (got 0)".
func (c Config) Validate() error {
	if err := c.Pods.validate(); err != nil {
		return err
	}
	if err := c.Kube.validate(); err != nil {
		return err
	}
	if err := c.SLO.validate(); err != nil {
		return err
	}
	if err := c.Reward.validate(); err != nil {
		return err
	}
	switch c.ActionMode {
	case ActionModeAggregate, ActionModePerPod:
	default:
		return fieldError("action_mode", "must be %q or %q (got %q)", ActionModeAggregate, ActionModePerPod, c.ActionMode)
	}
	if c.HistorySteps < 0 || c.HistorySteps > 16 {
		return fieldError("history_steps", "must be in [0, 16] (got %d)", c.HistorySteps)
	}
	if c.EpisodeSteps < 1 || c.EpisodeSteps > 1_000_000 {
		return fieldError("episode_steps", "must be in [1, 1000000] (got %d)", c.EpisodeSteps)
	}
	if !finite(c.LoadScale) || c.LoadScale <= 0 || c.LoadScale > 10 {
		return fieldError("load_scale", "must be in (0, 10] (got %v)", c.LoadScale)
	}
	return c.Scenario.validate("scenario", c.Pods.MaxReplicas)
}

func (p PodConfig) validate() error {
	if !finite(p.CapacityRPS, p.ServiceTimeMs, p.TimeoutMs, p.CPURequestCores, p.CPULimitCores,
		p.MemoryBaseMiB, p.MemoryPerInflightMiB, p.MemoryLimitMiB, p.MemoryPressure,
		p.BackoffInitialSeconds, p.BackoffMaxSeconds, p.BackoffResetSeconds,
		p.OverloadCrashUtilization, p.MetricSmoothing) {
		return fieldError("pods", "every number must be finite")
	}
	checks := []struct {
		ok    bool
		field string
		msg   string
		got   any
	}{
		{p.MinReplicas >= 1, "pods.min_replicas", "must be >= 1", p.MinReplicas},
		{p.MaxReplicas >= p.MinReplicas, "pods.max_replicas", "must be >= min_replicas", p.MaxReplicas},
		{p.MaxReplicas <= MaxReplicasLimit, "pods.max_replicas", "must be <= 64", p.MaxReplicas},
		{p.InitialReplicas >= p.MinReplicas && p.InitialReplicas <= p.MaxReplicas, "pods.initial_replicas", "must be in [min_replicas, max_replicas]", p.InitialReplicas},
		{p.CapacityRPS > 0, "pods.capacity_rps", "must be > 0", p.CapacityRPS},
		{p.ServiceTimeMs > 0, "pods.service_time_ms", "must be > 0", p.ServiceTimeMs},
		{p.TimeoutMs > 3*p.ServiceTimeMs, "pods.timeout_ms", "must be > 3*service_time_ms", p.TimeoutMs},
		{p.CPURequestCores > 0, "pods.cpu_request_cores", "must be > 0", p.CPURequestCores},
		{p.CPULimitCores >= p.CPURequestCores, "pods.cpu_limit_cores", "must be >= cpu_request_cores", p.CPULimitCores},
		{p.MemoryBaseMiB > 0, "pods.memory_base_mib", "must be > 0", p.MemoryBaseMiB},
		{p.MemoryPerInflightMiB >= 0, "pods.memory_per_inflight_mib", "must be >= 0", p.MemoryPerInflightMiB},
		{p.MemoryLimitMiB > p.MemoryBaseMiB, "pods.memory_limit_mib", "must be > memory_base_mib", p.MemoryLimitMiB},
		{p.MemoryPressure > 0 && p.MemoryPressure <= 1, "pods.memory_pressure", "must be in (0, 1]", p.MemoryPressure},
		{p.StartupStepsMin >= 1, "pods.startup_steps_min", "must be >= 1", p.StartupStepsMin},
		{p.StartupStepsMax >= p.StartupStepsMin, "pods.startup_steps_max", "must be >= startup_steps_min", p.StartupStepsMax},
		{p.TerminationSteps >= 1, "pods.termination_steps", "must be >= 1", p.TerminationSteps},
		{p.BackoffInitialSeconds > 0, "pods.backoff_initial_seconds", "must be > 0", p.BackoffInitialSeconds},
		{p.BackoffMaxSeconds >= p.BackoffInitialSeconds, "pods.backoff_max_seconds", "must be >= backoff_initial_seconds", p.BackoffMaxSeconds},
		{p.BackoffResetSeconds > 0, "pods.backoff_reset_seconds", "must be > 0", p.BackoffResetSeconds},
		{p.OverloadCrashUtilization > 1, "pods.overload_crash_utilization", "must be > 1", p.OverloadCrashUtilization},
		{p.OverloadCrashSteps >= 1, "pods.overload_crash_steps", "must be >= 1", p.OverloadCrashSteps},
		{p.MetricSmoothing > 0 && p.MetricSmoothing <= 1, "pods.metric_smoothing", "must be in (0, 1]", p.MetricSmoothing},
	}
	for _, c := range checks {
		if !c.ok {
			return fieldError(c.field, "%s (got %v)", c.msg, c.got)
		}
	}
	return nil
}

func (s SLOConfig) validate() error {
	switch {
	case !finite(s.LatencyP95Ms) || s.LatencyP95Ms <= 0:
		return fieldError("slo.latency_p95_ms", "must be > 0 (got %v)", s.LatencyP95Ms)
	case !finite(s.ErrorRate) || s.ErrorRate <= 0 || s.ErrorRate >= 1:
		return fieldError("slo.error_rate", "must be in (0, 1) (got %v)", s.ErrorRate)
	case !finite(s.RightSizeUtilization) || s.RightSizeUtilization <= 0 || s.RightSizeUtilization > 1:
		return fieldError("slo.right_size_utilization", "must be in (0, 1] (got %v)", s.RightSizeUtilization)
	}
	return nil
}

// ParseConfig reads a Config from YAML or JSON (JSON is YAML), starting
// from DefaultConfig so that absent fields keep their defaults. Unknown
// fields are refused. A scenario section may name a built-in scenario in
// "base" and override some of its fields. The result is validated.
func ParseConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	var probe struct {
		Scenario struct {
			Base string `yaml:"base"`
		} `yaml:"scenario"`
	}
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return Config{}, fmt.Errorf("parse config: %w", err)
	}
	if probe.Scenario.Base != "" {
		sc, err := ScenarioByName(probe.Scenario.Base)
		if err != nil {
			return Config{}, fmt.Errorf("parse config: scenario.base: %w", err)
		}
		cfg.Scenario = sc
	}
	if err := decodeStrict(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("parse config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// ParseScenario reads one Scenario from YAML or JSON. With "base" it starts
// from that built-in scenario, otherwise from the no-fault scenario.
// Unknown fields are refused; the result is validated against the default
// pod limits.
func ParseScenario(data []byte) (Scenario, error) {
	var probe struct {
		Base string `yaml:"base"`
	}
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return Scenario{}, fmt.Errorf("parse scenario: %w", err)
	}
	sc := NoFaultScenario()
	if probe.Base != "" {
		var err error
		if sc, err = ScenarioByName(probe.Base); err != nil {
			return Scenario{}, fmt.Errorf("parse scenario: base: %w", err)
		}
	}
	if err := decodeStrict(data, &sc); err != nil {
		return Scenario{}, fmt.Errorf("parse scenario: %w", err)
	}
	if err := sc.validate("scenario", DefaultConfig().Pods.MaxReplicas); err != nil {
		return Scenario{}, err
	}
	return sc, nil
}

// decodeStrict decodes YAML (or JSON) into v, refusing unknown fields.
// Empty input leaves v unchanged.
func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// KubeConfig holds the Kubernetes controller settings the simulation
// follows. Defaults are the upstream ones (REFERENCE.md).
type KubeConfig struct {
	// Nodes is the number of worker nodes the Deployment's pods are
	// spread over, in [1, 16]. Default 3.
	Nodes int `yaml:"nodes" json:"nodes"`
	// NodeMonitorGraceSeconds is how long a node's kubelet may be silent
	// before the node controller marks it NotReady (s, > 0; 50 s since
	// Kubernetes 1.32, 40 s before). Until then its pods stay in the
	// Service's endpoints and the requests sent to them fail.
	NodeMonitorGraceSeconds float64 `yaml:"node_monitor_grace_seconds" json:"node_monitor_grace_seconds"`
	// TolerationSeconds is how long pods tolerate the not-ready and
	// unreachable NoExecute taints before they are evicted and the
	// ReplicaSet replaces them (s, >= 0; default 300).
	TolerationSeconds float64 `yaml:"toleration_seconds" json:"toleration_seconds"`
	// MaxSurge is the RollingUpdate maxSurge as a fraction of the replicas,
	// rounded up, in [0, 1] (default 0.25).
	MaxSurge float64 `yaml:"max_surge" json:"max_surge"`
	// MaxUnavailable is the RollingUpdate maxUnavailable as a fraction of
	// the replicas, rounded down, in [0, 1] (default 0.25). When both
	// round to 0, maxUnavailable is 1, as in the Deployment controller.
	MaxUnavailable float64 `yaml:"max_unavailable" json:"max_unavailable"`
	// PodQuota caps the pods of the Deployment that may exist, as a
	// namespace ResourceQuota on pods does (0: no quota; else in
	// [1, 3*max_replicas]). The ReplicaSet cannot create pods beyond it
	// (FailedCreate) and retries every step.
	PodQuota int `yaml:"pod_quota" json:"pod_quota"`
}

// maxNodes bounds KubeConfig.Nodes.
const maxNodes = 16

// DefaultKubeConfig returns the upstream defaults on three nodes.
func DefaultKubeConfig() KubeConfig {
	return KubeConfig{Nodes: 3, NodeMonitorGraceSeconds: 50, TolerationSeconds: 300, MaxSurge: 0.25, MaxUnavailable: 0.25}
}

func (k KubeConfig) validate() error {
	switch {
	case k.Nodes < 1 || k.Nodes > maxNodes:
		return fieldError("kube.nodes", "must be in [1, %d] (got %d)", maxNodes, k.Nodes)
	case !finite(k.NodeMonitorGraceSeconds) || k.NodeMonitorGraceSeconds <= 0:
		return fieldError("kube.node_monitor_grace_seconds", "must be > 0 (got %v)", k.NodeMonitorGraceSeconds)
	case !finite(k.TolerationSeconds) || k.TolerationSeconds < 0:
		return fieldError("kube.toleration_seconds", "must be >= 0 (got %v)", k.TolerationSeconds)
	case !finite(k.MaxSurge) || k.MaxSurge < 0 || k.MaxSurge > 1:
		return fieldError("kube.max_surge", "must be in [0, 1] (got %v)", k.MaxSurge)
	case !finite(k.MaxUnavailable) || k.MaxUnavailable < 0 || k.MaxUnavailable > 1:
		return fieldError("kube.max_unavailable", "must be in [0, 1] (got %v)", k.MaxUnavailable)
	case k.PodQuota < 0 || k.PodQuota > 3*MaxReplicasLimit:
		return fieldError("kube.pod_quota", "must be in [0, %d] (got %d)", 3*MaxReplicasLimit, k.PodQuota)
	}
	return nil
}

// secondsToSteps converts a duration to whole steps, rounding up: a
// controller acts at the first step boundary after the time has passed.
func secondsToSteps(s float64) int { return int(math.Ceil(s / StepSeconds)) }
