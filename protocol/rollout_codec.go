package protocol

import "math"

// widestLimits are the limits encoders check against: the receiver applies
// its own, tighter ones.
func widestLimits() Limits {
	return Limits{
		MaxPayload: 1 << 31, MaxEnvs: 1 << 20, MaxHorizon: 1 << 20, MaxObsSize: 1 << 20,
		MaxActions: 1 << 16, MaxParams: 1 << 30, MaxEpisodes: 1 << 20, MaxRecoveries: 1 << 20,
		MaxStringLen: 1 << 20, MaxAbsReward: 1e300,
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
// receiver applies its own) and appends its encoding to dst. It allocates
// nothing when dst has room.
func AppendRollout(dst []byte, r *Rollout) ([]byte, error) {
	if err := r.validate(widestLimits(), true); err != nil {
		return dst, err
	}
	b := appendMapLen(dst, 21)
	b = appendKeyUint(b, "v", SchemaVersion)
	b = appendKeyStr(b, "actor_id", r.ActorID)
	b = appendKeyUint(b, "incarnation", r.Incarnation)
	b = appendKeyUint(b, "seq", r.Seq)
	b = appendKeyUint(b, "policy_version", r.PolicyVersion)
	b = appendKeyUint(b, "policy_epoch", r.PolicyEpoch)
	b = appendKeyUint(b, "num_envs", uint64(r.NumEnvs))
	b = appendKeyUint(b, "horizon", uint64(r.Horizon))
	b = appendKeyUint(b, "obs_size", uint64(r.ObsSize))
	b = appendKeyUint(b, "num_actions", uint64(r.NumActions))
	b = appendFloat32s(appendStr(b, "obs"), r.Obs)
	b = appendActions(appendStr(b, "actions"), r.Actions, r.NumActions)
	b = appendFloat64s(appendStr(b, "log_probs"), r.LogProbs)
	b = appendFloat64s(appendStr(b, "values"), r.Values)
	b = appendFloat64s(appendStr(b, "rewards"), r.Rewards)
	b = appendBits(appendStr(b, "terminated"), r.Terminated)
	b = appendBits(appendStr(b, "truncated"), r.Truncated)
	b = appendSparseFloat64s(appendStr(b, "bootstrap_values"), r.BootstrapValues, r.Truncated)
	b = appendFloat64s(appendStr(b, "last_values"), r.LastValues)
	b = appendStr(b, "obs_stats")
	b = appendMapLen(b, 3)
	b = appendKeyFloat(b, "count", r.ObsStats.Count)
	b = appendFloat64s(appendStr(b, "mean"), r.ObsStats.Mean)
	b = appendFloat64s(appendStr(b, "m2"), r.ObsStats.M2)
	b = appendStr(b, "episodes")
	b = appendArrayLen(b, len(r.Episodes))
	for i := range r.Episodes {
		b = appendEpisode(b, &r.Episodes[i])
	}
	return b, nil
}

func appendEpisode(b []byte, e *EpisodeSummary) []byte {
	b = appendMapLen(b, 8)
	b = appendKeyFloat(b, "return", e.Return)
	b = appendKeyInt(b, "length", int64(e.Length))
	b = appendKeyStr(b, "scenario", e.Scenario)
	b = appendKeyBool(b, "terminated", e.Terminated)
	b = appendArrayLen(appendStr(b, "recovery_steps"), len(e.RecoverySteps))
	for _, s := range e.RecoverySteps {
		b = appendInt(b, int64(s))
	}
	b = appendArrayLen(appendStr(b, "action_counts"), len(e.ActionCounts))
	for _, c := range e.ActionCounts {
		b = appendUint(b, uint64(c))
	}
	b = appendKeyInt(b, "slo_steps", int64(e.SLOSteps))
	b = appendKeyFloat(b, "healthy_fraction", e.HealthyFraction)
	return b
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
func DecodeRolloutInto(r *Rollout, data []byte, lim Limits) error {
	if len(data) > lim.MaxPayload {
		return &DecodeError{Reason: ReasonTooLarge, Err: &SizeError{What: "rollout", Size: len(data), Limit: lim.MaxPayload}}
	}
	old := *r
	*r = Rollout{}
	var bins rolloutBins
	rd := reader{b: data}
	n, err := rd.mapLen()
	if err != nil {
		return malformed("", err)
	}
	hasV := false
	for i := 0; i < n; i++ {
		key, err := rd.str()
		if err != nil {
			return malformed("", err)
		}
		if err := decodeRolloutField(&rd, r, &old, &bins, key, lim); err != nil {
			return err
		}
		if string(key) == "v" {
			hasV = true
		}
	}
	if rd.remaining() != 0 {
		return malformed("", errTrailing)
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

// decodeRolloutField reads the value of key into r.
func decodeRolloutField(rd *reader, r, old *Rollout, bins *rolloutBins, key []byte, lim Limits) error {
	var err error
	var u uint64
	switch string(key) {
	case "v":
		if u, err = rd.uint(math.MaxUint16); err == nil && u != SchemaVersion {
			return fail(ReasonSchemaVersion, "v", "version %d, want %d", u, SchemaVersion)
		}
		r.V = uint16(u)
	case "actor_id":
		var s []byte
		if s, err = rd.str(); err == nil {
			if len(s) > MaxIDLen {
				return fail(ReasonBadID, "actor_id", "length %d > max %d", len(s), MaxIDLen)
			}
			r.ActorID = keepString(old.ActorID, s)
		}
	case "incarnation":
		r.Incarnation, err = rd.uint(math.MaxUint64)
	case "seq":
		r.Seq, err = rd.uint(math.MaxUint64)
	case "policy_version":
		r.PolicyVersion, err = rd.uint(math.MaxUint64)
	case "policy_epoch":
		r.PolicyEpoch, err = rd.uint(math.MaxUint64)
	case "num_envs", "horizon", "obs_size", "num_actions":
		// Bounded by an int32 here; checkDims applies the limits.
		u, err = rd.uint(math.MaxInt32)
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
		bins.obs, err = rd.bin()
	case "actions":
		bins.actions, err = rd.bin()
	case "log_probs":
		bins.logProbs, err = rd.bin()
	case "values":
		bins.values, err = rd.bin()
	case "rewards":
		bins.rewards, err = rd.bin()
	case "terminated":
		bins.terminated, err = rd.bin()
	case "truncated":
		bins.truncated, err = rd.bin()
	case "bootstrap_values":
		bins.bootstrap, err = rd.bin()
	case "last_values":
		bins.last, err = rd.bin()
	case "obs_stats":
		return decodeObsStats(rd, &r.ObsStats, &old.ObsStats, lim)
	case "episodes":
		return decodeEpisodes(rd, r, old, lim)
	default:
		err = rd.skip(0)
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

func decodeObsStats(rd *reader, s, old *ObsStats, lim Limits) error {
	n, err := rd.mapLen()
	if err != nil {
		return malformed("obs_stats", err)
	}
	for i := 0; i < n; i++ {
		key, err := rd.str()
		if err != nil {
			return malformed("obs_stats", err)
		}
		field := func() string { return "obs_stats." + string(key) }
		switch string(key) {
		case "count":
			s.Count, err = rd.float()
		case "mean", "m2":
			var b []byte
			if b, err = rd.bin(); err != nil {
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
			err = rd.skip(0)
		}
		if err != nil {
			return malformed(field(), err)
		}
	}
	return nil
}

func decodeEpisodes(rd *reader, r, old *Rollout, lim Limits) error {
	n, err := rd.arrayLen()
	if err != nil {
		return malformed("episodes", err)
	}
	if n > lim.MaxEpisodes {
		return fail(ReasonTooLarge, "episodes", "%d episodes > max %d", n, lim.MaxEpisodes)
	}
	r.Episodes = resize(old.Episodes, n)
	for i := range r.Episodes {
		if err := decodeEpisode(rd, i, &r.Episodes[i], lim); err != nil {
			return err
		}
	}
	return nil
}

func decodeEpisode(rd *reader, idx int, e *EpisodeSummary, lim Limits) error {
	prev := *e
	*e = EpisodeSummary{}
	n, err := rd.mapLen()
	if err != nil {
		return malformed(episodeField(idx, ""), err)
	}
	for i := 0; i < n; i++ {
		key, err := rd.str()
		if err != nil {
			return malformed(episodeField(idx, ""), err)
		}
		var v int64
		switch string(key) {
		case "return":
			e.Return, err = rd.float()
		case "length", "slo_steps":
			v, err = rd.int(math.MinInt32, math.MaxInt32)
			if string(key) == "length" {
				e.Length = int(v)
			} else {
				e.SLOSteps = int(v)
			}
		case "scenario":
			var s []byte
			if s, err = rd.str(); err == nil {
				if len(s) > lim.MaxStringLen {
					return fail(ReasonTooLarge, episodeField(idx, "scenario"), "%d bytes > max %d", len(s), lim.MaxStringLen)
				}
				e.Scenario = keepString(prev.Scenario, s)
			}
		case "terminated":
			e.Terminated, err = rd.bool()
		case "healthy_fraction":
			e.HealthyFraction, err = rd.float()
		case "recovery_steps":
			var m int
			if m, err = rd.arrayLen(); err != nil {
				break
			}
			if m > lim.MaxRecoveries {
				return fail(ReasonTooLarge, episodeField(idx, "recovery_steps"), "%d entries > max %d", m, lim.MaxRecoveries)
			}
			e.RecoverySteps = resize(prev.RecoverySteps, m)
			for j := 0; j < m && err == nil; j++ {
				v, err = rd.int(math.MinInt32, math.MaxInt32)
				e.RecoverySteps[j] = int32(v)
			}
		case "action_counts":
			var m int
			if m, err = rd.arrayLen(); err != nil {
				break
			}
			if m > lim.MaxActions {
				return fail(ReasonShape, episodeField(idx, "action_counts"), "%d entries > max actions %d", m, lim.MaxActions)
			}
			e.ActionCounts = resize(prev.ActionCounts, m)
			for j := 0; j < m && err == nil; j++ {
				var u uint64
				u, err = rd.uint(math.MaxUint32)
				e.ActionCounts[j] = uint32(u)
			}
		default:
			err = rd.skip(0)
		}
		if err != nil {
			return malformed(episodeField(idx, string(key)), err)
		}
	}
	return nil
}
