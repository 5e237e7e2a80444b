package protocol

import "testing"

func TestModeValidate(t *testing.T) {
	for m, ok := range map[Mode]bool{ModeSync: true, ModePipelined: true, ModeAsync: true, "": false, "lag1": false, "Sync": false, "batch": false} {
		if err := m.Validate(); (err == nil) != ok {
			t.Errorf("Mode(%q).Validate() = %v, want ok=%v", m, err, ok)
		}
	}
}

func TestModeLockstep(t *testing.T) {
	for m, want := range map[Mode]bool{ModeSync: true, ModePipelined: true, ModeAsync: false} {
		if got := m.Lockstep(); got != want {
			t.Errorf("Mode(%q).Lockstep() = %v, want %v", m, got, want)
		}
	}
}
