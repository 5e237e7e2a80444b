package train_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"podmedic/learner"
	"podmedic/protocol"
)

// The scale-out benchmark: N simulated actors, each a goroutine with its
// own NATS connection, publish real rollouts of make run's shape (8 envs x
// 64 steps of the cluster simulation, obs 52, 17 actions) to one learner
// on the embedded server, at the pace of a real actor on its own core and
// with a real actor's protocol: hello, heartbeats, weights broadcasts, one
// rollout per version in sync mode, at most MaxAhead per version in async
// mode. They spend no CPU simulating, so the learner is what is measured
// (it shares the machine with the NATS server and the actors' encoding).

// scaleFixture holds what every run replays: rollouts a real actor
// produced and the time it took per rollout.
type scaleFixture struct {
	spec     learner.EnvSpec
	rollouts []*protocol.Rollout
	period   time.Duration // env + inference + encode/publish per rollout
	bytes    int           // encoded size of one rollout
}

// captureFixture trains briefly with one real actor of make run's shape
// (sync) and records its rollouts off the wire and its pace.
func captureFixture(tb testing.TB, keep int) *scaleFixture {
	tb.Helper()
	port := freePort(tb)
	ns := startNATS(tb, port)
	defer stopNATS(ns)
	ecfg := testEnvConfig(tb)
	spec := testSpec(tb, ecfg)
	cfg := learner.DefaultServiceConfig() // make run's PPO: 4 epochs x 256
	cfg.Run, cfg.Mode = testRun, protocol.ModeSync
	l := startLearner(tb, natsURL(port), cfg, spec)
	defer l.stop(tb)
	raw := connect(tb, natsURL(port))
	subj, _ := protocol.NewSubjects(testRun)
	got := make(chan []byte, 64)
	sub, err := raw.Subscribe(subj.Rollouts, func(m *nats.Msg) {
		select {
		case got <- append([]byte(nil), m.Data...):
		default:
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer sub.Unsubscribe()
	a := startActorSized(tb, natsURL(port), "capture", protocol.ModeSync, 3, ecfg, 8, 64)
	fx := &scaleFixture{spec: spec}
	timeout := time.After(time.Minute)
	for len(fx.rollouts) < keep {
		select {
		case data := <-got:
			r, err := protocol.DecodeRollout(data, protocol.DefaultLimits())
			if err != nil {
				tb.Fatal(err)
			}
			fx.rollouts, fx.bytes = append(fx.rollouts, r), len(data)
		case <-timeout:
			tb.Fatal("no rollouts from the capture actor within a minute")
		}
	}
	a.stop(tb)
	n := testutilValue(a.m.RolloutsPublished)
	busy := testutilValue(a.m.EnvSeconds) + testutilValue(a.m.InferenceSeconds) + testutilValue(a.m.PublishSeconds)
	fx.period = time.Duration(busy / n * float64(time.Second))
	return fx
}

// simActor replays fixture rollouts like a real actor.
type simActor struct {
	id          string
	incarnation uint64
	nc          *nats.Conn
	subj        protocol.Subjects
	mode        protocol.Mode
	fx          *scaleFixture
	maxAhead    int

	mu       sync.Mutex
	version  uint64 // newest weights seen, and their learner epoch
	epoch    uint64
	have     bool
	notify   chan struct{}
	w        protocol.Weights // decoded broadcasts, reused
	seq      uint64
	token    uint64 // the member token of the learner's hello reply
	buf      []byte
	sent     *atomic.Int64
	sentByte *atomic.Int64
}

func (s *simActor) onWeights(m *nats.Msg) {
	if err := protocol.DecodeWeightsInto(&s.w, m.Data, protocol.DefaultLimits()); err != nil {
		return
	}
	s.mu.Lock()
	if !s.have || s.w.Epoch != s.epoch || s.w.Version > s.version {
		s.version, s.epoch, s.have = s.w.Version, s.w.Epoch, true
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *simActor) current() (version, epoch uint64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version, s.epoch, s.have
}

// run collects (sleeps a real actor's time per rollout), publishes and
// waits for newer weights by the actor's rules until ctx ends.
func (s *simActor) run(ctx context.Context) error {
	sub, err := s.nc.Subscribe(s.subj.Weights, s.onWeights)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	r0 := s.fx.rollouts[0]
	hello, err := protocol.EncodeHello(&protocol.Hello{ActorID: s.id, Incarnation: s.incarnation, NumEnvs: r0.NumEnvs,
		Horizon: r0.Horizon, ObsSize: r0.ObsSize, NumActions: r0.NumActions}, 0)
	if err != nil {
		return err
	}
	// Join as a real actor does: the hello is a request, and its reply
	// carries the member token every rollout and heartbeat must show.
	for s.token == 0 {
		reply, err := s.nc.Request(s.subj.Hello, hello, 10*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("hello: %w", err)
		}
		m, err := protocol.DecodeMemberReply(reply.Data, protocol.DefaultLimits())
		if err != nil {
			return fmt.Errorf("hello reply: %w", err)
		}
		if !m.Accepted {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond): // joins are rate-limited: try again
			}
			continue
		}
		s.token = m.MemberToken
	}
	if msg, err := s.nc.Request(s.subj.WeightsLatest, nil, 10*time.Second); err == nil {
		s.onWeights(msg)
	}
	beat := time.NewTicker(time.Second)
	defer beat.Stop()
	collect := time.NewTimer(s.fx.period)
	defer collect.Stop()
	ahead, at := 0, uint64(0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			s.heartbeat()
			continue
		case <-collect.C:
		}
		version, epoch, ok := s.current()
		if !ok {
			collect.Reset(10 * time.Millisecond)
			continue
		}
		if version != at {
			ahead, at = 0, version
		}
		r := *s.fx.rollouts[int(s.seq)%len(s.fx.rollouts)] // shares the data, new header
		s.seq++
		r.ActorID, r.Incarnation, r.Seq, r.PolicyVersion, r.PolicyEpoch = s.id, s.incarnation, s.seq, version, epoch
		r.MemberToken = s.token
		if s.buf, err = protocol.AppendRollout(s.buf[:0], &r); err != nil {
			return err
		}
		if err := s.nc.Publish(s.subj.Rollouts, s.buf); err != nil {
			return err
		}
		s.sent.Add(1)
		s.sentByte.Add(int64(len(s.buf)))
		ahead++
		if s.mode == protocol.ModeSync || ahead >= s.maxAhead {
			for v, _, _ := s.current(); v == version; v, _, _ = s.current() {
				select {
				case <-ctx.Done():
					return nil
				case <-s.notify:
				case <-beat.C:
					s.heartbeat()
				}
			}
		}
		collect.Reset(s.fx.period)
	}
}

func (s *simActor) heartbeat() {
	v, _, _ := s.current()
	if hb, err := protocol.EncodeHeartbeat(&protocol.Heartbeat{ActorID: s.id, Incarnation: s.incarnation, MemberToken: s.token,
		Seq: s.seq, WeightsVersion: v, UnixNano: time.Now().UnixNano()}, 0); err == nil {
		_ = s.nc.Publish(s.subj.Heartbeat, hb) // a lost heartbeat is what heartbeats tolerate; the reply is not awaited
	}
}

// scaleResult are the figures of one run, over the measured window.
type scaleResult struct {
	published, received   float64 // rollouts in the window
	publishedRun, dropped float64 // rollouts over the whole run
	receivedMB            float64
	updates, stepsTrained float64
	lagP50, lagP99        float64 // versions, async only (NaN without lag data)
	rssMB                 float64 // peak VmRSS of the process during the window
	seconds               float64
}

func (r scaleResult) dropFraction() float64 {
	if r.publishedRun == 0 {
		return 0
	}
	return r.dropped / r.publishedRun
}

// learnerCounters reads the learner's counters the figures come from.
type learnerCounters struct {
	received, bytes, rejected, updates, steps float64
	lag                                       []*dto.Bucket
	lagCount                                  uint64
}

func readCounters(tb testing.TB, reg *prometheus.Registry) learnerCounters {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var c learnerCounters
	for _, f := range mfs {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "podmedic_learner_rollouts_received_total":
				c.received = m.GetCounter().GetValue()
			case "podmedic_learner_received_bytes_total":
				c.bytes = m.GetCounter().GetValue()
			case "podmedic_learner_rollouts_rejected_total":
				c.rejected += m.GetCounter().GetValue()
			case "podmedic_learner_updates_total":
				c.updates = m.GetCounter().GetValue()
			case "podmedic_learner_env_steps_consumed_total":
				c.steps = m.GetCounter().GetValue()
			case "podmedic_learner_policy_lag_versions":
				c.lag, c.lagCount = m.GetHistogram().GetBucket(), m.GetHistogram().GetSampleCount()
			}
		}
	}
	return c
}

