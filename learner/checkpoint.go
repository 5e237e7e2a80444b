package learner

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"podmedic/policy"
)

// Checkpoint errors, checked with errors.Is.
var (
	// ErrCorrupt: truncated file, checksum mismatch or undecodable body.
	ErrCorrupt = errors.New("learner: corrupt checkpoint")
	// ErrForeign: the file is not a podmedic checkpoint (bad magic).
	ErrForeign = errors.New("learner: not a podmedic checkpoint")
	// ErrVersion: a checkpoint format this build does not read.
	ErrVersion = errors.New("learner: unsupported checkpoint format version")
	// ErrNoCheckpoint: no valid checkpoint in a directory.
	ErrNoCheckpoint = errors.New("learner: no checkpoint found")
)

// CheckpointFormatVersion is the on-disk format written by SaveCheckpoint.
const CheckpointFormatVersion = 1

// File layout: magic (8 bytes) | format version (uint32 LE) | body length
// (uint64 LE) | msgpack body | CRC-32C (Castagnoli) of everything before
// it (uint32 LE).
const (
	ckptMagic   = "PODMDCKP"
	ckptHeader  = 8 + 4 + 8
	ckptMaxBody = 1 << 30
	// CheckpointExt is the extension of checkpoint files.
	CheckpointExt = ".ckpt"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checkpoint is everything needed to resume training exactly.
type Checkpoint struct {
	// Arch and Params describe the network.
	Arch   policy.Arch `msgpack:"arch"`
	Params []float64   `msgpack:"params"`
	// Adam is the optimiser state.
	Adam Adam `msgpack:"adam"`
	// Normalizer holds the observation statistics.
	Normalizer policy.NormalizerState `msgpack:"normalizer"`
	// Version is the policy version; Updates the updates attempted.
	Version uint64 `msgpack:"version"`
	Updates int64  `msgpack:"updates"`
	// TotalUpdates is the annealing horizon.
	TotalUpdates int `msgpack:"total_updates"`
	// ShuffleSeed seeds the minibatch shuffling.
	ShuffleSeed uint64 `msgpack:"shuffle_seed"`
	// EnvSteps counts env steps consumed so far.
	EnvSteps int64 `msgpack:"env_steps"`
	// PPO is the configuration in use.
	PPO PPOConfig `msgpack:"ppo"`
	// Meta holds free-form metadata (run name, ...).
	Meta map[string]string `msgpack:"meta"`
}

// Validate checks internal consistency.
func (c *Checkpoint) Validate() error {
	if err := c.Arch.Validate(); err != nil {
		return err
	}
	n := c.Arch.NumParams()
	if len(c.Params) != n || len(c.Adam.M) != n || len(c.Adam.V) != n {
		return fmt.Errorf("params/adam lengths %d/%d/%d, arch needs %d", len(c.Params), len(c.Adam.M), len(c.Adam.V), n)
	}
	for i := range c.Params {
		if !finite(c.Params[i]) || !finite(c.Adam.M[i]) || !finite(c.Adam.V[i]) || c.Adam.V[i] < 0 {
			return fmt.Errorf("parameter or optimiser state %d not finite", i)
		}
	}
	if err := c.Normalizer.Validate(c.Arch.ObsSize); err != nil {
		return err
	}
	if c.TotalUpdates < 1 || c.Updates < 0 || c.Adam.T < 0 {
		return fmt.Errorf("counters: total updates %d, updates %d, adam steps %d", c.TotalUpdates, c.Updates, c.Adam.T)
	}
	return c.PPO.Validate()
}

// Checkpoint captures the learner's state with the given normaliser and
// env-step count. The returned value shares nothing with p.
func (p *PPO) Checkpoint(norm *policy.Normalizer, envSteps int64, meta map[string]string) *Checkpoint {
	a := *p.adam
	a.M = append([]float64(nil), a.M...)
	a.V = append([]float64(nil), a.V...)
	return &Checkpoint{Arch: p.net.Arch(), Params: append([]float64(nil), p.net.Params()...), Adam: a,
		Normalizer: norm.Snapshot(), Version: p.version, Updates: p.updates, TotalUpdates: p.totalUpdates,
		ShuffleSeed: p.seed, EnvSteps: envSteps, PPO: p.cfg, Meta: meta}
}

// RestorePPO rebuilds the network, learner and normaliser from a
// checkpoint; the next Update continues exactly where the saved run would
// have.
func RestorePPO(ck *Checkpoint) (*PPO, *policy.Normalizer, error) {
	if err := ck.Validate(); err != nil {
		return nil, nil, fmt.Errorf("restore ppo: %w: %w", ErrCorrupt, err)
	}
	net, err := policy.NewFromParams(ck.Arch, ck.Params)
	if err != nil {
		return nil, nil, fmt.Errorf("restore ppo: %w", err)
	}
	norm, err := policy.NormalizerFromState(ck.Normalizer)
	if err != nil {
		return nil, nil, fmt.Errorf("restore ppo: %w", err)
	}
	p, err := NewPPO(net, ck.PPO, ck.TotalUpdates, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, nil, fmt.Errorf("restore ppo: %w", err)
	}
	p.seed, p.version, p.updates = ck.ShuffleSeed, ck.Version, ck.Updates
	copy(p.adam.M, ck.Adam.M)
	copy(p.adam.V, ck.Adam.V)
	p.adam.T = ck.Adam.T
	return p, norm, nil
}

// CheckpointName returns the conventional file name for a version; names
// sort in version order.
func CheckpointName(version uint64) string {
	return fmt.Sprintf("ckpt-%020d%s", version, CheckpointExt)
}

// EncodeCheckpoint returns the file image of ck.
func EncodeCheckpoint(ck *Checkpoint) ([]byte, error) {
	body, err := msgpack.Marshal(ck)
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint: %w", err)
	}
	buf := make([]byte, ckptHeader, ckptHeader+len(body)+4)
	copy(buf, ckptMagic)
	binary.LittleEndian.PutUint32(buf[8:], CheckpointFormatVersion)
	binary.LittleEndian.PutUint64(buf[12:], uint64(len(body)))
	buf = append(buf, body...)
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli)), nil
}

