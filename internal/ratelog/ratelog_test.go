package ratelog

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestOneLinePerInterval(t *testing.T) {
	now := time.Unix(0, 0)
	var out bytes.Buffer
	l := New(hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Info}), 10*time.Second, 1, func() time.Time { return now })
	var logged []bool
	for _, step := range []time.Duration{0, time.Second, 8 * time.Second, time.Second} {
		now = now.Add(step)
		logged = append(logged, l.Warn("malformed", "message rejected"))
	}
	if !slices.Equal(logged, []bool{true, false, false, true}) {
		t.Fatalf("lines written %v, want the first and the one 10 s later", logged)
	}
	if !l.Warn("schema_version", "message rejected") {
		t.Fatal("another key shares the interval of the first")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "suppressed=2") || strings.Contains(lines[0], "suppressed") {
		t.Fatalf("log:\n%s\nwant 3 lines, the second saying suppressed=2", out.String())
	}
}

func TestBurstThenQuiet(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(nil, time.Second, 5, func() time.Time { return now })
	written := 0
	for i := 0; i < 10_000; i++ {
		now = now.Add(time.Millisecond) // 10 s of a 1 kHz flood
		if l.Info("joined", "actor joined") {
			written++
		}
	}
	// 5 lines per 1 s window over 10 windows.
	if written != 50 {
		t.Fatalf("%d lines for 10,000 events over 10 s at burst 5 per second, want 50", written)
	}
}

func TestKeysBounded(t *testing.T) {
	l := New(nil, time.Hour, 1, nil)
	for i := 0; i < 3*maxKeys; i++ {
		l.Allow(strings.Repeat("k", i+1))
	}
	if n := len(l.keys); n > maxKeys+1 {
		t.Fatalf("%d keys tracked, want at most %d", n, maxKeys+1)
	}
}
