// Package atomicfile writes files so that a reader or a crash sees the
// old content or the new, never a mix: the bytes go to a temporary file in
// the same directory, which is fsynced, renamed over the target and
// followed by an fsync of the directory (so the rename itself survives a
// crash). It is the one place podmedic writes durable files (snapshots,
// checkpoints).
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tempInfix sits between a target's name and the random suffix of its
// temporary file: ".<name>.tmp-<random>".
const tempInfix = ".tmp-"

// IsTemp reports whether a directory entry's name is a temporary file of
// Write (possibly left behind by a crash). Listings skip such names;
// since they start with a dot, so do listings that skip hidden files.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempInfix)
}

// Write replaces path with data atomically. The file is created with mode
// 0600. On error the temporary file is removed and path is untouched (or,
// if only the directory sync failed, already replaced).
func Write(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+tempInfix+"*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("atomicfile: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("atomicfile: %s replaced, but %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
