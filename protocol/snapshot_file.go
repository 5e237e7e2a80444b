package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"podmedic/internal/atomicfile"
)

// SnapshotMagic starts every policy snapshot; the msgpack Weights follows.
// A snapshot is one format everywhere: the learner's /v1/policy body, its
// reply on policy.latest, the policy.snapshot file it writes at every
// checkpoint, and what `podmedic evaluate --policy FILE` reads are the
// same bytes (EncodeSnapshot, ParseSnapshot).
const SnapshotMagic = "PODMEDIC-SNAPSHOT\n"

// Snapshot file errors.
var (
	// ErrNotSnapshot reports a file that is not a podmedic snapshot.
	ErrNotSnapshot = errors.New("protocol: not a podmedic snapshot file")
	// ErrCorruptSnapshot reports a snapshot file that fails to decode or
	// verify; the wrapped chain also holds the *DecodeError.
	ErrCorruptSnapshot = errors.New("protocol: corrupt snapshot file")
)

// SnapshotLimits are the limits ReadSnapshotFile applies: DefaultLimits
// with MaxPayload raised to fit MaxParams float64 parameters.
func SnapshotLimits() Limits {
	l := DefaultLimits()
	l.MaxPayload = 8*l.MaxParams + 1<<20
	return l
}

// WriteSnapshotFile writes w to path atomically: it writes a temporary file
// in the same directory, fsyncs it, renames it over path and fsyncs the
// directory, so readers see the old file or the new one, never a mix.
func WriteSnapshotFile(path string, w *Weights) error {
	b, err := EncodeSnapshot(w)
	if err != nil {
		return fmt.Errorf("write snapshot %s: %w", path, err)
	}
	if err := atomicfile.Write(path, b); err != nil {
		return fmt.Errorf("write snapshot %s: %w", path, err)
	}
	return nil
}

// EncodeSnapshot validates w and returns its snapshot bytes: SnapshotMagic
// followed by the encoded Weights (AppendWeights). The Weights encoding
// alone (what actors receive on weights and weights.latest) is the tail
// after len(SnapshotMagic) bytes.
func EncodeSnapshot(w *Weights) ([]byte, error) {
	est := len(SnapshotMagic) + 512 + 8*(len(w.Params)+2*len(w.Norm.Mean)) + 256*len(w.Meta)
	b := append(make([]byte, 0, est), SnapshotMagic...)
	return AppendWeights(b, w)
}

// ReadSnapshotFile reads a snapshot written by WriteSnapshotFile. A file
// without the magic prefix is refused with ErrNotSnapshot; one that fails
// to decode, verify its checksum or validate (SnapshotLimits) with
// ErrCorruptSnapshot wrapping the *DecodeError.
func ReadSnapshotFile(path string) (*Weights, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	defer f.Close()
	lim := SnapshotLimits()
	data, err := io.ReadAll(io.LimitReader(f, int64(len(SnapshotMagic)+lim.MaxPayload)+1))
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", path, err)
	}
	w, err := ParseSnapshot(data)
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", path, err)
	}
	return w, nil
}

// ParseSnapshot decodes the bytes of a snapshot file (magic + Weights).
func ParseSnapshot(data []byte) (*Weights, error) {
	body, ok := bytes.CutPrefix(data, []byte(SnapshotMagic))
	if !ok {
		return nil, ErrNotSnapshot
	}
	w, err := DecodeWeights(body, SnapshotLimits())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptSnapshot, err)
	}
	return w, nil
}
