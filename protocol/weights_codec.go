package protocol

import (
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
// encoding, with a freshly computed checksum, to dst. Meta keys are written
// in sorted order so equal snapshots encode to equal bytes.
func AppendWeights(dst []byte, w *Weights) ([]byte, error) {
	if err := w.Validate(widestLimits()); err != nil {
		return dst, err
	}
	b := appendMapLen(dst, 10)
	b = appendKeyUint(b, "v", SchemaVersion)
	b = appendKeyUint(b, "version", w.Version)
	b = appendKeyUint(b, "epoch", w.Epoch)
	b = appendStr(b, "arch")
	b = appendMapLen(b, 5)
	b = appendKeyUint(b, "obs_size", uint64(w.Arch.ObsSize))
	b = appendKeyUint(b, "num_actions", uint64(w.Arch.NumActions))
	b = appendArrayLen(appendStr(b, "hidden"), len(w.Arch.Hidden))
	for _, h := range w.Arch.Hidden {
		b = appendUint(b, uint64(h))
	}
	b = appendKeyStr(b, "activation", w.Arch.Activation)
	b = appendKeyBool(b, "shared_trunk", w.Arch.SharedTrunk)
	b = appendStr(b, "params")
	p0 := len(b)
	b = appendFloat64s(b, w.Params)
	p1 := len(b)
	b = appendStr(b, "norm")
	b = appendMapLen(b, 5)
	b = appendKeyFloat(b, "count", w.Norm.Count)
	b = appendStr(b, "mean")
	m0 := len(b)
	b = appendFloat64s(b, w.Norm.Mean)
	m1 := len(b)
	b = appendStr(b, "var")
	v0 := len(b)
	b = appendFloat64s(b, w.Norm.Var)
	v1 := len(b)
	b = appendKeyFloat(b, "clip", w.Norm.Clip)
	b = appendKeyFloat(b, "epsilon", w.Norm.Epsilon)
	sum := checksumWeights(w, binPayload(b[p0:p1]), binPayload(b[m0:m1]), binPayload(b[v0:v1]))
	b = appendKeyUint(b, "checksum", uint64(sum))
	b = appendKeyStr(b, "run", w.Run)
	b = appendKeyInt(b, "created_unix_nano", w.CreatedUnixNano)
	b = appendStr(b, "meta")
	b = appendMapLen(b, len(w.Meta))
	keys := make([]string, 0, len(w.Meta))
	for k := range w.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendKeyStr(b, k, w.Meta[k])
	}
	return b, nil
}

