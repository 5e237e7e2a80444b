package protocol

import (
	"fmt"
	"math"
)

// widestLimits are the limits encoders check against: the receiver applies
// its own, tighter ones.
func widestLimits() Limits {
	return Limits{
		MaxPayload: 1 << 31, MaxEnvs: 1 << 20, MaxHorizon: 1 << 20, MaxObsSize: 1 << 20,
		MaxActions: 1 << 16, MaxParams: 1 << 30, MaxEpisodes: 1 << 20, MaxRecoveries: 1 << 20,
		MaxStringLen: 1 << 20, MaxMetaValueLen: 1 << 20, MaxAbsReward: 1e300,
	}
}

// checkPayload refuses an encoded message over maxPayload (> 0).
func checkPayload(what string, b []byte, maxPayload int) error {
	if maxPayload > 0 && len(b) > maxPayload {
		return &SizeError{What: what, Size: len(b), Limit: maxPayload}
	}
	return nil
}

// EncodeRollout validates and encodes r into a new buffer. maxPayload is the
// connection's MaxPayload() in bytes (<= 0: no limit); a larger message is
// refused with a *SizeError (ErrTooLarge), never truncated.
func EncodeRollout(r *Rollout, maxPayload int) ([]byte, error) {
	est := 512 + 4*len(r.Obs) + 2*len(r.Actions) + 8*(4*len(r.LogProbs)+len(r.LastValues)+2*r.ObsSize) + 128*len(r.Episodes)
	b, err := AppendRollout(make([]byte, 0, est), r)
	if err != nil {
		return nil, err
	}
	if err := checkPayload("rollout", b, maxPayload); err != nil {
		return nil, err
	}
	return b, nil
}

// AppendRollout validates r (as Validate with the widest Limits: the
// receiver applies its own) and appends its encoding to dst, written by a
// reused msgpack.Encoder. It allocates nothing when dst has room.
func AppendRollout(dst []byte, r *Rollout) ([]byte, error) {
	if err := r.validate(widestLimits(), true); err != nil {
		return dst, err
	}
	e := getEncoder(dst)
	e.mapLen(22)
	e.uint("v", SchemaVersion)
	e.str("actor_id", r.ActorID)
	e.uint("incarnation", r.Incarnation)
	e.uint("seq", r.Seq)
	e.uint("member_token", r.MemberToken)
	e.uint("policy_version", r.PolicyVersion)
	e.uint("policy_epoch", r.PolicyEpoch)
	e.uint("num_envs", uint64(r.NumEnvs))
	e.uint("horizon", uint64(r.Horizon))
	e.uint("obs_size", uint64(r.ObsSize))
	e.uint("num_actions", uint64(r.NumActions))
	e.float32s("obs", r.Obs)
	e.actions("actions", r.Actions, r.NumActions)
	e.float64s("log_probs", r.LogProbs)
	e.float64s("values", r.Values)
	e.float64s("rewards", r.Rewards)
	e.bits("terminated", r.Terminated)
	e.bits("truncated", r.Truncated)
	e.sparseFloat64s("bootstrap_values", r.BootstrapValues, r.Truncated)
	e.float64s("last_values", r.LastValues)
	e.key("obs_stats")
	e.mapLen(3)
	e.float("count", r.ObsStats.Count)
	e.float64s("mean", r.ObsStats.Mean)
	e.float64s("m2", r.ObsStats.M2)
	e.key("episodes")
	e.arrayLen(len(r.Episodes))
	for i := range r.Episodes {
		e.episode(&r.Episodes[i])
	}
	b, err := e.finish()
	if err != nil {
		return dst, fmt.Errorf("encode rollout: %w", err)
	}
	return b, nil
}

func (e *encoder) episode(ep *EpisodeSummary) {
	e.mapLen(8)
	e.float("return", ep.Return)
	e.int("length", int64(ep.Length))
	e.str("scenario", ep.Scenario)
	e.bool("terminated", ep.Terminated)
	e.key("recovery_steps")
	e.arrayLen(len(ep.RecoverySteps))
	for _, s := range ep.RecoverySteps {
		e.do(e.enc.EncodeInt(int64(s)))
	}
	e.key("action_counts")
	e.arrayLen(len(ep.ActionCounts))
	for _, c := range ep.ActionCounts {
		e.do(e.enc.EncodeUint(uint64(c)))
	}
	e.int("slo_steps", int64(ep.SLOSteps))
	e.float("healthy_fraction", ep.HealthyFraction)
}

