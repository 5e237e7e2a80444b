// Package workpool runs batches of independent tasks on a fixed set of
// goroutines: the learner's data-parallel PPO update (learner/ppo's
// Executor) uses every core without starting a goroutine per minibatch
// and without allocating per batch.
package workpool

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// maxQueued bounds the task indices queued at once; a Run with more tasks
// runs the excess on the calling goroutine.
const maxQueued = 256

// spinFor is how long an idle helper keeps polling for work, and Run for
// its helpers to finish, before blocking. The parallel parts of a PPO
// update follow each other within microseconds, sooner than a parked
// goroutine is woken on another core (a woken goroutine first waits in
// the waker's run queue until another core steals it); between updates
// helpers park after this long. Run yields the processor at every poll
// (a helper it woke may be waiting in its run queue); a helper only every
// yieldEvery polls: yielding at every poll made every poll a trip through
// the scheduler's global queue, which Run's own polls contend for.
const spinFor = 50 * time.Microsecond

// yieldEvery is how many polls an idle helper makes between two yields
// (a few microseconds).
const yieldEvery = 128

// Pool is a set of helper goroutines. New starts them, Close stops them.
// Run may be called from one goroutine at a time.
type Pool struct {
	workers int
	tasks   chan int      // indices of the current Run
	left    atomic.Int64  // tasks of the current Run not finished
	fin     chan struct{} // sent by the helper that finishes a Run's last task
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
	p := &Pool{workers: workers, tasks: make(chan int, maxQueued), fin: make(chan struct{}, 1)}
	for range workers - 1 {
		p.wg.Add(1)
		go p.help()
	}
	return p
}

// help runs tasks until Close.
func (p *Pool) help() {
	defer p.wg.Done()
	for {
		i, ok := p.take()
		if !ok {
			return
		}
		p.fn(i)
		if p.left.Add(-1) == 0 {
			p.fin <- struct{}{}
		}
	}
}

// take returns the next task index, polling for spinFor before it blocks,
// or false once the pool is closed.
func (p *Pool) take() (int, bool) {
	for start, n := time.Now(), 0; time.Since(start) < spinFor; n++ {
		select {
		case i, ok := <-p.tasks:
			return i, ok
		default:
		}
		if n%yieldEvery == yieldEvery-1 {
			runtime.Gosched()
		}
	}
	i, ok := <-p.tasks
	return i, ok
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
	p.left.Store(int64(n))
	last := false // whether this goroutine finished the last task
	run := func(i int) {
		task(i)
		last = p.left.Add(-1) == 0
	}
	for i := range n {
		select {
		case p.tasks <- i:
		default:
			run(i) // queue full
		}
	}
	// Work alongside the helpers, then wait for the tasks they took: the
	// helper that finishes the last one sends on fin.
	for done := false; !done; {
		select {
		case i := <-p.tasks:
			run(i)
		default:
			done = true
		}
	}
	if !last {
		for start := time.Now(); p.left.Load() > 0 && time.Since(start) < spinFor; {
			runtime.Gosched()
		}
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
