package learner

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestActorTrackerJoinsAndReaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr := newActorTracker(10 * time.Second)
	if !tr.touch("a", 1, t0) || tr.touch("a", 1, t0.Add(time.Second)) {
		t.Fatal("first sign of life must join, the next must not")
	}
	if !tr.touch("a", 2, t0.Add(2*time.Second)) {
		t.Fatal("a new incarnation (restarted process) must count as joining")
	}
	tr.touch("b", 1, t0.Add(5*time.Second))
	if lost := tr.reap(t0.Add(12 * time.Second)); len(lost) != 0 {
		t.Fatalf("reaped %v within the timeout", lost)
	}
	if lost := tr.reap(t0.Add(12*time.Second + time.Nanosecond)); !slices.Equal(lost, []string{"a"}) {
		t.Fatalf("reaped %v, want [a] (silent for just over 10 s)", lost)
	}
	if !slices.Equal(tr.live(), []string{"b"}) || tr.count() != 1 || tr.isLive("a") {
		t.Fatalf("live %v after reaping a", tr.live())
	}
}

func TestRateLoggerLogsOncePerInterval(t *testing.T) {
	now := time.Unix(0, 0)
	r := newRateLogger(hclog.NewNullLogger(), 10*time.Second, func() time.Time { return now })
	err := errors.New("bad")
	var logged []bool
	for _, step := range []time.Duration{0, time.Second, 8 * time.Second, time.Second} {
		now = now.Add(step)
		logged = append(logged, r.warn("malformed", err))
	}
	if !slices.Equal(logged, []bool{true, false, false, true}) {
		t.Fatalf("lines written %v, want the first and the one 10 s later", logged)
	}
	if !r.warn("schema_version", err) {
		t.Fatal("another reason shares the interval of the first")
	}
}
