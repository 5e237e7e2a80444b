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
	// RewardRecovered: Recovered * (g*R(s') - R(s)) with R = 1 while no
	// incident is open: +Recovered when an incident closes, -Recovered
	// when one opens (brief: +100 when fully recovered). Potential-based
	// shaping (Ng, Harada and Russell 1999): over a crash-and-recover cycle
	// it nets nothing, so it cannot be farmed.
	RewardRecovered
	// RewardImproved: the positive part of HealthyShare * (g*H(s') - H(s))
	// with H the share of replicas that are healthy (brief: +10 per pod
	// recovered). Potential-based, like RewardRecovered.
	RewardImproved
	// RewardDegraded: the negative part of the same difference (brief:
	// -10 per pod lost).
	RewardDegraded
	// RewardAllDown: -AllDown per step without any serving pod (brief:
	// -50); at termination (every pod down) also the cost of an outage
	// for the rest of the episode, -(latency+errors+all_down) per
	// remaining step, so that ending the episode is never cheaper than
	// trying.
	RewardAllDown
	// RewardAction: -Action per applied non-noop action (brief: -1): acts
	// only when it pays.
	RewardAction
	// RewardInvalid: -Invalid per invalid action, so the policy learns the
	// action preconditions.
	RewardInvalid
	// RewardRollback: -Rollback per rollback: it reverts a release, which
	// may have been a good one (the team re-ships it, and whatever it
	// brought is lost meanwhile), so a rollback is for evidence.
	RewardRollback
	// RewardOverScaled: -OverScaled per live pod above what the load
	// needs at the right-size utilisation (brief: -5 over-scaled): the
	// price of a replica, with no free spare.
	RewardOverScaled
	// NumRewardComponents is the number of reward terms.
	NumRewardComponents
)

var rewardComponentNames = [NumRewardComponents]string{
	"slo_met", "latency", "errors", "recovered", "improved", "degraded",
	"all_down", "action", "invalid", "rollback", "over_scaled",
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
// about [-2.5, +1.2] (termination aside).
type RewardConfig struct {
	// SLOMet is paid per step with the SLO met (default 0.1).
	SLOMet float64 `yaml:"slo_met" json:"slo_met"`
	// Latency weights the graded latency violation (default 0.5).
	Latency float64 `yaml:"latency" json:"latency"`
	// Errors weights the error-budget burn (default 1).
	Errors float64 `yaml:"errors" json:"errors"`
	// Recovered is the potential of "no incident open" (default 1).
	Recovered float64 `yaml:"recovered" json:"recovered"`
	// HealthyShare is the potential of an all-healthy deployment: the
	// shaping pays HealthyShare times the change in the healthy share of
	// replicas (default 0.5, so one pod of five is 0.1, the brief's 10).
	HealthyShare float64 `yaml:"healthy_share" json:"healthy_share"`
	// ShapingGamma is g in the shaping terms g*Phi(s') - Phi(s), in
	// [0, 1]. Default 1: over an episode the shaping sums to
	// Phi(end) - Phi(start) exactly, so evaluation returns are not
	// distorted; set it to the learner's discount for the exact
	// policy-invariance of Ng et al. under discounting.
	ShapingGamma float64 `yaml:"shaping_gamma" json:"shaping_gamma"`
	// AllDown is charged per step with no serving pod (default 0.5).
	AllDown float64 `yaml:"all_down" json:"all_down"`
	// Action is charged per applied non-noop action (default 0.02).
	Action float64 `yaml:"action" json:"action"`
	// Invalid is charged per invalid action (default 0.05).
	Invalid float64 `yaml:"invalid" json:"invalid"`
	// Rollback is charged per applied rollback on top of Action (default
	// 1: a reverted release costs as much as an incident's recovery is
	// worth).
	Rollback float64 `yaml:"rollback" json:"rollback"`
	// OverScaled is the price of one pod for one step above what the load
	// needs (default 0.02: a spare replica for a whole episode costs 4,
	// a fifth of what the SLO pays).
	OverScaled float64 `yaml:"over_scaled" json:"over_scaled"`
}

// DefaultRewardConfig returns the default weights.
func DefaultRewardConfig() RewardConfig {
	return RewardConfig{
		SLOMet: 0.1, Latency: 0.5, Errors: 1, Recovered: 1, HealthyShare: 0.5, ShapingGamma: 1,
		AllDown: 0.5, Action: 0.02, Invalid: 0.05, Rollback: 1, OverScaled: 0.02,
	}
}

func (r RewardConfig) validate() error {
	ws := []struct {
		name string
		v    float64
	}{
		{"slo_met", r.SLOMet}, {"latency", r.Latency}, {"errors", r.Errors}, {"recovered", r.Recovered},
		{"healthy_share", r.HealthyShare}, {"all_down", r.AllDown}, {"action", r.Action},
		{"invalid", r.Invalid}, {"rollback", r.Rollback}, {"over_scaled", r.OverScaled},
	}
	for _, w := range ws {
		if !finite(w.v) || w.v < 0 || w.v > 100 {
			return fieldError("reward."+w.name, "must be in [0, 100] (got %v)", w.v)
		}
	}
	if !finite(r.ShapingGamma) || r.ShapingGamma < 0 || r.ShapingGamma > 1 {
		return fieldError("reward.shaping_gamma", "must be in [0, 1] (got %v)", r.ShapingGamma)
	}
	return nil
}

// potentials returns the shaping potentials of the current state: the
// "no incident open" flag and the healthy share of replicas. Both are 0
// when every pod is down, so the terminal state has potential 0.
func (c *Cluster) potentials() (recovered, healthy float64) {
	in := &c.info
	if !c.incident.open {
		recovered = 1
	}
	if in.Replicas > 0 {
		healthy = float64(in.Healthy) / float64(in.Replicas)
	}
	return recovered, healthy
}

// neededReplicas is what the offered load needs at the right-size
// utilisation, at least min_replicas.
func (c *Cluster) neededReplicas() int {
	need := int(math.Ceil(c.info.RequestRate/(c.cfg.Pods.CapacityRPS*c.cfg.SLO.RightSizeUtilization) - 1e-9))
	return max(need, c.cfg.Pods.MinReplicas)
}

// reward fills info.Components from the step's aggregates and returns
// their sum. prevRec and prevHealthy are the potentials before the step;
// acted and invalid describe the action; terminated says the episode
// ends with every pod down.
func (c *Cluster) reward(prevRec, prevHealthy float64, acted, invalid, terminated bool) float64 {
	if acted && c.info.HasEvent(EventRolledBack) {
		c.info.Components[RewardRollback] = -c.cfg.Reward.Rollback
	}
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
	rec, healthy := c.potentials()
	g := w.ShapingGamma
	comp[RewardRecovered] = w.Recovered * (g*rec - prevRec)
	if d := w.HealthyShare * (g*healthy - prevHealthy); d > 0 {
		comp[RewardImproved] = d
	} else {
		comp[RewardDegraded] = d
	}
	if in.Serving == 0 {
		comp[RewardAllDown] = -w.AllDown
	}
	if terminated {
		left := float64(c.cfg.EpisodeSteps - c.step)
		comp[RewardAllDown] -= left * (w.Latency + w.Errors + w.AllDown)
	}
	if acted {
		comp[RewardAction] = -w.Action
	}
	if invalid {
		comp[RewardInvalid] = -w.Invalid
	}
	if surplus := in.Replicas - c.neededReplicas(); surplus > 0 {
		comp[RewardOverScaled] = -w.OverScaled * float64(surplus)
	}
	sum := 0.0
	for _, v := range comp {
		sum += v
	}
	return sum
}
