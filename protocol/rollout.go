package protocol

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// Rollout is T steps of K environments collected by one actor with one
// policy version. Per-step arrays are time-major and flattened: the entry
// of step t and environment k is at t*K+k (observations at (t*K+k)*d).
type Rollout struct {
	// V is the schema version. Encoders always write SchemaVersion (0 in
	// memory means "current"); decoders set it to the version read.
	V uint16
	// ActorID names the actor: 1..128 printable ASCII bytes, no spaces.
	ActorID string
	// Incarnation is random per actor process start (non-zero), so a
	// restarted actor whose Seq starts again at 1 is not a duplicate.
	Incarnation uint64
	// Seq is the per-incarnation sequence number: 1, 2, 3, ...
	Seq uint64
	// MemberToken is the token the learner issued in its MemberReply to
	// this incarnation's Hello (non-zero). The learner trains only on
	// rollouts whose actor, incarnation and token match a current member,
	// so a rollout replayed under another identity, or after its actor
	// left, is refused (not_member, bad_token).
	MemberToken uint64
	// PolicyVersion is the version of the weights that chose the actions.
	PolicyVersion uint64
	// PolicyEpoch is the Epoch of those weights (Weights.Epoch): the
	// learner process that made them. A restarted learner refuses rollouts
	// of another epoch, even at a version number it has reached again.
	PolicyEpoch uint64
	// NumEnvs is K, the number of environments (>= 1).
	NumEnvs int
	// Horizon is T, the number of steps per environment (>= 1).
	Horizon int
	// ObsSize is d, the observation length (>= 1).
	ObsSize int
	// NumActions is A, the number of discrete actions (>= 2).
	NumActions int
	// Obs holds T*K*d normalised observations, exactly as the policy saw
	// them when it acted.
	Obs []float32
	// Actions holds T*K actions, each in [0, NumActions).
	Actions []int32
	// LogProbs holds T*K behaviour log-probabilities (finite, <= 0 up to
	// LogProbTolerance).
	LogProbs []float64
	// Values holds T*K value estimates of Obs.
	Values []float64
	// Rewards holds T*K rewards (finite, |r| <= Limits.MaxAbsReward).
	Rewards []float64
	// Terminated marks T*K steps that ended an episode in a terminal state.
	Terminated []bool
	// Truncated marks T*K steps that ended an episode by a time limit. A
	// step is never both terminated and truncated.
	Truncated []bool
	// BootstrapValues holds T*K values of the final observation of
	// truncated episodes. Only entries where Truncated is set are sent;
	// the others decode as 0.
	BootstrapValues []float64
	// LastValues holds K values of the observation after the last step,
	// for bootstrapping at the end of the segment.
	LastValues []float64
	// ObsStats are statistics of the raw (unnormalised) observations of
	// this rollout, merged into the learner's normaliser.
	ObsStats ObsStats
	// Episodes summarises the episodes that finished during this rollout
	// (at most Limits.MaxEpisodes).
	Episodes []EpisodeSummary
}

// ObsStats are Welford statistics of raw observations.
type ObsStats struct {
	// Count is the number of observations summarised (>= 0).
	Count float64
	// Mean holds d per-feature means; empty allowed when Count is 0.
	Mean []float64
	// M2 holds d per-feature sums of squared deviations (>= 0); empty
	// allowed when Count is 0.
	M2 []float64
}

// EpisodeSummary describes one finished episode.
type EpisodeSummary struct {
	// Return is the undiscounted sum of rewards (finite).
	Return float64
	// Length is the number of steps (>= 1).
	Length int
	// Scenario names the failure scenario (free text, may be empty).
	Scenario string
	// Terminated is true when the episode ended in a terminal state,
	// false when it was truncated.
	Terminated bool
	// RecoverySteps holds, per fault, the steps from fault to recovery
	// (each in [0, Length]).
	RecoverySteps []int32
	// ActionCounts holds how often each action was taken: empty, or
	// NumActions entries summing to Length.
	ActionCounts []uint32
	// SLOSteps is the number of steps with the SLO met, in [0, Length].
	SLOSteps int
	// HealthyFraction is the mean fraction of healthy pods, in [0, 1].
	HealthyFraction float64
}

// EnvSteps returns the number of environment steps in the rollout, T*K.
func (r *Rollout) EnvSteps() int { return r.NumEnvs * r.Horizon }

// Shape is what a receiver expects of messages. Zero fields are not
// checked.
type Shape struct {
	// ObsSize is the expected observation length.
	ObsSize int
	// NumActions is the expected number of actions.
	NumActions int
	// NumEnvs is the expected number of environments per rollout.
	NumEnvs int
	// Horizon is the expected number of steps per rollout.
	Horizon int
}

