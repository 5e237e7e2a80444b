package learner

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"podmedic/internal/atomicfile"
)

// CheckpointStore holds a learner's checkpoints and its latest policy
// snapshot. It only moves bytes: what is valid, what to keep and what to
// set aside is decided by the service (checkpoint.go), the same for every
// store. DirStore keeps them as files in a directory; a store in a
// JetStream object-store bucket (checkpoints as objects named by
// CheckpointName, the snapshot as one more object) implements the same
// methods and is passed as ServiceConfig.Store.
type CheckpointStore interface {
	// List returns the names of the checkpoints held (CheckpointName
	// form), oldest first (names sort in version order).
	List() ([]string, error)
	// Read returns the bytes of checkpoint name (at most
	// MaxCheckpointBytes; longer content is an error).
	Read(name string) ([]byte, error)
	// Write stores data as checkpoint name atomically: whatever fails,
	// the store then holds the old content or the new, never a mix, and
	// the other checkpoints are untouched.
	Write(name string, data []byte) error
	// Remove deletes checkpoint name.
	Remove(name string) error
	// SetAside takes checkpoint name out of List's view without
	// destroying it, under name+suffix (".corrupt", ".superseded"), and
	// returns where it now is.
	SetAside(name, suffix string) (string, error)
	// WriteSnapshot atomically replaces the latest policy snapshot with
	// data (protocol.EncodeSnapshot's bytes); a store without a snapshot
	// location does nothing.
	WriteSnapshot(data []byte) error
	// Location names checkpoint name for logs and errors (a path, a
	// bucket/object name); Location("") names the store itself.
	Location(name string) string
}

// MaxCheckpointBytes is the largest checkpoint a store reads.
const MaxCheckpointBytes = ckptHeader + ckptMaxBody + 4

// DirStore is a CheckpointStore on a local directory. Files are written
// with internal/atomicfile (temp file, fsync, rename, fsync of the
// directory); hidden temp files a crash left behind are never listed.
type DirStore struct {
	// Dir holds the *.ckpt files.
	Dir string
	// SnapshotPath is the policy snapshot file; "" writes none.
	SnapshotPath string
}

// List implements CheckpointStore: the regular, non-hidden *.ckpt files.
func (d DirStore) List() ([]string, error) {
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, CheckpointExt) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Read implements CheckpointStore.
func (d DirStore) Read(name string) ([]byte, error) {
	f, err := os.Open(d.Location(name))
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCheckpointBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", d.Location(name), err)
	}
	if len(data) > MaxCheckpointBytes {
		return nil, fmt.Errorf("read checkpoint %s: %w: over %d bytes", d.Location(name), ErrCorrupt, MaxCheckpointBytes)
	}
	return data, nil
}

// Write implements CheckpointStore.
func (d DirStore) Write(name string, data []byte) error {
	if err := atomicfile.Write(d.Location(name), data); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// Remove implements CheckpointStore.
func (d DirStore) Remove(name string) error {
	if err := os.Remove(d.Location(name)); err != nil {
		return fmt.Errorf("remove checkpoint: %w", err)
	}
	return nil
}

// SetAside implements CheckpointStore: it renames the file to
// name+suffix in the same directory (an existing file of that name, set
// aside before, is replaced).
func (d DirStore) SetAside(name, suffix string) (string, error) {
	to := d.Location(name + suffix)
	if err := os.Rename(d.Location(name), to); err != nil {
		return "", fmt.Errorf("set checkpoint aside: %w", err)
	}
	return to, nil
}

// WriteSnapshot implements CheckpointStore.
func (d DirStore) WriteSnapshot(data []byte) error {
	if d.SnapshotPath == "" {
		return nil
	}
	if err := atomicfile.Write(d.SnapshotPath, data); err != nil {
		return fmt.Errorf("write policy snapshot: %w", err)
	}
	return nil
}

// Location implements CheckpointStore.
func (d DirStore) Location(name string) string {
	if name == "" {
		return d.Dir
	}
	return filepath.Join(d.Dir, name)
}
