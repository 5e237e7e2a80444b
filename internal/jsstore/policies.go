package jsstore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// PolicyConfig configures a run's policy store. Zero fields take the
// defaults of DefaultPolicyConfig.
type PolicyConfig struct {
	// Keep is how many of the newest versions stay (>= 1); the best by
	// score stays as well. Default 5.
	Keep int
	// MaxBytes bounds the bucket in bytes. A snapshot may take at most
	// MaxBytes/(Keep+2): room for the kept ones, the best and the one
	// being written. Default 64 MiB.
	MaxBytes int64
	// Replicas of the bucket (1..5); 0 means DefaultReplicas.
	Replicas int
}

// DefaultPolicyConfig returns the documented defaults.
func DefaultPolicyConfig() PolicyConfig {
	return PolicyConfig{Keep: 5, MaxBytes: 64 << 20}
}

// PolicyInfo describes one stored snapshot.
type PolicyInfo struct {
	// Version is the policy version; Epoch the learner epoch that wrote it.
	Version, Epoch uint64
	// Score ranks snapshots for "best" (higher is better); NaN if unknown.
	Score float64
	// Metrics are free-form numbers stored with the snapshot.
	Metrics map[string]float64
	// Size in bytes, Created when stored (server time), Digest the
	// object store's SHA-256.
	Size    int64
	Created time.Time
	Digest  string
	// Best marks the best-scored snapshot in a listing.
	Best bool
}

// Policies is a run's policy snapshot store.
type Policies struct {
	objs objects
	keep int
}

// Metadata keys of a snapshot object.
const (
	metaVersion = "version"
	metaEpoch   = "epoch"
	metaScore   = "score"
	metaMetric  = "metric."
)

// CreatePolicies opens the policy store of run, creating its bucket if
// needed: what the learner calls.
func CreatePolicies(ctx context.Context, js jetstream.JetStream, run string, cfg PolicyConfig) (*Policies, error) {
	return openPolicies(ctx, js, run, cfg, true)
}

// OpenPolicies opens an existing policy store for reading (ErrNoStore if
// no learner has created it).
func OpenPolicies(ctx context.Context, js jetstream.JetStream, run string) (*Policies, error) {
	return openPolicies(ctx, js, run, DefaultPolicyConfig(), false)
}

func openPolicies(ctx context.Context, js jetstream.JetStream, run string, cfg PolicyConfig, create bool) (*Policies, error) {
	if err := checkRun(run); err != nil {
		return nil, err
	}
	objs, got, err := openStore(ctx, js, storeKind{
		bucket: policiesBucket(run), description: "podmedic policy snapshots of run " + run,
		what: "snapshot", spare: 2,
	}, storeConfig(cfg), storeConfig(DefaultPolicyConfig()), create)
	if err != nil {
		return nil, err
	}
	p := &Policies{objs: objs, keep: got.Keep}
	return p, nil
}

// MaxSnapshotBytes is the largest snapshot Put accepts (0: no bound).
func (p *Policies) MaxSnapshotBytes() int64 { return p.objs.maxObject }

func policyName(version uint64) string { return fmt.Sprintf("v%020d", version) }

// Put stores a snapshot of info.Version (replacing one of the same
// version), then deletes all but the Keep newest versions and the best by
// score. A snapshot over MaxSnapshotBytes is refused with ErrTooLarge.
func (p *Policies) Put(ctx context.Context, info PolicyInfo, data []byte) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	meta := map[string]string{
		metaVersion: strconv.FormatUint(info.Version, 10),
		metaEpoch:   strconv.FormatUint(info.Epoch, 10),
	}
	if !math.IsNaN(info.Score) && !math.IsInf(info.Score, 0) {
		meta[metaScore] = strconv.FormatFloat(info.Score, 'g', -1, 64)
	}
	for k, v := range info.Metrics {
		meta[metaMetric+k] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	if _, err := p.objs.put(ctx, policyName(info.Version), meta, data); err != nil {
		return err
	}
	return p.prune(ctx)
}

