// Package ratelog writes log lines for events that can arrive in floods
// (rejected messages, actors joining and leaving, failed checkpoints)
// without letting a flood flood the log: per key, at most Burst lines per
// interval, then nothing until the interval has passed; the next line says
// how many events were suppressed since the previous one. Counters in
// /metrics, not log lines, are the record of every event.
//
// It is shared by the learner and the actor; it never writes anywhere but
// the hclog.Logger it is given.
package ratelog

import (
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// maxKeys bounds the keys tracked; keys beyond it share one ("other"), so
// that keys derived from input cannot grow memory.
const maxKeys = 1024

// Logger rate-limits lines by key. Safe for concurrent use.
type Logger struct {
	log      hclog.Logger
	interval time.Duration
	burst    int
	now      func() time.Time

	mu   sync.Mutex
	keys map[string]*state
}

type state struct {
	windowStart time.Time
	written     int // lines written in the current window
	suppressed  int // events not written since the last line
}

// New returns a Logger writing at most burst (>= 1) lines per key per
// interval to log; now is the clock (time.Now outside tests).
func New(log hclog.Logger, interval time.Duration, burst int, now func() time.Time) *Logger {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if now == nil {
		now = time.Now
	}
	return &Logger{log: log, interval: interval, burst: max(burst, 1), now: now, keys: map[string]*state{}}
}

// Allow records one event of key. It reports whether a line may be written
// for it and, if so, how many events of key were suppressed since the last
// line.
func (l *Logger) Allow(key string) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, found := l.keys[key]
	if !found {
		if len(l.keys) >= maxKeys {
			key = "other"
			st, found = l.keys[key]
		}
		if !found {
			st = &state{windowStart: l.now()}
			l.keys[key] = st
		}
	}
	now := l.now()
	if now.Sub(st.windowStart) >= l.interval {
		st.windowStart, st.written = now, 0
	}
	if st.written >= l.burst {
		st.suppressed++
		return false, 0
	}
	st.written++
	suppressed, st.suppressed = st.suppressed, 0
	return true, suppressed
}

// Warn writes msg at warning level unless key is over its rate; args are
// hclog key-value pairs, to which "suppressed" is added when events were
// left out since the previous line. It reports whether a line was written.
func (l *Logger) Warn(key, msg string, args ...any) bool {
	return l.write(hclog.Warn, key, msg, args)
}

// Info is Warn at info level.
func (l *Logger) Info(key, msg string, args ...any) bool {
	return l.write(hclog.Info, key, msg, args)
}

// Error is Warn at error level.
func (l *Logger) Error(key, msg string, args ...any) bool {
	return l.write(hclog.Error, key, msg, args)
}

func (l *Logger) write(level hclog.Level, key, msg string, args []any) bool {
	ok, n := l.Allow(key)
	if !ok {
		return false
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.log.Log(level, msg, args...)
	return true
}