// DecodeRollout decodes and validates a rollout; see DecodeRolloutInto.
func DecodeRollout(data []byte, lim Limits) (*Rollout, error) {
	r := new(Rollout)
	if err := DecodeRolloutInto(r, data, lim); err != nil {
		return nil, err
	}
	return r, nil
}

// rolloutBins holds the packed arrays of a rollout while its map is read,
// aliasing the input, so that shapes are checked before anything is
// allocated whatever the key order.
type rolloutBins struct {
	obs, actions, logProbs, values, rewards, terminated, truncated, bootstrap, last []byte
}

// DecodeRolloutInto decodes data into r, reusing r's slices, and validates
// the result (Validate). lim must be valid. Unknown keys are skipped;
// missing keys decode as zero values. The result never aliases data. On
// error r holds partial garbage and the error is a *DecodeError.
//
// A reused msgpack.Decoder reads the message in place: every length it
// reads (DecodeMapLen, DecodeArrayLen, DecodeBytesLen) is checked against
// the remaining input and the limits, and packed arrays against the
// declared dimensions, before anything is allocated. Decoding into a value
// that already holds a rollout of the same shape allocates nothing.
func DecodeRolloutInto(r *Rollout, data []byte, lim Limits) error {
	if len(data) > lim.MaxPayload {
		return &DecodeError{Reason: ReasonTooLarge, Err: &SizeError{What: "rollout", Size: len(data), Limit: lim.MaxPayload}}
	}
	old := *r
	*r = Rollout{}
	var bins rolloutBins
	d := getDecoder(data)
	defer d.release()
	n, err := d.mapLen()
	if err != nil {
		return malformed("", err)
	}
	hasV := false
	for i := 0; i < n; i++ {
		key, err := d.bytes()
		if err != nil {
			return malformed("", err)
		}
		if err := d.rolloutField(r, &old, &bins, key, lim); err != nil {
			return err
		}
		if string(key) == "v" {
			hasV = true
		}
	}
	if err := d.done(); err != nil {
		return malformed("", err)
	}
	if !hasV {
		return fail(ReasonSchemaVersion, "v", "missing schema version")
	}
	if err := r.checkDims(lim); err != nil {
		return err
	}
	if err := r.unpack(&bins, &old); err != nil {
		return err
	}
	return r.validate(lim, false)
}

// rolloutField reads the value of key into r.
func (d *decoder) rolloutField(r, old *Rollout, bins *rolloutBins, key []byte, lim Limits) error {
	var err error
	var u uint64
	switch string(key) {
	case "v":
		if u, err = d.uint(math.MaxUint16); err == nil && u != SchemaVersion {
			return fail(ReasonSchemaVersion, "v", "version %d, want %d", u, SchemaVersion)
		}
		r.V = uint16(u)
	case "actor_id":
		var s []byte
		if s, err = d.bytes(); err == nil {
			if len(s) > MaxIDLen {
				return fail(ReasonBadID, "actor_id", "length %d > max %d", len(s), MaxIDLen)
			}
			r.ActorID = keepString(old.ActorID, s)
		}
	case "incarnation":
		r.Incarnation, err = d.uint(math.MaxUint64)
	case "seq":
		r.Seq, err = d.uint(math.MaxUint64)
	case "member_token":
		r.MemberToken, err = d.uint(math.MaxUint64)
	case "policy_version":
		r.PolicyVersion, err = d.uint(math.MaxUint64)
	case "policy_epoch":
		r.PolicyEpoch, err = d.uint(math.MaxUint64)
	case "num_envs", "horizon", "obs_size", "num_actions":
		// Bounded by an int32 here; checkDims applies the limits.
		u, err = d.uint(math.MaxInt32)
		switch string(key) {
		case "num_envs":
			r.NumEnvs = int(u)
		case "horizon":
			r.Horizon = int(u)
		case "obs_size":
			r.ObsSize = int(u)
		default:
			r.NumActions = int(u)
		}
	case "obs":
		bins.obs, err = d.bytes()
	case "actions":
		bins.actions, err = d.bytes()
	case "log_probs":
		bins.logProbs, err = d.bytes()
	case "values":
		bins.values, err = d.bytes()
	case "rewards":
		bins.rewards, err = d.bytes()
	case "terminated":
		bins.terminated, err = d.bytes()
	case "truncated":
		bins.truncated, err = d.bytes()
	case "bootstrap_values":
		bins.bootstrap, err = d.bytes()
	case "last_values":
		bins.last, err = d.bytes()
	case "obs_stats":
		return d.obsStats(&r.ObsStats, &old.ObsStats, lim)
	case "episodes":
		return d.episodes(r, old, lim)
	default:
		err = d.skip(1)
	}
	if err != nil {
		return malformed(string(key), err)
	}
	return nil
}