func (s Shape) check(obs, acts, envs, horizon int) error {
	switch {
	case s.ObsSize != 0 && obs != s.ObsSize:
		return fail(ReasonShape, "obs_size", "got %d, want %d", obs, s.ObsSize)
	case s.NumActions != 0 && acts != s.NumActions:
		return fail(ReasonShape, "num_actions", "got %d, want %d", acts, s.NumActions)
	case s.NumEnvs != 0 && envs != s.NumEnvs:
		return fail(ReasonShape, "num_envs", "got %d, want %d", envs, s.NumEnvs)
	case s.Horizon != 0 && horizon != s.Horizon:
		return fail(ReasonShape, "horizon", "got %d, want %d", horizon, s.Horizon)
	}
	return nil
}

// CheckShape reports (ReasonShape) a rollout for a different environment
// specification than want. It assumes a rollout that passed Validate.
func (r *Rollout) CheckShape(want Shape) error {
	return want.check(r.ObsSize, r.NumActions, r.NumEnvs, r.Horizon)
}

// Validate checks the rollout's self-consistency against lim: version,
// ids, dimensions, array lengths, action ranges, finiteness and domains.
func (r *Rollout) Validate(lim Limits) error { return r.validate(lim, true) }

// validate is Validate; checkFinite false skips the finiteness of packed
// arrays, which the decoder checks while unpacking.
func (r *Rollout) validate(lim Limits, checkFinite bool) error {
	if r.V != SchemaVersion && r.V != 0 {
		return fail(ReasonSchemaVersion, "v", "version %d, want %d", r.V, SchemaVersion)
	}
	if err := checkActorID("actor_id", r.ActorID); err != nil {
		return err
	}
	if r.Incarnation == 0 {
		return fail(ReasonBadID, "incarnation", "must be non-zero")
	}
	if r.Seq == 0 {
		return fail(ReasonBadValue, "seq", "sequence numbers start at 1")
	}
	if r.MemberToken == 0 {
		return fail(ReasonBadID, "member_token", "must be non-zero (the token of the learner's reply to hello)")
	}
	if err := r.checkDims(lim); err != nil {
		return err
	}
	n, k := r.EnvSteps(), r.NumEnvs
	lens := [...]struct {
		name      string
		got, want int
	}{
		{"obs", len(r.Obs), n * r.ObsSize},
		{"actions", len(r.Actions), n},
		{"log_probs", len(r.LogProbs), n},
		{"values", len(r.Values), n},
		{"rewards", len(r.Rewards), n},
		{"terminated", len(r.Terminated), n},
		{"truncated", len(r.Truncated), n},
		{"bootstrap_values", len(r.BootstrapValues), n},
		{"last_values", len(r.LastValues), k},
	}
	for _, l := range lens {
		if l.got != l.want {
			return fail(ReasonShape, l.name, "length %d, want %d", l.got, l.want)
		}
	}
	if checkFinite {
		if i := firstNonFinite32(r.Obs); i >= 0 {
			return fail(ReasonNonFinite, "obs", "index %d is %g", i, r.Obs[i])
		}
		for _, a := range [...]struct {
			name string
			v    []float64
		}{{"log_probs", r.LogProbs}, {"values", r.Values}, {"rewards", r.Rewards}, {"last_values", r.LastValues}} {
			if i := firstNonFinite(a.v); i >= 0 {
				return fail(ReasonNonFinite, a.name, "index %d is %g", i, a.v[i])
			}
		}
		for i, tr := range r.Truncated {
			if x := r.BootstrapValues[i]; tr && (math.IsNaN(x) || math.IsInf(x, 0)) {
				return fail(ReasonNonFinite, "bootstrap_values", "index %d is %g", i, x)
			}
		}
	}
	for i, a := range r.Actions {
		if a < 0 || int(a) >= r.NumActions {
			return fail(ReasonActionRange, "actions", "index %d is %d, want [0, %d)", i, a, r.NumActions)
		}
	}
	for i, lp := range r.LogProbs {
		if lp > LogProbTolerance {
			return fail(ReasonBadValue, "log_probs", "index %d is %g > 0", i, lp)
		}
	}
	for i, rw := range r.Rewards {
		if math.Abs(rw) > lim.MaxAbsReward {
			return fail(ReasonBadValue, "rewards", "index %d is %g, |r| > %g", i, rw, lim.MaxAbsReward)
		}
	}
	for i, te := range r.Terminated {
		if te && r.Truncated[i] {
			return fail(ReasonBadValue, "truncated", "index %d is both terminated and truncated", i)
		}
	}
	if err := r.ObsStats.validate(r.ObsSize, checkFinite); err != nil {
		return err
	}
	if len(r.Episodes) > lim.MaxEpisodes {
		return fail(ReasonTooLarge, "episodes", "%d episodes > max %d", len(r.Episodes), lim.MaxEpisodes)
	}
	for i := range r.Episodes {
		if err := r.Episodes[i].validate(i, r.NumActions, lim); err != nil {
			return err
		}
	}
	return nil
}

func (r *Rollout) checkDims(lim Limits) error {
	dims := [...]struct {
		name     string
		v, lo, h int
	}{
		{"num_envs", r.NumEnvs, 1, lim.MaxEnvs},
		{"horizon", r.Horizon, 1, lim.MaxHorizon},
		{"obs_size", r.ObsSize, 1, lim.MaxObsSize},
		{"num_actions", r.NumActions, 2, lim.MaxActions},
	}
	for _, d := range dims {
		if err := checkDim(d.name, d.v, d.lo, d.h); err != nil {
			return err
		}
	}
	return nil
}

