package learner

import (
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// rateLogger logs at most one warning per key per interval, with the
// number of occurrences since the last line, so that a flood of bad
// messages cannot flood the log. Safe for concurrent use.
type rateLogger struct {
	log      hclog.Logger
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	last map[string]time.Time
	seen map[string]int
}

func newRateLogger(log hclog.Logger, interval time.Duration, now func() time.Time) *rateLogger {
	return &rateLogger{log: log, interval: interval, now: now, last: map[string]time.Time{}, seen: map[string]int{}}
}

// warn records one occurrence of key and reports whether a line was written.
func (r *rateLogger) warn(key string, err error) bool {
	r.mu.Lock()
	r.seen[key]++
	now := r.now()
	if t, ok := r.last[key]; ok && now.Sub(t) < r.interval {
		r.mu.Unlock()
		return false
	}
	n := r.seen[key]
	r.seen[key] = 0
	r.last[key] = now
	r.mu.Unlock()
	r.log.Warn("message rejected", "reason", key, "count", n, "error", err)
	return true
}
