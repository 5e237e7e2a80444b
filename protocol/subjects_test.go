package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestNewSubjects(t *testing.T) {
	s, err := NewSubjects("exp_1-a")
	if err != nil {
		t.Fatal(err)
	}
	want := Subjects{
		Prefix: "podmedic.exp_1-a", Rollouts: "podmedic.exp_1-a.rollouts", Weights: "podmedic.exp_1-a.weights",
		WeightsLatest: "podmedic.exp_1-a.weights.latest", PolicyLatest: "podmedic.exp_1-a.policy.latest",
		Heartbeat: "podmedic.exp_1-a.actors.heartbeat", Hello: "podmedic.exp_1-a.actors.hello",
		Goodbye: "podmedic.exp_1-a.actors.goodbye",
	}
	if s != want {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	bad := []struct{ name, run string }{
		{"empty", ""},
		{"dot", "a.b"},
		{"star wildcard", "a*"},
		{"gt wildcard", ">"},
		{"space", "a b"},
		{"too long", strings.Repeat("r", 65)},
		{"unicode", "rün"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewSubjects(c.run); !errors.Is(err, ErrBadRunName) {
				t.Fatalf("NewSubjects(%q) err = %v, want ErrBadRunName", c.run, err)
			}
		})
	}
	if _, err := NewSubjects(strings.Repeat("r", 64)); err != nil {
		t.Fatalf("64-byte run name refused: %v", err)
	}
}
