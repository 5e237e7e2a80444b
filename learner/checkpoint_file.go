package learner

// The checkpoint file format, and the listing of a checkpoint directory.
// What the service writes and when is in checkpoint.go.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"podmedic/internal/atomicfile"
	"podmedic/learner/ppo"
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
	// ErrNoValidCheckpoint: a store holds checkpoints but none is valid;
	// NewService refuses to start (a *NoValidCheckpointError names them)
	// unless ServiceConfig.Fresh is set.
	ErrNoValidCheckpoint = errors.New("learner: no valid checkpoint")
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

// Checkpoint is everything needed to resume training exactly: the PPO
// state, the observation statistics and the env-step count. Its msgpack
// field names are the file format (CheckpointFormatVersion).
type Checkpoint struct {
	// Arch and Params describe the network.
	Arch   policy.Arch `msgpack:"arch"`
	Params []float64   `msgpack:"params"`
	// Adam is the optimiser state.
	Adam ppo.Adam `msgpack:"adam"`
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
	PPO ppo.Config `msgpack:"ppo"`
	// Meta holds free-form metadata (run name, ...).
	Meta map[string]string `msgpack:"meta"`
}

// NewCheckpoint captures a PPO state (ppo.Updater.State, already a copy),
// the normaliser's statistics and the env-step count.
func NewCheckpoint(st ppo.State, norm *policy.Normalizer, envSteps int64, meta map[string]string) *Checkpoint {
	return &Checkpoint{Arch: st.Arch, Params: st.Params, Adam: st.Adam, Normalizer: norm.Snapshot(),
		Version: st.Version, Updates: st.Updates, TotalUpdates: st.TotalUpdates, ShuffleSeed: st.ShuffleSeed,
		EnvSteps: envSteps, PPO: st.Config, Meta: meta}
}

// State returns the PPO part of the checkpoint (sharing its slices).
func (c *Checkpoint) State() ppo.State {
	return ppo.State{Arch: c.Arch, Params: c.Params, Adam: c.Adam, Version: c.Version, Updates: c.Updates,
		TotalUpdates: c.TotalUpdates, ShuffleSeed: c.ShuffleSeed, Config: c.PPO}
}

// Validate checks internal consistency.
func (c *Checkpoint) Validate() error {
	st := c.State()
	if err := st.Validate(); err != nil {
		return err
	}
	return c.Normalizer.Validate(c.Arch.ObsSize)
}

// Restore rebuilds the PPO updater (and its network) and the normaliser;
// the next update continues exactly where the saved run would have.
func (c *Checkpoint) Restore() (*ppo.Updater, *policy.Normalizer, error) {
	if err := c.Validate(); err != nil {
		return nil, nil, fmt.Errorf("restore checkpoint: %w: %w", ErrCorrupt, err)
	}
	upd, err := ppo.Restore(c.State())
	if err != nil {
		return nil, nil, fmt.Errorf("restore checkpoint: %w", err)
	}
	norm, err := policy.NormalizerFromState(c.Normalizer)
	if err != nil {
		return nil, nil, fmt.Errorf("restore checkpoint: %w", err)
	}
	return upd, norm, nil
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

// SaveCheckpoint writes ck to path atomically (internal/atomicfile). A
// crash leaves either the old file or the new one, plus at most a hidden
// temp file that the listing ignores.
func SaveCheckpoint(path string, ck *Checkpoint) error {
	data, err := EncodeCheckpoint(ck)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
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

// LatestCheckpoint returns the location and contents of the newest valid
// checkpoint in directory dir, trying files newest first; temp files are
// ignored and invalid files skipped (it reads only: the service is what
// sets broken files aside, see checkpoint.go). It returns ErrNoCheckpoint
// if there is none.
func LatestCheckpoint(dir string) (string, *Checkpoint, error) {
	store := DirStore{Dir: dir}
	names, err := store.List()
	if err != nil {
		return "", nil, fmt.Errorf("latest checkpoint: %w", err)
	}
	for _, n := range slices.Backward(names) {
		p := store.Location(n)
		if ck, err := LoadCheckpoint(p); err == nil {
			return p, ck, nil
		}
	}
	return "", nil, fmt.Errorf("latest checkpoint in %s: %w", dir, ErrNoCheckpoint)
}
