package learner

import "time"

// coreChooser decides, update by update, whether the PPO update runs on
// the worker pool (every core) or on the loop goroutine alone. Results are
// the same either way (ppo.Executor); only speed differs, and on a machine
// whose other cores are busy, or shared with other virtual machines, the
// pool's phases wait for a slowed helper and the update takes longer than
// on one core. So the chooser keeps, for each way, a moving average of the
// time per sample-epoch, runs the faster, and runs the other one every
// probeEvery updates to notice when that changes. Pure bookkeeping: the
// caller measures.
type coreChooser struct {
	cost  [2]float64 // seconds per sample-epoch, alone and on the pool; 0 = not measured
	count int64      // updates chosen so far
}

const (
	aloneMode = 0
	poolMode  = 1
	// probeEvery: one update in this many runs the way that is not
	// currently the faster.
	probeEvery = 16
	// costWeight is the weight of the newest measurement in the averages.
	costWeight = 0.3
)

// pick returns the mode of the next update: the pool until both ways are
// measured (starting with the pool), then the cheaper one, except every
// probeEvery-th update.
func (c *coreChooser) pick() int {
	c.count++
	switch {
	case c.cost[poolMode] == 0:
		return poolMode
	case c.cost[aloneMode] == 0:
		return aloneMode
	}
	best := poolMode
	if c.cost[aloneMode] < c.cost[poolMode] {
		best = aloneMode
	}
	if c.count%probeEvery == 0 {
		return 1 - best
	}
	return best
}

// observe records that an update of work sample-epochs took d in mode.
func (c *coreChooser) observe(mode int, d time.Duration, work float64) {
	if work <= 0 || d <= 0 {
		return
	}
	x := d.Seconds() / work
	if c.cost[mode] == 0 {
		c.cost[mode] = x
		return
	}
	c.cost[mode] += costWeight * (x - c.cost[mode])
}
