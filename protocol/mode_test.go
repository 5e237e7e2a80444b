package protocol

import "testing"

func TestModeValidate(t *testing.T) {
	for m, ok := range map[Mode]bool{ModeSync: true, ModeAsync: true, "": false, "Sync": false, "batch": false} {
		if err := m.Validate(); (err == nil) != ok {
			t.Errorf("Mode(%q).Validate() = %v, want ok=%v", m, err, ok)
		}
	}
}