// lagQuantile returns the q-quantile of the lags observed between two
// readings of the histogram, whose buckets are the integers 0..4 and
// above (exact for lags up to 4), NaN without observations.
func lagQuantile(before, after learnerCounters, q float64) float64 {
	n := float64(after.lagCount - before.lagCount)
	if n == 0 {
		return math.NaN()
	}
	for i, b := range after.lag {
		cum := float64(b.GetCumulativeCount())
		if i < len(before.lag) {
			cum -= float64(before.lag[i].GetCumulativeCount())
		}
		if cum >= q*n {
			return b.GetUpperBound()
		}
	}
	return math.Inf(1)
}

// rssMB returns the process's resident set in MiB (0 where /proc is
// missing).
func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// scaleOut runs one learner with make run's settings in mode (and the
// given queue capacity, 0 for make run's) against n simulated actors:
// warm-up, then a measured window for the rates; the drops are counted
// over the whole run once every published rollout has arrived.
func scaleOut(tb testing.TB, fx *scaleFixture, mode protocol.Mode, n, queue int, warm, window time.Duration) scaleResult {
	tb.Helper()
	port := freePort(tb)
	ns := startNATS(tb, port)
	defer stopNATS(ns)
	cfg := learner.DefaultServiceConfig()
	cfg.Run, cfg.Mode = testRun, mode
	if queue > 0 {
		cfg.QueueCapacity = queue
	}
	if mode == protocol.ModeSync {
		cfg.MinActors = n // what train and podmedic train set
	}
	l := startLearner(tb, natsURL(port), cfg, fx.spec)
	defer l.stop(tb)
	subj, _ := protocol.NewSubjects(testRun)
	var sent, sentBytes atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, n)
	conns := make([]*nats.Conn, n)
	for i := range n {
		nc := connect(tb, natsURL(port))
		conns[i] = nc
		s := &simActor{id: fmt.Sprintf("sim-%03d", i), incarnation: uint64(i + 1), nc: nc, subj: subj, mode: mode, fx: fx,
			maxAhead: 2, notify: make(chan struct{}, 1), sent: &sent, sentByte: &sentBytes}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.run(ctx); err != nil {
				errs <- err
			}
		}()
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			tb.Errorf("simulated actor: %v", err)
		}
	}
	defer stop()
	time.Sleep(warm)
	before, sent0 := readCounters(tb, l.reg), sent.Load()
	start := time.Now()
	peak := 0.0
	for time.Since(start) < window {
		time.Sleep(100 * time.Millisecond)
		peak = max(peak, rssMB())
	}
	after, sent1 := readCounters(tb, l.reg), sent.Load()
	secs := time.Since(start).Seconds()
	res := scaleResult{
		published:    float64(sent1 - sent0),
		received:     after.received - before.received,
		receivedMB:   (after.bytes - before.bytes) / (1 << 20),
		updates:      after.updates - before.updates,
		stepsTrained: after.steps - before.steps,
		lagP50:       lagQuantile(before, after, 0.5),
		lagP99:       lagQuantile(before, after, 0.99),
		rssMB:        peak,
		seconds:      secs,
	}
	// Dropped, over the whole run: never handed to the learner by NATS
	// (published minus received, once nothing is in flight) plus refused
	// by the learner for any reason (queue full, stale, ...).
	stop()
	for _, nc := range conns {
		if err := nc.Flush(); err != nil {
			tb.Errorf("flush simulated actor: %v", err)
		}
	}
	total := readCounters(tb, l.reg)
	for settle := time.Now(); time.Since(settle) < 5*time.Second; {
		time.Sleep(100 * time.Millisecond)
		c := readCounters(tb, l.reg)
		if c.received == total.received && c.received >= float64(sent.Load()) {
			break
		}
		total = c
	}
	res.publishedRun = float64(sent.Load())
	res.dropped = max(0, res.publishedRun-total.received) + total.rejected
	return res
}

