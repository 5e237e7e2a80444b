// Package workpool runs batches of independent tasks on a fixed set of
// goroutines: the learner's data-parallel PPO update (learner/ppo's
// Executor) uses every core without starting a goroutine per minibatch
// and without allocating per batch.
package workpool

import (
	"fmt"
	"runtime"
	"sync"
)

// maxQueued bounds the task indices queued at once; a Run with more tasks
// runs the excess on the calling goroutine.
const maxQueued = 256

// Pool is a set of helper goroutines. New starts them, Close stops them.
// Run may be called from one goroutine at a time.
type Pool struct {
	workers int
	tasks   chan int      // indices of the current Run
	fin     chan struct{} // one per task a helper finished
	fn      func(int)     // the current Run's task; written before indices are sent
	wg      sync.WaitGroup
	closed  bool
}

// New starts a pool that runs tasks on workers goroutines: the caller of
// Run and workers-1 helpers. workers < 1 means runtime.GOMAXPROCS(0).
func New(workers int) *Pool {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &Pool{workers: workers, tasks: make(chan int, maxQueued), fin: make(chan struct{}, maxQueued)}
	for range workers - 1 {
		p.wg.Add(1)
		go p.help()
	}
	return p
}

// help runs tasks until Close.
func (p *Pool) help() {
	defer p.wg.Done()
	for i := range p.tasks {
		p.fn(i)
		p.fin <- struct{}{}
	}
}

// Workers returns the number of goroutines that run tasks.
func (p *Pool) Workers() int { return p.workers }

// Run calls task(0), ..., task(n-1), concurrently and in no particular
// order, and returns when all have returned. The calling goroutine runs
// tasks too. After Close, Run runs them in order on the caller.
func (p *Pool) Run(n int, task func(i int)) {
	if n < 1 {
		return
	}
	if p.workers == 1 || n == 1 || p.closed {
		for i := range n {
			task(i)
		}
		return
	}
	p.fn = task
	queued := 0
	for i := range n {
		select {
		case p.tasks <- i:
			queued++
		default:
			task(i) // queue full
		}
	}
	// Work alongside the helpers, then wait for the tasks they took.
	for done := false; !done; {
		select {
		case i := <-p.tasks:
			task(i)
			queued--
		default:
			done = true
		}
	}
	for ; queued > 0; queued-- {
		<-p.fin
	}
	p.fn = nil
}

// Close stops the helpers and waits for them; it must not run concurrently
// with Run. Later Runs use the calling goroutine only.
func (p *Pool) Close() {
	if p.closed {
		return
	}
	p.closed = true
	close(p.tasks)
	p.wg.Wait()
}

// String describes the pool for logs.
func (p *Pool) String() string { return fmt.Sprintf("workpool(%d workers)", p.workers) }