// DecodeCheckpoint parses and validates a file image.
func DecodeCheckpoint(data []byte) (*Checkpoint, error) {
	if len(data) < len(ckptMagic) {
		if strings.HasPrefix(ckptMagic, string(data)) {
			return nil, fmt.Errorf("%w: %d bytes, shorter than the header", ErrCorrupt, len(data))
		}
		return nil, ErrForeign
	}
	if string(data[:8]) != ckptMagic {
		return nil, fmt.Errorf("%w: magic %q", ErrForeign, data[:8])
	}
	if len(data) < ckptHeader {
		return nil, fmt.Errorf("%w: truncated header (%d bytes)", ErrCorrupt, len(data))
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != CheckpointFormatVersion {
		return nil, fmt.Errorf("%w: file has %d, this build reads %d", ErrVersion, v, CheckpointFormatVersion)
	}
	n := binary.LittleEndian.Uint64(data[12:])
	if n > ckptMaxBody || uint64(len(data)) != ckptHeader+n+4 {
		return nil, fmt.Errorf("%w: %d bytes, header promises %d", ErrCorrupt, len(data), ckptHeader+n+4)
	}
	end := ckptHeader + int(n)
	if want, got := binary.LittleEndian.Uint32(data[end:]), crc32.Checksum(data[:end], castagnoli); want != got {
		return nil, fmt.Errorf("%w: checksum %08x, file says %08x", ErrCorrupt, got, want)
	}
	ck := new(Checkpoint)
	dec := msgpack.NewDecoder(bytes.NewReader(data[ckptHeader:end]))
	dec.DisallowUnknownFields(true)
	if err := dec.Decode(ck); err != nil {
		return nil, fmt.Errorf("%w: decode body: %w", ErrCorrupt, err)
	}
	if err := ck.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return ck, nil
}

// SaveCheckpoint writes ck to path atomically: a temp file in the same
// directory, fsync, rename over path, fsync of the directory. A crash
// leaves either the old file or the new one, plus at most a hidden temp
// file that LatestCheckpoint ignores.
func SaveCheckpoint(path string, ck *Checkpoint) (err error) {
	data, err := EncodeCheckpoint(ck)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save checkpoint: sync dir: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("save checkpoint: sync dir: %w", err)
	}
	return nil
}

// LoadCheckpoint reads and validates the checkpoint at path. Errors wrap
// ErrForeign, ErrVersion or ErrCorrupt (or the file system's error).
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, ckptHeader+ckptMaxBody+5))
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	ck, err := DecodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	return ck, nil
}

// LatestCheckpoint returns the path and contents of the newest valid
// checkpoint in dir: files named *.ckpt, tried in descending name order
// (see CheckpointName); hidden temp files are ignored and invalid files
// skipped. It returns ErrNoCheckpoint if there is none.
func LatestCheckpoint(dir string) (string, *Checkpoint, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, fmt.Errorf("latest checkpoint: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, CheckpointExt) {
			names = append(names, n)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for _, n := range names {
		p := filepath.Join(dir, n)
		if ck, err := LoadCheckpoint(p); err == nil {
			return p, ck, nil
		}
	}
	return "", nil, fmt.Errorf("latest checkpoint in %s: %w", dir, ErrNoCheckpoint)
}
