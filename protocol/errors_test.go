package protocol

import (
	"errors"
	"fmt"
	"testing"
)

func errorsAs[T any](err error, target *T) bool { return errors.As(err, target) }

func TestReasonOf(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want Reason
	}{
		{"nil", nil, ""},
		{"decode error", fail(ReasonShape, "obs", "x"), ReasonShape},
		{"wrapped decode error", fmt.Errorf("decode rollout: %w", fail(ReasonChecksum, "", "x")), ReasonChecksum},
		{"sentinel", fmt.Errorf("learner: %w", ErrStaleVersion), ReasonStaleVersion},
		{"size error", &SizeError{What: "rollout", Size: 2, Limit: 1}, ReasonTooLarge},
		{"other error", errors.New("boom"), ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ReasonOf(c.err); got != c.want {
				t.Fatalf("ReasonOf = %q, want %q", got, c.want)
			}
		})
	}
}

func TestReasonsHaveSentinels(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if seen[r] {
			t.Fatalf("duplicate reason %s", r)
		}
		seen[r] = true
		s := r.Sentinel()
		if s == nil {
			t.Fatalf("reason %s has no sentinel", r)
		}
		err := &DecodeError{Reason: r, Field: "f", Err: errors.New("detail")}
		if !errors.Is(err, s) {
			t.Fatalf("DecodeError with reason %s does not match its sentinel", r)
		}
		if errors.Is(err, ErrMalformed) != (r == ReasonMalformed) {
			t.Fatalf("reason %s matches ErrMalformed", r)
		}
	}
	if Reason("nope").Sentinel() != nil {
		t.Fatal("unknown reason has a sentinel")
	}
}