// BenchmarkScaleOut reports, per mode and number of simulated actors,
// ingest (rollouts and MB per second received, decoded and validated),
// updates and env steps trained per second, the policy lag of trained
// rollouts (async), the share of rollouts dropped and the process's peak
// RSS. One iteration is one 6-second run (2 s warm-up, 4 s measured):
//
//	go test -run '^$' -bench ScaleOut -benchtime 1x ./train/
func BenchmarkScaleOut(b *testing.B) {
	fx := captureFixture(b, 8)
	b.Logf("fixture: %d rollouts of %d bytes, a real actor needs %v per rollout (%.0f rollouts/s on its own core)",
		len(fx.rollouts), fx.bytes, fx.period, 1/fx.period.Seconds())
	type run struct {
		mode     protocol.Mode
		n, queue int
		name     string
	}
	var runs []run
	for _, mode := range []protocol.Mode{protocol.ModeSync, protocol.ModeAsync} {
		for _, n := range []int{1, 4, 16, 32, 64} {
			runs = append(runs, run{mode, n, 0, fmt.Sprintf("mode=%s/actors=%d", mode, n)})
		}
	}
	// The async queue must hold MaxAhead (2) rollouts per actor.
	runs = append(runs, run{protocol.ModeAsync, 64, 256, "mode=async-queue256/actors=64"})
	for _, c := range runs {
		b.Run(c.name, func(b *testing.B) {
			var r scaleResult
			for range b.N {
				r = scaleOut(b, fx, c.mode, c.n, c.queue, 2*time.Second, 4*time.Second)
			}
			b.ReportMetric(r.published/r.seconds, "offered/s")
			b.ReportMetric(r.received/r.seconds, "rollouts/s")
			b.ReportMetric(r.receivedMB/r.seconds, "MB/s")
			b.ReportMetric(r.updates/r.seconds, "updates/s")
			b.ReportMetric(r.stepsTrained/r.seconds, "steps/s")
			b.ReportMetric(100*r.dropFraction(), "%dropped")
			if c.mode == protocol.ModeAsync {
				b.ReportMetric(r.lagP50, "lag-p50")
				b.ReportMetric(r.lagP99, "lag-p99")
			}
			b.ReportMetric(r.rssMB, "RSS-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestScaleOutHarness runs the benchmark's harness briefly with 4
// simulated actors in each mode: rollouts flow, the learner updates,
// nothing is dropped in sync mode and the lag stays within the limit in
// async mode.
func TestScaleOutHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	fx := captureFixture(t, 2)
	if fx.period <= 0 || fx.bytes < 50_000 {
		t.Fatalf("fixture: period %v, %d bytes", fx.period, fx.bytes)
	}
	for _, mode := range []protocol.Mode{protocol.ModeSync, protocol.ModeAsync} {
		r := scaleOut(t, fx, mode, 4, 0, 500*time.Millisecond, time.Second)
		if r.published < 4 || r.received < 4 || r.updates < 1 || r.stepsTrained < 512 || r.receivedMB <= 0 {
			t.Fatalf("%s: %+v", mode, r)
		}
		if mode == protocol.ModeSync && r.dropFraction() > 0.05 {
			t.Fatalf("sync with 4 actors dropped %.1f%% of rollouts: %+v", 100*r.dropFraction(), r)
		}
		if mode == protocol.ModeAsync && !(r.lagP99 <= 4) {
			t.Fatalf("async lag p99 %v beyond max_policy_lag 4: %+v", r.lagP99, r)
		}
	}
}
