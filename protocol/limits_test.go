package protocol

import (
	"strings"
	"testing"
)

func TestLimitsValidate(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatalf("DefaultLimits invalid: %v", err)
	}
	if err := widestLimits().Validate(); err != nil {
		t.Fatalf("widestLimits invalid: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(l *Limits)
		field string
	}{
		{"payload", func(l *Limits) { l.MaxPayload = 10 }, "MaxPayload"},
		{"envs", func(l *Limits) { l.MaxEnvs = 0 }, "MaxEnvs"},
		{"actions", func(l *Limits) { l.MaxActions = 1 << 17 }, "MaxActions"},
		{"params", func(l *Limits) { l.MaxParams = 0 }, "MaxParams"},
		{"strings", func(l *Limits) { l.MaxStringLen = 1 }, "MaxStringLen"},
		{"reward", func(l *Limits) { l.MaxAbsReward = 0 }, "MaxAbsReward"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := DefaultLimits()
			c.edit(&l)
			err := l.Validate()
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("err = %v, want one naming %s", err, c.field)
			}
		})
	}
}
