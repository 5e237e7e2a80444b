package ppo

// Executor runs the independent tasks of an update: the shards of a
// minibatch's gradient and the chunks of the gradient reduction and the
// optimiser step. The package never starts goroutines itself; the learner
// service hands its updater a goroutine pool (internal/workpool), and
// results do not depend on which executor runs the tasks: every task
// writes buffers of its own, which are combined afterwards in a fixed
// order.
type Executor interface {
	// Run calls task(0), ..., task(n-1), possibly concurrently and in any
	// order, and returns when all have returned.
	Run(n int, task func(i int))
}

// Sequential is the Executor that runs tasks one after another on the
// calling goroutine.
type Sequential struct{}

// Run calls task(0), ..., task(n-1) in order.
func (Sequential) Run(n int, task func(i int)) {
	for i := range n {
		task(i)
	}
}
