package envsim

import "math"

// RewardComponent indexes StepInfo.Components.
type RewardComponent int

const (
	// RewardSLOMet: +SLOMet per step with the SLO met. The dense "things
	// are fine" signal that makes doing nothing right on no-fault.
	RewardSLOMet RewardComponent = iota
	// RewardLatency: -Latency * (p95 - SLO)/(timeout - SLO), clamped to
	// [0, 1]: graded, so a policy is paid for making things less bad.
	RewardLatency
	// RewardErrors: -Errors * min(1, error rate / (20 * SLO error rate)):
	// error-budget burn, saturating at 20x the budget.
	RewardErrors
	// RewardRecovered: +Recovered once when every pod is healthy and the
	// SLO met again after a failure had a visible impact (brief: +100).
	// Only failures (crashes, faults) open an incident, so a policy cannot
	// farm it by scaling up and down.
	RewardRecovered
	// RewardImproved: +Improved per extra healthy pod while an incident is
	// open (brief: +10): credit for partial recovery.
	RewardImproved
	// RewardDegraded: -Degraded per healthy pod lost (brief: -10); also
	// the price of restarting a healthy-looking pod.
	RewardDegraded
	// RewardAllDown: -AllDown per step without any serving pod (brief:
	// -50).
	RewardAllDown
	// RewardAction: -Action per applied non-noop action (brief: -1): acts
	// only when it pays.
	RewardAction
	// RewardInvalid: -Invalid per invalid action, so the policy learns the
	// action preconditions.
	RewardInvalid
	// RewardOverScaled: -OverScaled per replica above the right size plus
	// one spare (brief: -5 over-scaled): cost.
	RewardOverScaled
	// NumRewardComponents is the number of reward terms.
	NumRewardComponents
)

var rewardComponentNames = [NumRewardComponents]string{
	"slo_met", "latency", "errors", "recovered", "improved", "degraded",
	"all_down", "action", "invalid", "over_scaled",
}

// String returns the snake_case component name.
func (r RewardComponent) String() string {
	if r >= 0 && r < NumRewardComponents {
		return rewardComponentNames[r]
	}
	return "unknown"
}

// RewardComponentNames lists the component names in index order.
func RewardComponentNames() []string {
	return append([]string(nil), rewardComponentNames[:]...)
}

// RewardConfig weights the reward terms; every weight is a non-negative
// magnitude (the sign is fixed by the term). The defaults are the product
// brief's magnitudes divided by 100, so one step's reward stays within
// about [-2.5, +1.2] and an episode of 200 steps within [-500, +30].
type RewardConfig struct {
	// SLOMet is paid per step with the SLO met (default 0.1).
	SLOMet float64 `yaml:"slo_met" json:"slo_met"`
	// Latency weights the graded latency violation (default 0.5).
	Latency float64 `yaml:"latency" json:"latency"`
	// Errors weights the error-budget burn (default 1).
	Errors float64 `yaml:"errors" json:"errors"`
	// Recovered is paid once per recovered incident (default 1).
	Recovered float64 `yaml:"recovered" json:"recovered"`
	// Improved is paid per extra healthy pod during an incident (0.1).
	Improved float64 `yaml:"improved" json:"improved"`
	// Degraded is charged per healthy pod lost (default 0.1).
	Degraded float64 `yaml:"degraded" json:"degraded"`
	// AllDown is charged per step with no serving pod (default 0.5).
	AllDown float64 `yaml:"all_down" json:"all_down"`
	// Action is charged per applied non-noop action (default 0.02).
	Action float64 `yaml:"action" json:"action"`
	// Invalid is charged per invalid action (default 0.05).
	Invalid float64 `yaml:"invalid" json:"invalid"`
	// OverScaled is charged per step and surplus replica (default 0.05).
	OverScaled float64 `yaml:"over_scaled" json:"over_scaled"`
}

// DefaultRewardConfig returns the default weights.
func DefaultRewardConfig() RewardConfig {
	return RewardConfig{
		SLOMet: 0.1, Latency: 0.5, Errors: 1, Recovered: 1, Improved: 0.1,
		Degraded: 0.1, AllDown: 0.5, Action: 0.02, Invalid: 0.05, OverScaled: 0.05,
	}
}

func (r RewardConfig) validate() error {
	ws := [NumRewardComponents]float64{r.SLOMet, r.Latency, r.Errors, r.Recovered, r.Improved,
		r.Degraded, r.AllDown, r.Action, r.Invalid, r.OverScaled}
	for i, w := range ws {
		if !finite(w) || w < 0 || w > 100 {
			return fieldError("reward."+rewardComponentNames[i], "must be in [0, 100] (got %v)", w)
		}
	}
	return nil
}

// reward fills info.Components from the step's aggregates and returns
// their sum. prevHealthy is the healthy count before the step; acted and
// invalid describe the action.
func (c *Cluster) reward(prevHealthy int, acted, invalid bool) float64 {
	w := &c.cfg.Reward
	in := &c.info
	comp := &in.Components
	if in.SLOMet {
		comp[RewardSLOMet] = w.SLOMet
	}
	slo, timeout := c.cfg.SLO.LatencyP95Ms, c.cfg.Pods.TimeoutMs
	if in.LatencyP95Ms > slo {
		comp[RewardLatency] = -w.Latency * min(1, (in.LatencyP95Ms-slo)/max(timeout-slo, 1))
	}
	comp[RewardErrors] = -w.Errors * min(1, in.ErrorRate/(20*c.cfg.SLO.ErrorRate))
	if d := in.Healthy - prevHealthy; d > 0 && c.incidentOpen {
		comp[RewardImproved] = w.Improved * float64(d)
	} else if d < 0 {
		comp[RewardDegraded] = w.Degraded * float64(d)
	}
	if c.incidentOpen && (!in.AllHealthy || !in.SLOMet) {
		c.incidentImpact = true
	}
	if c.incidentOpen && c.incidentImpact && in.AllHealthy && in.SLOMet {
		c.incidentOpen, c.incidentImpact = false, false
		comp[RewardRecovered] = w.Recovered
		in.addEvent(Event{Kind: EventRecovered, Pod: -1})
	}
	if in.Serving == 0 {
		comp[RewardAllDown] = -w.AllDown
	}
	if acted {
		comp[RewardAction] = -w.Action
	}
	if invalid {
		comp[RewardInvalid] = -w.Invalid
	}
	need := int(math.Ceil(in.RequestRate / (c.cfg.Pods.CapacityRPS * c.cfg.SLO.RightSizeUtilization)))
	need = max(need, c.cfg.Pods.MinReplicas)
	if surplus := in.Replicas - need - 1; surplus > 0 {
		comp[RewardOverScaled] = -w.OverScaled * float64(surplus)
	}
	sum := 0.0
	for _, v := range comp {
		sum += v
	}
	in.IncidentOpen = c.incidentOpen
	return sum
}
