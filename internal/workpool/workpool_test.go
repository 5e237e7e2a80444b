package workpool

import (
	"runtime"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunCallsEveryTaskOnce runs batches of every size, including more
// tasks than the queue holds, and checks each index ran exactly once and
// that Run returned only after all of them.
func TestRunCallsEveryTaskOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 4} {
		p := New(workers)
		counts := make([]atomic.Int32, 3*maxQueued)
		for _, n := range []int{0, 1, 2, 3, 7, 64, maxQueued + 1, 3 * maxQueued} {
			for i := range counts {
				counts[i].Store(0)
			}
			p.Run(n, func(i int) { counts[i].Add(1) })
			for i := range counts {
				want := int32(0)
				if i < n {
					want = 1
				}
				if got := counts[i].Load(); got != want {
					t.Fatalf("workers %d, n %d: task %d ran %d times", workers, n, i, got)
				}
			}
		}
		p.Close()
		p.Close() // idempotent
		var ran atomic.Int32
		p.Run(5, func(int) { ran.Add(1) })
		if ran.Load() != 5 {
			t.Fatalf("Run after Close ran %d of 5 tasks", ran.Load())
		}
	}
}

// TestBackToBackRuns: thousands of Runs of a few tiny tasks in a row, the
// pattern of a PPO update's phases, on more helpers than cores, so that
// helpers are often descheduled between seeing a Run and claiming from
// it. Each Run's tasks must run exactly once and only with that Run's
// function (a helper late from one Run must not take tasks of the next).
func TestBackToBackRuns(t *testing.T) {
	for _, workers := range []int{2, 4, 8} {
		p := New(workers)
		counts := make([]atomic.Int32, 16)
		for r := range 5000 {
			n := 2 + r%15
			want := int32(r)
			p.Run(n, func(i int) {
				if counts[i].Add(1) != 1 {
					t.Errorf("run %d: task %d ran twice", want, i)
				}
			})
			for i := range counts {
				if got := counts[i].Swap(0); got != int32(min(1, max(0, n-i))) {
					t.Fatalf("workers %d, run %d of %d tasks: task %d ran %d times", workers, r, n, i, got)
				}
			}
		}
		p.Close()
	}
}

// TestRunIsParallel checks that helpers really take tasks: two tasks that
// each wait for the other can only finish on two goroutines.
func TestRunIsParallel(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	p := New(2)
	defer p.Close()
	for range 100 {
		var arrived atomic.Int32
		p.Run(2, func(int) {
			arrived.Add(1)
			for arrived.Load() < 2 {
				runtime.Gosched()
			}
		})
	}
}

func TestRunDoesNotAllocate(t *testing.T) {
	p := New(2)
	defer p.Close()
	var sink atomic.Int64
	task := func(i int) { sink.Add(int64(i)) }
	if a := testing.AllocsPerRun(100, func() { p.Run(8, task) }); a != 0 {
		t.Fatalf("Run allocates %v times per call", a)
	}
}

func TestDefaultWorkers(t *testing.T) {
	p := New(0)
	defer p.Close()
	if p.Workers() != runtime.GOMAXPROCS(0) {
		t.Fatalf("%d workers, GOMAXPROCS %d", p.Workers(), runtime.GOMAXPROCS(0))
	}
}

var sinkTask atomic.Int64

// BenchmarkRun measures the overhead of one Run of 4 tiny tasks: the
// dispatch and wake-up cost every phase of a PPO minibatch pays.
func BenchmarkRun(b *testing.B) {
	p := New(0)
	defer p.Close()
	task := func(i int) { sinkTask.Add(int64(i)) }
	b.ReportAllocs()
	for b.Loop() {
		p.Run(4, task)
	}
}