// binPayload strips the header of a bin written by this package.
func binPayload(b []byte) []byte {
	switch b[0] {
	case 0xc4:
		return b[2:]
	case 0xc5:
		return b[3:]
	}
	return b[5:]
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
// holds partial garbage and the error is a *DecodeError.
func DecodeWeightsInto(w *Weights, data []byte, lim Limits) error {
	if len(data) > lim.MaxPayload {
		return &DecodeError{Reason: ReasonTooLarge, Err: &SizeError{What: "weights", Size: len(data), Limit: lim.MaxPayload}}
	}
	old := *w
	*w = Weights{}
	var params, mean, variance []byte
	hasV, hasSum := false, false
	rd := reader{b: data}
	n, err := rd.mapLen()
	if err != nil {
		return malformed("", err)
	}
	for i := 0; i < n; i++ {
		key, err := rd.str()
		if err != nil {
			return malformed("", err)
		}
		var u uint64
		switch string(key) {
		case "v":
			if u, err = rd.uint(math.MaxUint16); err == nil && u != SchemaVersion {
				return fail(ReasonSchemaVersion, "v", "version %d, want %d", u, SchemaVersion)
			}
			w.V, hasV = uint16(u), true
		case "version":
			w.Version, err = rd.uint(math.MaxUint64)
		case "epoch":
			w.Epoch, err = rd.uint(math.MaxUint64)
		case "arch":
			if err := decodeArch(&rd, &w.Arch, &old.Arch, lim); err != nil {
				return err
			}
		case "params":
			params, err = rd.bin()
		case "norm":
			if mean, variance, err = decodeNorm(&rd, &w.Norm); err != nil {
				return err
			}
		case "checksum":
			u, err = rd.uint(math.MaxUint32)
			w.Checksum, hasSum = uint32(u), true
		case "run":
			var s []byte
			if s, err = rd.str(); err == nil {
				if len(s) > MaxRunNameLen {
					return fail(ReasonBadID, "run", "length %d > max %d", len(s), MaxRunNameLen)
				}
				w.Run = keepString(old.Run, s)
			}
		case "created_unix_nano":
			w.CreatedUnixNano, err = rd.int(math.MinInt64, math.MaxInt64)
		case "meta":
			if err := decodeMeta(&rd, w, old.Meta, lim); err != nil {
				return err
			}
		default:
			err = rd.skip(0)
		}
		if err != nil {
			return malformed(string(key), err)
		}
	}
	if rd.remaining() != 0 {
		return malformed("", errTrailing)
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
	d := w.Arch.ObsSize
	if d < 0 || d > lim.MaxObsSize || len(mean) != 8*d || len(variance) != 8*d {
		return fail(ReasonShape, "norm", "mean %d and var %d bytes, want 8 per obs_size %d", len(mean), len(variance), d)
	}
	w.Params = resize(old.Params, len(params)/8)
	w.Norm.Mean = resize(old.Norm.Mean, d)
	w.Norm.Var = resize(old.Norm.Var, d)
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

func decodeArch(rd *reader, a, old *Arch, lim Limits) error {
	n, err := rd.mapLen()
	if err != nil {
		return malformed("arch", err)
	}
	for i := 0; i < n; i++ {
		key, err := rd.str()
		if err != nil {
			return malformed("arch", err)
		}
		var u uint64
		switch string(key) {
		case "obs_size":
			u, err = rd.uint(math.MaxInt32)
			a.ObsSize = int(u)
		case "num_actions":
			u, err = rd.uint(math.MaxInt32)
			a.NumActions = int(u)
		case "hidden":
			var m int
			if m, err = rd.arrayLen(); err != nil {
				break
			}
			if m > MaxHiddenLayers {
				return fail(ReasonTooLarge, "arch.hidden", "%d layers > max %d", m, MaxHiddenLayers)
			}
			a.Hidden = resize(old.Hidden, m)
			for j := 0; j < m && err == nil; j++ {
				u, err = rd.uint(math.MaxInt32)
				a.Hidden[j] = int(u)
			}
		case "activation":
			var s []byte
			if s, err = rd.str(); err == nil {
				a.Activation = keepString(old.Activation, s)
			}
		case "shared_trunk":
			a.SharedTrunk, err = rd.bool()
		default:
			err = rd.skip(0)
		}
		if err != nil {
			return malformed("arch."+string(key), err)
		}
	}
	return nil
}

// decodeNorm reads the normaliser's scalars into n and returns its packed
// mean and var, aliasing the input.
func decodeNorm(rd *reader, n *Norm) (mean, variance []byte, err error) {
	m, err := rd.mapLen()
	if err != nil {
		return nil, nil, malformed("norm", err)
	}
	for i := 0; i < m; i++ {
		key, err := rd.str()
		if err != nil {
			return nil, nil, malformed("norm", err)
		}
		switch string(key) {
		case "count":
			n.Count, err = rd.float()
		case "clip":
			n.Clip, err = rd.float()
		case "epsilon":
			n.Epsilon, err = rd.float()
		case "mean":
			mean, err = rd.bin()
		case "var":
			variance, err = rd.bin()
		default:
			err = rd.skip(0)
		}
		if err != nil {
			return nil, nil, malformed("norm."+string(key), err)
		}
	}
	return mean, variance, nil
}

func decodeMeta(rd *reader, w *Weights, old map[string]string, lim Limits) error {
	n, err := rd.mapLen()
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
		k, err := rd.str()
		if err != nil {
			return malformed("meta", err)
		}
		v, err := rd.str()
		if err != nil {
			return malformed("meta."+string(k), err)
		}
		if len(k) > MaxIDLen || len(v) > lim.MaxStringLen {
			return fail(ReasonTooLarge, "meta", "entry of %d+%d bytes over the limits", len(k), len(v))
		}
		w.Meta[string(k)] = string(v)
	}
	return nil
}