// unpack checks the packed arrays' sizes against the dimensions, then
// copies them into r (reusing old's slices) checking finiteness and ranges.
func (r *Rollout) unpack(b *rolloutBins, old *Rollout) error {
	n := r.EnvSteps()
	bits := (n + 7) / 8
	sizes := [...]struct {
		name      string
		got, want int
	}{
		{"obs", len(b.obs), 4 * n * r.ObsSize},
		{"actions", len(b.actions), actionWidth(r.NumActions) * n},
		{"log_probs", len(b.logProbs), 8 * n},
		{"values", len(b.values), 8 * n},
		{"rewards", len(b.rewards), 8 * n},
		{"terminated", len(b.terminated), bits},
		{"truncated", len(b.truncated), bits},
		{"last_values", len(b.last), 8 * r.NumEnvs},
	}
	for _, s := range sizes {
		if s.got != s.want {
			return fail(ReasonShape, s.name, "%d bytes, want %d", s.got, s.want)
		}
	}
	r.Terminated = resize(old.Terminated, n)
	r.Truncated = resize(old.Truncated, n)
	if !decodeBits(r.Terminated, b.terminated) {
		return fail(ReasonMalformed, "terminated", "padding bits set")
	}
	if !decodeBits(r.Truncated, b.truncated) {
		return fail(ReasonMalformed, "truncated", "padding bits set")
	}
	nt := 0
	for _, t := range r.Truncated {
		if t {
			nt++
		}
	}
	if len(b.bootstrap) != 8*nt {
		return fail(ReasonShape, "bootstrap_values", "%d bytes, want %d (8 per truncated step)", len(b.bootstrap), 8*nt)
	}
	r.Obs = resize(old.Obs, n*r.ObsSize)
	if i := decodeFloat32s(r.Obs, b.obs); i >= 0 {
		return fail(ReasonNonFinite, "obs", "index %d is %g", i, r.Obs[i])
	}
	r.Actions = resize(old.Actions, n)
	if i := decodeActions(r.Actions, b.actions, r.NumActions); i >= 0 {
		return fail(ReasonActionRange, "actions", "index %d is %d, want [0, %d)", i, r.Actions[i], r.NumActions)
	}
	floats := [...]struct {
		name string
		dst  *[]float64
		old  []float64
		src  []byte
		n    int
	}{
		{"log_probs", &r.LogProbs, old.LogProbs, b.logProbs, n},
		{"values", &r.Values, old.Values, b.values, n},
		{"rewards", &r.Rewards, old.Rewards, b.rewards, n},
		{"last_values", &r.LastValues, old.LastValues, b.last, r.NumEnvs},
	}
	for _, f := range floats {
		*f.dst = resize(f.old, f.n)
		if i := decodeFloat64s(*f.dst, f.src); i >= 0 {
			return fail(ReasonNonFinite, f.name, "index %d is %g", i, (*f.dst)[i])
		}
	}
	r.BootstrapValues = resize(old.BootstrapValues, n)
	j := 0
	for i, t := range r.Truncated {
		if !t {
			r.BootstrapValues[i] = 0
			continue
		}
		var one [1]float64
		if decodeFloat64s(one[:], b.bootstrap[8*j:]) >= 0 {
			return fail(ReasonNonFinite, "bootstrap_values", "index %d is %g", i, one[0])
		}
		r.BootstrapValues[i] = one[0]
		j++
	}
	return nil
}