// prune deletes what Put no longer keeps.
func (p *Policies) prune(ctx context.Context) error {
	infos, err := p.list(ctx)
	if err != nil {
		return err
	}
	if len(infos) <= p.keep {
		return nil
	}
	for _, in := range infos[:len(infos)-p.keep] {
		if in.Best {
			continue
		}
		if err := p.objs.remove(ctx, policyName(in.Version)); err != nil {
			return fmt.Errorf("jsstore: prune snapshots: %w", err)
		}
	}
	return nil
}

// List returns the stored snapshots, oldest version first, with the best
// by score marked (none without scores).
func (p *Policies) List(ctx context.Context) ([]PolicyInfo, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	return p.list(ctx)
}

func (p *Policies) list(ctx context.Context) ([]PolicyInfo, error) {
	objs, err := p.objs.list(ctx)
	if err != nil {
		return nil, err
	}
	var out []PolicyInfo
	for _, o := range objs {
		if in, ok := policyInfo(o); ok { // skip another tool's objects
			out = append(out, in)
		}
	}
	slices.SortStableFunc(out, func(a, b PolicyInfo) int { return cmp.Compare(a.Version, b.Version) })
	best := -1
	for i := range out {
		if !math.IsNaN(out[i].Score) && (best < 0 || out[i].Score > out[best].Score) {
			best = i
		}
	}
	if best >= 0 {
		out[best].Best = true
	}
	return out, nil
}

// policyInfo reads an object's metadata; ok is false for objects this
// package did not write.
func policyInfo(o *jetstream.ObjectInfo) (PolicyInfo, bool) {
	if !strings.HasPrefix(o.Name, "v") {
		return PolicyInfo{}, false
	}
	v, err := strconv.ParseUint(o.Metadata[metaVersion], 10, 64)
	if err != nil || o.Name != policyName(v) {
		return PolicyInfo{}, false
	}
	in := PolicyInfo{Version: v, Score: math.NaN(), Size: int64(o.Size), Created: o.ModTime, Digest: o.Digest}
	in.Epoch, _ = strconv.ParseUint(o.Metadata[metaEpoch], 10, 64)
	if s, err := strconv.ParseFloat(o.Metadata[metaScore], 64); err == nil {
		in.Score = s
	}
	for k, val := range o.Metadata {
		if name, ok := strings.CutPrefix(k, metaMetric); ok {
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				if in.Metrics == nil {
					in.Metrics = map[string]float64{}
				}
				in.Metrics[name] = f
			}
		}
	}
	return in, true
}

// Get reads the snapshot of version (ErrNotFound if it is not kept),
// verified against its sums.
func (p *Policies) Get(ctx context.Context, version uint64) ([]byte, PolicyInfo, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	data, o, err := p.objs.get(ctx, policyName(version))
	if err != nil {
		return nil, PolicyInfo{}, err
	}
	in, ok := policyInfo(o)
	if !ok {
		return nil, PolicyInfo{}, fmt.Errorf("%w: snapshot %s has no version metadata", ErrCorrupt, o.Name)
	}
	return data, in, nil
}

// Latest reads the newest version (ErrNotFound in an empty store).
func (p *Policies) Latest(ctx context.Context) ([]byte, PolicyInfo, error) {
	return p.pick(ctx, func(infos []PolicyInfo) int { return len(infos) - 1 })
}

// Best reads the best-scored snapshot (ErrNotFound if none has a score).
func (p *Policies) Best(ctx context.Context) ([]byte, PolicyInfo, error) {
	return p.pick(ctx, func(infos []PolicyInfo) int {
		return slices.IndexFunc(infos, func(in PolicyInfo) bool { return in.Best })
	})
}

func (p *Policies) pick(ctx context.Context, which func([]PolicyInfo) int) ([]byte, PolicyInfo, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	// A version pruned between listing and reading: list again.
	for range 3 {
		infos, err := p.list(ctx)
		if err != nil {
			return nil, PolicyInfo{}, err
		}
		i := which(infos)
		if i < 0 {
			return nil, PolicyInfo{}, fmt.Errorf("%w: no snapshot in the store", ErrNotFound)
		}
		data, in, err := p.Get(ctx, infos[i].Version)
		if err == nil {
			in.Best = infos[i].Best
			return data, in, nil
		}
		if !isNotFound(err) {
			return nil, PolicyInfo{}, err
		}
	}
	return nil, PolicyInfo{}, fmt.Errorf("%w: snapshots pruned while reading", ErrNotFound)
}
