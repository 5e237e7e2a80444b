package protocol

import (
	"fmt"
	"math"
	"slices"
)

// EncodeWeights validates and encodes w (see AppendWeights). maxPayload is
// the connection's MaxPayload() in bytes (<= 0: no limit, for files); a
// larger message is refused with a *SizeError (ErrTooLarge).
func EncodeWeights(w *Weights, maxPayload int) ([]byte, error) {
	est := 512 + 8*(len(w.Params)+2*len(w.Norm.Mean)) + 256*len(w.Meta)
	b, err := AppendWeights(make([]byte, 0, est), w)
	if err != nil {
		return nil, err
	}
	if err := checkPayload("weights", b, maxPayload); err != nil {
		return nil, err
	}
	return b, nil
}

// AppendWeights validates w (with the widest Limits) and appends its
// encoding, with a freshly computed checksum, to dst, written by a reused
// msgpack.Encoder. Meta keys are written in sorted order so equal snapshots
// encode to equal bytes.
func AppendWeights(dst []byte, w *Weights) ([]byte, error) {
	if err := w.Validate(widestLimits()); err != nil {
		return dst, err
	}
	e := getEncoder(dst)
	e.mapLen(10)
	e.uint("v", SchemaVersion)
	e.uint("version", w.Version)
	e.uint("epoch", w.Epoch)
	e.key("arch")
	e.mapLen(5)
	e.uint("obs_size", uint64(w.Arch.ObsSize))
	e.uint("num_actions", uint64(w.Arch.NumActions))
	e.key("hidden")
	e.arrayLen(len(w.Arch.Hidden))
	for _, h := range w.Arch.Hidden {
		e.do(e.enc.EncodeUint(uint64(h)))
	}
	e.str("activation", w.Arch.Activation)
	e.bool("shared_trunk", w.Arch.SharedTrunk)
	params := e.float64s("params", w.Params)
	e.key("norm")
	e.mapLen(5)
	e.float("count", w.Norm.Count)
	mean := e.float64s("mean", w.Norm.Mean)
	variance := e.float64s("var", w.Norm.Var)
	e.float("clip", w.Norm.Clip)
	e.float("epsilon", w.Norm.Epsilon)
	e.uint("checksum", uint64(checksumWeights(w, params, mean, variance)))
	e.str("run", w.Run)
	e.int("created_unix_nano", w.CreatedUnixNano)
	e.key("meta")
	e.mapLen(len(w.Meta))
	keys := make([]string, 0, len(w.Meta))
	for k := range w.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e.str(k, w.Meta[k])
	}
	b, err := e.finish()
	if err != nil {
		return dst, fmt.Errorf("encode weights: %w", err)
	}
	return b, nil
}

// DecodeWeights decodes, verifies and validates weights; see
// DecodeWeightsInto.
func DecodeWeights(data []byte, lim Limits) (*Weights, error) {
	w := new(Weights)
	if err := DecodeWeightsInto(w, data, lim); err != nil {
		return nil, err
	}
	return w, nil
}

// DecodeWeightsInto decodes data into w, reusing w's Params, Norm and
// Hidden slices, verifies the checksum (ReasonChecksum) and validates the
// result. lim must be valid. The result never aliases data. On error w
// holds partial garbage and the error is a *DecodeError. As for
// DecodeRolloutInto, a reused msgpack.Decoder reads the message in place
// and every declared length is checked before anything is allocated.
func DecodeWeightsInto(w *Weights, data []byte, lim Limits) error {
	if len(data) > lim.MaxPayload {
		return &DecodeError{Reason: ReasonTooLarge, Err: &SizeError{What: "weights", Size: len(data), Limit: lim.MaxPayload}}
	}
	old := *w
	*w = Weights{}
	var params, mean, variance []byte
	hasV, hasSum := false, false
	d := getDecoder(data)
	defer d.release()
	n, err := d.mapLen()
	if err != nil {
		return malformed("", err)
	}
	for i := 0; i < n; i++ {
		key, err := d.bytes()
		if err != nil {
			return malformed("", err)
		}
		var u uint64
		switch string(key) {
		case "v":
			if u, err = d.uint(math.MaxUint16); err == nil && (u < OldestWeightsVersion || u > SchemaVersion) {
				return fail(ReasonSchemaVersion, "v", "version %d, want %d..%d", u, OldestWeightsVersion, SchemaVersion)
			}
			// Version 1 weights have the layout of version 2: read as is.
			w.V, hasV = SchemaVersion, true
		case "version":
			w.Version, err = d.uint(math.MaxUint64)
		case "epoch":
			w.Epoch, err = d.uint(math.MaxUint64)
		case "arch":
			if err := d.arch(&w.Arch, &old.Arch); err != nil {
				return err
			}
		case "params":
			params, err = d.bytes()
		case "norm":
			if mean, variance, err = d.norm(&w.Norm); err != nil {
				return err
			}
		case "checksum":
			u, err = d.uint(math.MaxUint32)
			w.Checksum, hasSum = uint32(u), true
		case "run":
			var s []byte
			if s, err = d.bytes(); err == nil {
				if len(s) > MaxRunNameLen {
					return fail(ReasonBadID, "run", "length %d > max %d", len(s), MaxRunNameLen)
				}
				w.Run = keepString(old.Run, s)
			}
		case "created_unix_nano":
			w.CreatedUnixNano, err = d.int(math.MinInt64, math.MaxInt64)
		case "meta":
			if err := d.meta(w, old.Meta, lim); err != nil {
				return err
			}
		default:
			err = d.skip(1)
		}
		if err != nil {
			return malformed(string(key), err)
		}
	}
	if err := d.done(); err != nil {
		return malformed("", err)
	}
	if !hasV {
		return fail(ReasonSchemaVersion, "v", "missing schema version")
	}
	if !hasSum {
		return fail(ReasonChecksum, "checksum", "missing")
	}
	if len(params)%8 != 0 {
		return fail(ReasonShape, "params", "%d bytes, not 8 per value", len(params))
	}
	if len(params)/8 > lim.MaxParams {
		return fail(ReasonTooLarge, "params", "%d values > max %d", len(params)/8, lim.MaxParams)
	}
	if got := checksumWeights(w, params, mean, variance); got != w.Checksum {
		return fail(ReasonChecksum, "checksum", "content has 0x%08x, message says 0x%08x", got, w.Checksum)
	}
	obs := w.Arch.ObsSize
	if obs < 0 || obs > lim.MaxObsSize || len(mean) != 8*obs || len(variance) != 8*obs {
		return fail(ReasonShape, "norm", "mean %d and var %d bytes, want 8 per obs_size %d", len(mean), len(variance), obs)
	}
	w.Params = resize(old.Params, len(params)/8)
	w.Norm.Mean = resize(old.Norm.Mean, obs)
	w.Norm.Var = resize(old.Norm.Var, obs)
	for _, f := range [...]struct {
		name string
		dst  []float64
		src  []byte
	}{{"params", w.Params, params}, {"norm.mean", w.Norm.Mean, mean}, {"norm.var", w.Norm.Var, variance}} {
		if i := decodeFloat64s(f.dst, f.src); i >= 0 {
			return fail(ReasonNonFinite, f.name, "index %d is %g", i, f.dst[i])
		}
	}
	return w.Validate(lim)
}

