package protocol

import (
	"container/list"
	"sync"
)

// SeqStatus classifies a rollout sequence number.
type SeqStatus int

// Sequence number classes.
const (
	// SeqOK is the next number (or the first one seen of an incarnation).
	SeqOK SeqStatus = iota
	// SeqGap is accepted but skips numbers: rollouts were lost.
	SeqGap
	// SeqDuplicate repeats the latest number: reject.
	SeqDuplicate
	// SeqOutOfOrder is older than the latest number: reject.
	SeqOutOfOrder
)

// String returns the status name.
func (s SeqStatus) String() string {
	switch s {
	case SeqOK:
		return "ok"
	case SeqGap:
		return "gap"
	case SeqDuplicate:
		return "duplicate"
	case SeqOutOfOrder:
		return "out_of_order"
	}
	return "unknown"
}

// Accepted reports whether a rollout with this status should be used.
func (s SeqStatus) Accepted() bool { return s == SeqOK || s == SeqGap }

// Reason returns ReasonDuplicateSeq for rejected statuses, "" otherwise.
func (s SeqStatus) Reason() Reason {
	if s.Accepted() {
		return ""
	}
	return ReasonDuplicateSeq
}

type seqKey struct {
	actor       string
	incarnation uint64
}

type seqEntry struct {
	key  seqKey
	last uint64
}

// SeqTracker remembers the latest sequence number per actor incarnation and
// classifies new ones. It tracks at most a fixed number of incarnations,
// forgetting the least recently seen. It is safe for concurrent use.
type SeqTracker struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *seqEntry, most recent at the front
	index map[seqKey]*list.Element
}

// NewSeqTracker returns a tracker of at most maxTracked incarnations (< 1
// means 1).
func NewSeqTracker(maxTracked int) *SeqTracker {
	return &SeqTracker{max: max(maxTracked, 1), order: list.New(), index: make(map[seqKey]*list.Element)}
}

// Observe classifies seq for the actor incarnation and, when accepted,
// records it. missed is the number of skipped sequence numbers for SeqGap.
func (t *SeqTracker) Observe(actorID string, incarnation, seq uint64) (status SeqStatus, missed uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := seqKey{actorID, incarnation}
	el, ok := t.index[k]
	if !ok {
		if t.order.Len() >= t.max {
			oldest := t.order.Back()
			delete(t.index, oldest.Value.(*seqEntry).key)
			t.order.Remove(oldest)
		}
		t.index[k] = t.order.PushFront(&seqEntry{key: k, last: seq})
		return SeqOK, 0
	}
	t.order.MoveToFront(el)
	e := el.Value.(*seqEntry)
	switch {
	case seq == e.last:
		return SeqDuplicate, 0
	case seq < e.last:
		return SeqOutOfOrder, 0
	case seq == e.last+1:
		e.last = seq
		return SeqOK, 0
	}
	missed = seq - e.last - 1
	e.last = seq
	return SeqGap, missed
}

// Len returns the number of tracked incarnations.
func (t *SeqTracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.order.Len()
}