func (d *decoder) obsStats(s, old *ObsStats, lim Limits) error {
	n, err := d.mapLen()
	if err != nil {
		return malformed("obs_stats", err)
	}
	for i := 0; i < n; i++ {
		key, err := d.bytes()
		if err != nil {
			return malformed("obs_stats", err)
		}
		field := func() string { return "obs_stats." + string(key) }
		switch string(key) {
		case "count":
			s.Count, err = d.float()
		case "mean", "m2":
			var b []byte
			if b, err = d.bytes(); err != nil {
				break
			}
			if len(b)%8 != 0 || len(b)/8 > lim.MaxObsSize {
				return fail(ReasonShape, field(), "%d bytes: not 8 per value or over %d values", len(b), lim.MaxObsSize)
			}
			dst, prev := &s.Mean, old.Mean
			if string(key) == "m2" {
				dst, prev = &s.M2, old.M2
			}
			*dst = resize(prev, len(b)/8)
			if j := decodeFloat64s(*dst, b); j >= 0 {
				return fail(ReasonNonFinite, field(), "index %d is %g", j, (*dst)[j])
			}
		default:
			err = d.skip(1)
		}
		if err != nil {
			return malformed(field(), err)
		}
	}
	return nil
}

func (d *decoder) episodes(r, old *Rollout, lim Limits) error {
	n, err := d.arrayLen()
	if err != nil {
		return malformed("episodes", err)
	}
	if n > lim.MaxEpisodes {
		return fail(ReasonTooLarge, "episodes", "%d episodes > max %d", n, lim.MaxEpisodes)
	}
	r.Episodes = resize(old.Episodes, n)
	for i := range r.Episodes {
		if err := d.episode(i, &r.Episodes[i], lim); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) episode(idx int, e *EpisodeSummary, lim Limits) error {
	prev := *e
	*e = EpisodeSummary{}
	n, err := d.mapLen()
	if err != nil {
		return malformed(episodeField(idx, ""), err)
	}
	for i := 0; i < n; i++ {
		key, err := d.bytes()
		if err != nil {
			return malformed(episodeField(idx, ""), err)
		}
		var v int64
		switch string(key) {
		case "return":
			e.Return, err = d.float()
		case "length", "slo_steps":
			v, err = d.int(math.MinInt32, math.MaxInt32)
			if string(key) == "length" {
				e.Length = int(v)
			} else {
				e.SLOSteps = int(v)
			}
		case "scenario":
			var s []byte
			if s, err = d.bytes(); err == nil {
				if len(s) > lim.MaxStringLen {
					return fail(ReasonTooLarge, episodeField(idx, "scenario"), "%d bytes > max %d", len(s), lim.MaxStringLen)
				}
				e.Scenario = keepString(prev.Scenario, s)
			}
		case "terminated":
			e.Terminated, err = d.bool()
		case "healthy_fraction":
			e.HealthyFraction, err = d.float()
		case "recovery_steps":
			var m int
			if m, err = d.arrayLen(); err != nil {
				break
			}
			if m > lim.MaxRecoveries {
				return fail(ReasonTooLarge, episodeField(idx, "recovery_steps"), "%d entries > max %d", m, lim.MaxRecoveries)
			}
			e.RecoverySteps = resize(prev.RecoverySteps, m)
			for j := 0; j < m && err == nil; j++ {
				v, err = d.int(math.MinInt32, math.MaxInt32)
				e.RecoverySteps[j] = int32(v)
			}
		case "action_counts":
			var m int
			if m, err = d.arrayLen(); err != nil {
				break
			}
			if m > lim.MaxActions {
				return fail(ReasonShape, episodeField(idx, "action_counts"), "%d entries > max actions %d", m, lim.MaxActions)
			}
			e.ActionCounts = resize(prev.ActionCounts, m)
			for j := 0; j < m && err == nil; j++ {
				var u uint64
				u, err = d.uint(math.MaxUint32)
				e.ActionCounts[j] = uint32(u)
			}
		default:
			err = d.skip(1)
		}
		if err != nil {
			return malformed(episodeField(idx, string(key)), err)
		}
	}
	return nil
}
