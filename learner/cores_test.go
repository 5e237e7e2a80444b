package learner

import (
	"testing"
	"time"
)

// TestCoreChooserFollowsTheFasterWay: it measures both ways first, then
// runs the faster one, probes the other one every probeEvery updates and
// switches when the measurements change sides.
func TestCoreChooserFollowsTheFasterWay(t *testing.T) {
	var c coreChooser
	speed := [2]time.Duration{aloneMode: 10 * time.Millisecond, poolMode: 6 * time.Millisecond}
	counts := [2]int{}
	run := func(updates int) {
		for range updates {
			m := c.pick()
			counts[m]++
			c.observe(m, speed[m], 1000)
		}
	}
	if m := c.pick(); m != poolMode {
		t.Fatalf("first update on mode %d, want the pool", m)
	}
	c.observe(poolMode, speed[poolMode], 1000)
	if m := c.pick(); m != aloneMode {
		t.Fatalf("second update on mode %d, want alone (not measured yet)", m)
	}
	c.observe(aloneMode, speed[aloneMode], 1000)
	run(160)
	if counts[poolMode] < 140 || counts[aloneMode] < 5 {
		t.Fatalf("pool faster: %d updates on the pool, %d alone", counts[poolMode], counts[aloneMode])
	}
	// The other cores get busy: the pool becomes slower than one core.
	speed[poolMode] = 20 * time.Millisecond
	counts = [2]int{}
	run(160)
	if counts[aloneMode] < 130 {
		t.Fatalf("pool slower: %d updates alone, %d on the pool", counts[aloneMode], counts[poolMode])
	}
	c.observe(poolMode, 0, 1000) // ignored
	c.observe(poolMode, time.Second, 0)
	if c.cost[poolMode] <= 0 {
		t.Fatal("a zero measurement reset the average")
	}
}
