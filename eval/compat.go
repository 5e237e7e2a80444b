package eval

import (
	"errors"
	"fmt"
	"strings"

	"podmedic/envsim"
	"podmedic/policy"
)

// ErrIncompatible reports a policy snapshot built for a different
// environment than the one evaluated.
var ErrIncompatible = errors.New("eval: incompatible policy")

// Snapshot metadata keys written by the learner.
const (
	// MetaObsNames holds the comma-joined observation names.
	MetaObsNames = "obs_names"
	// MetaActions holds the comma-joined action names.
	MetaActions = "actions"
)

// CheckSnapshot refuses a snapshot whose network shape, observation
// names or action names differ from spec, naming the first mismatch. A
// snapshot without name metadata is checked on its shape only.
func CheckSnapshot(snap *policy.Snapshot, spec envsim.Spec) error {
	if snap.Arch.ObsSize != spec.Observation.Size {
		return fmt.Errorf("%w: observation size %d, environment has %d", ErrIncompatible, snap.Arch.ObsSize, spec.Observation.Size)
	}
	if snap.Arch.NumActions != spec.Actions.Size {
		return fmt.Errorf("%w: %d actions, environment has %d", ErrIncompatible, snap.Arch.NumActions, spec.Actions.Size)
	}
	if err := checkNames("observation", snap.Meta[MetaObsNames], spec.Observation.Names); err != nil {
		return err
	}
	return checkNames("action", snap.Meta[MetaActions], spec.Actions.Names)
}

func checkNames(what, joined string, want []string) error {
	if joined == "" {
		return nil
	}
	got := strings.Split(joined, ",")
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return fmt.Errorf("%w: %s %d (%q) missing from the snapshot", ErrIncompatible, what, i, want[i])
		case i >= len(want):
			return fmt.Errorf("%w: snapshot has extra %s %d (%q)", ErrIncompatible, what, i, got[i])
		case got[i] != want[i]:
			return fmt.Errorf("%w: %s %d is %q in the snapshot, %q in the environment", ErrIncompatible, what, i, got[i], want[i])
		}
	}
	return nil
}

// CheckSameSpec refuses two snapshots (training runs evaluated together)
// whose observation or action spec differ, naming the first difference:
// "observation size 26 and 52", "action 6 is "rollback" in the first,
// "drain" in the second".
func CheckSameSpec(a, b *policy.Snapshot) error {
	if a.Arch.ObsSize != b.Arch.ObsSize {
		return fmt.Errorf("%w: observation size %d and %d", ErrIncompatible, a.Arch.ObsSize, b.Arch.ObsSize)
	}
	if a.Arch.NumActions != b.Arch.NumActions {
		return fmt.Errorf("%w: %d and %d actions", ErrIncompatible, a.Arch.NumActions, b.Arch.NumActions)
	}
	for _, key := range []struct{ meta, what string }{{MetaObsNames, "observation"}, {MetaActions, "action"}} {
		x, y := a.Meta[key.meta], b.Meta[key.meta]
		if x == "" || y == "" || x == y {
			continue
		}
		xs, ys := strings.Split(x, ","), strings.Split(y, ",")
		for i := range min(len(xs), len(ys)) {
			if xs[i] != ys[i] {
				return fmt.Errorf("%w: %s %d is %q in the first, %q in the second", ErrIncompatible, key.what, i, xs[i], ys[i])
			}
		}
		return fmt.Errorf("%w: %d and %d %s names", ErrIncompatible, len(xs), len(ys), key.what)
	}
	return nil
}
