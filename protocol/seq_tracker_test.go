package protocol

import "testing"

func TestSeqTracker(t *testing.T) {
	type obs struct {
		actor  string
		inc    uint64
		seq    uint64
		want   SeqStatus
		missed uint64
	}
	cases := []struct {
		name  string
		max   int
		steps []obs
	}{
		{"in order", 4, []obs{{"a", 1, 1, SeqOK, 0}, {"a", 1, 2, SeqOK, 0}, {"a", 1, 3, SeqOK, 0}}},
		{"duplicate", 4, []obs{{"a", 1, 1, SeqOK, 0}, {"a", 1, 1, SeqDuplicate, 0}, {"a", 1, 2, SeqOK, 0}}},
		{"out of order", 4, []obs{{"a", 1, 5, SeqOK, 0}, {"a", 1, 3, SeqOutOfOrder, 0}, {"a", 1, 6, SeqOK, 0}}},
		{"gap", 4, []obs{{"a", 1, 1, SeqOK, 0}, {"a", 1, 5, SeqGap, 3}, {"a", 1, 6, SeqOK, 0}}},
		{"restart is a new incarnation", 4, []obs{{"a", 1, 9, SeqOK, 0}, {"a", 2, 1, SeqOK, 0}, {"a", 1, 9, SeqDuplicate, 0}}},
		{"actors are independent", 4, []obs{{"a", 1, 3, SeqOK, 0}, {"b", 1, 1, SeqOK, 0}, {"b", 1, 2, SeqOK, 0}, {"a", 1, 4, SeqOK, 0}}},
		{"least recent evicted", 2, []obs{
			{"a", 1, 3, SeqOK, 0}, {"b", 1, 3, SeqOK, 0},
			{"a", 1, 4, SeqOK, 0}, // a is now the most recent
			{"c", 1, 1, SeqOK, 0}, // evicts b
			{"b", 1, 3, SeqOK, 0}, // b forgotten: accepted as first
			{"a", 1, 4, SeqOK, 0}, // a was evicted by b: accepted as first
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := NewSeqTracker(c.max)
			for i, o := range c.steps {
				got, missed := tr.Observe(o.actor, o.inc, o.seq)
				if got != o.want || missed != o.missed {
					t.Fatalf("step %d %+v: got %s missed %d", i, o, got, missed)
				}
			}
			if tr.Len() > c.max {
				t.Fatalf("tracks %d > max %d", tr.Len(), c.max)
			}
		})
	}
}

func TestSeqStatusReason(t *testing.T) {
	cases := []struct {
		s        SeqStatus
		accepted bool
		reason   Reason
	}{
		{SeqOK, true, ""}, {SeqGap, true, ""},
		{SeqDuplicate, false, ReasonDuplicateSeq}, {SeqOutOfOrder, false, ReasonDuplicateSeq},
	}
	for _, c := range cases {
		t.Run(c.s.String(), func(t *testing.T) {
			if c.s.Accepted() != c.accepted || c.s.Reason() != c.reason {
				t.Fatalf("accepted %v reason %q", c.s.Accepted(), c.s.Reason())
			}
		})
	}
}