func (d *decoder) arch(a, old *Arch) error {
	n, err := d.mapLen()
	if err != nil {
		return malformed("arch", err)
	}
	for i := 0; i < n; i++ {
		key, err := d.bytes()
		if err != nil {
			return malformed("arch", err)
		}
		var u uint64
		switch string(key) {
		case "obs_size":
			u, err = d.uint(math.MaxInt32)
			a.ObsSize = int(u)
		case "num_actions":
			u, err = d.uint(math.MaxInt32)
			a.NumActions = int(u)
		case "hidden":
			var m int
			if m, err = d.arrayLen(); err != nil {
				break
			}
			if m > MaxHiddenLayers {
				return fail(ReasonTooLarge, "arch.hidden", "%d layers > max %d", m, MaxHiddenLayers)
			}
			a.Hidden = resize(old.Hidden, m)
			for j := 0; j < m && err == nil; j++ {
				u, err = d.uint(math.MaxInt32)
				a.Hidden[j] = int(u)
			}
		case "activation":
			var s []byte
			if s, err = d.bytes(); err == nil {
				a.Activation = keepString(old.Activation, s)
			}
		case "shared_trunk":
			a.SharedTrunk, err = d.bool()
		default:
			err = d.skip(1)
		}
		if err != nil {
			return malformed("arch."+string(key), err)
		}
	}
	return nil
}

// norm reads the normaliser's scalars into n and returns its packed mean
// and var, aliasing the input.
func (d *decoder) norm(n *Norm) (mean, variance []byte, err error) {
	m, err := d.mapLen()
	if err != nil {
		return nil, nil, malformed("norm", err)
	}
	for i := 0; i < m; i++ {
		key, err := d.bytes()
		if err != nil {
			return nil, nil, malformed("norm", err)
		}
		switch string(key) {
		case "count":
			n.Count, err = d.float()
		case "clip":
			n.Clip, err = d.float()
		case "epsilon":
			n.Epsilon, err = d.float()
		case "mean":
			mean, err = d.bytes()
		case "var":
			variance, err = d.bytes()
		default:
			err = d.skip(1)
		}
		if err != nil {
			return nil, nil, malformed("norm."+string(key), err)
		}
	}
	return mean, variance, nil
}

func (d *decoder) meta(w *Weights, old map[string]string, lim Limits) error {
	n, err := d.mapLen()
	if err != nil {
		return malformed("meta", err)
	}
	if n > MaxMetaEntries {
		return fail(ReasonTooLarge, "meta", "%d entries > max %d", n, MaxMetaEntries)
	}
	if n == 0 {
		return nil
	}
	w.Meta = old
	if w.Meta == nil {
		w.Meta = make(map[string]string, n)
	}
	clear(w.Meta)
	for i := 0; i < n; i++ {
		k, err := d.bytes()
		if err != nil {
			return malformed("meta", err)
		}
		v, err := d.bytes()
		if err != nil {
			return malformed("meta."+string(k), err)
		}
		if len(k) > MaxIDLen || len(v) > lim.MaxMetaValueLen {
			return fail(ReasonTooLarge, "meta", "entry of %d+%d bytes over the limits", len(k), len(v))
		}
		w.Meta[string(k)] = string(v)
	}
	return nil
}