// checkDim reports a dimension below lo (shape) or above hi (too_large).
func checkDim(name string, v, lo, hi int) error {
	if v < lo {
		return fail(ReasonShape, name, "%d < %d", v, lo)
	}
	if v > hi {
		return fail(ReasonTooLarge, name, "%d > max %d", v, hi)
	}
	return nil
}

func (s *ObsStats) validate(d int, checkFinite bool) error {
	if math.IsNaN(s.Count) || math.IsInf(s.Count, 0) {
		return fail(ReasonNonFinite, "obs_stats.count", "is %g", s.Count)
	}
	if s.Count < 0 {
		return fail(ReasonBadValue, "obs_stats.count", "%g < 0", s.Count)
	}
	for _, a := range [...]struct {
		name string
		v    []float64
	}{{"obs_stats.mean", s.Mean}, {"obs_stats.m2", s.M2}} {
		if len(a.v) != d && !(s.Count == 0 && len(a.v) == 0) {
			return fail(ReasonShape, a.name, "length %d, want %d", len(a.v), d)
		}
		if !checkFinite {
			continue
		}
		if i := firstNonFinite(a.v); i >= 0 {
			return fail(ReasonNonFinite, a.name, "index %d is %g", i, a.v[i])
		}
	}
	for i, m := range s.M2 {
		if m < 0 {
			return fail(ReasonBadValue, "obs_stats.m2", "index %d is %g < 0", i, m)
		}
	}
	return nil
}

func (e *EpisodeSummary) validate(i, numActions int, lim Limits) error {
	if math.IsNaN(e.Return) || math.IsInf(e.Return, 0) {
		return fail(ReasonNonFinite, episodeField(i, "return"), "is %g", e.Return)
	}
	if math.IsNaN(e.HealthyFraction) {
		return fail(ReasonNonFinite, episodeField(i, "healthy_fraction"), "is NaN")
	}
	switch {
	case math.Abs(e.Return) > lim.MaxAbsReward:
		return fail(ReasonBadValue, episodeField(i, "return"), "|%g| > %g", e.Return, lim.MaxAbsReward)
	case e.Length < 1 || e.Length > math.MaxInt32:
		return fail(ReasonBadValue, episodeField(i, "length"), "%d not in [1, 2^31)", e.Length)
	case e.SLOSteps < 0 || e.SLOSteps > e.Length:
		return fail(ReasonBadValue, episodeField(i, "slo_steps"), "%d not in [0, %d]", e.SLOSteps, e.Length)
	case e.HealthyFraction < 0 || e.HealthyFraction > 1:
		return fail(ReasonBadValue, episodeField(i, "healthy_fraction"), "%g not in [0, 1]", e.HealthyFraction)
	case len(e.Scenario) > lim.MaxStringLen:
		return fail(ReasonTooLarge, episodeField(i, "scenario"), "%d bytes > max %d", len(e.Scenario), lim.MaxStringLen)
	case !utf8.ValidString(e.Scenario):
		return fail(ReasonBadValue, episodeField(i, "scenario"), "not valid UTF-8")
	case len(e.RecoverySteps) > lim.MaxRecoveries:
		return fail(ReasonTooLarge, episodeField(i, "recovery_steps"), "%d entries > max %d", len(e.RecoverySteps), lim.MaxRecoveries)
	case len(e.ActionCounts) != 0 && len(e.ActionCounts) != numActions:
		return fail(ReasonShape, episodeField(i, "action_counts"), "length %d, want 0 or %d", len(e.ActionCounts), numActions)
	}
	for j, s := range e.RecoverySteps {
		if s < 0 || int(s) > e.Length {
			return fail(ReasonBadValue, episodeField(i, "recovery_steps"), "index %d is %d, not in [0, %d]", j, s, e.Length)
		}
	}
	if len(e.ActionCounts) > 0 {
		var sum uint64
		for _, c := range e.ActionCounts {
			sum += uint64(c)
		}
		if sum != uint64(e.Length) {
			return fail(ReasonBadValue, episodeField(i, "action_counts"), "sum %d, want length %d", sum, e.Length)
		}
	}
	return nil
}

func episodeField(i int, name string) string {
	return "episodes[" + strconv.Itoa(i) + "]." + name
}

// checkActorID reports an id that is not 1..MaxIDLen printable ASCII
// bytes without spaces.
func checkActorID(field, id string) error {
	if len(id) == 0 || len(id) > MaxIDLen {
		return fail(ReasonBadID, field, "length %d not in [1, %d]", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return fail(ReasonBadID, field, "byte 0x%02x at %d is not printable ASCII", c, i)
		}
	}
	return nil
}

// ValidateActorID checks an actor id as decoders do: 1..MaxIDLen
// printable ASCII bytes, no spaces.
func ValidateActorID(id string) error { return checkActorID("actor_id", id) }
