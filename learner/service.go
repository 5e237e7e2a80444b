package learner

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"podmedic/internal/ratelog"
	"podmedic/internal/workpool"
	"podmedic/learner/ppo"
	"podmedic/policy"
	"podmedic/protocol"
)

// Service is the distributed PPO learner: it consumes rollouts from NATS,
// runs updates, broadcasts weights, answers latest-weights and policy
// requests, checkpoints and resumes. NewService sets it up, Open starts
// it, Close stops it. One goroutine (the loop) owns the model and the
// batch; NATS callbacks only decode, validate and enqueue (ingest.go).
type Service struct {
	cfg     ServiceConfig
	spec    EnvSpec
	log     hclog.Logger
	nc      *nats.Conn
	subj    protocol.Subjects
	lim     protocol.Limits
	metrics *Metrics
	reg     *prometheus.Registry
	now     func() time.Time
	hooks   Hooks
	store   CheckpointStore // nil: no checkpoints

	// Owned by the loop goroutine.
	net           *policy.Net
	norm          *policy.Normalizer
	upd           *ppo.Updater
	asm           assembler
	envSteps      int64 // consumed by updates
	lastCkpt      uint64
	verified      map[string]uint32 // checkpoint name -> CRC-32C of the bytes verify saw
	segs          []ppo.Segment
	scenarioMeans map[string]float64 // backs the per-scenario return gauge
	progress      *ProgressWriter
	started       time.Time
	stepsAtStart  int64

	epoch          uint64 // this process's incarnation, sent with the weights
	members        *members
	requests       *requestLimiter
	seqMu          sync.Mutex
	seqs           *protocol.SeqTracker
	rollouts       chan *protocol.Rollout
	wake           chan struct{}                  // a member left: the batch may be complete
	snapshot       atomic.Pointer[[]byte]         // protocol.EncodeSnapshot of the current version
	status         atomic.Pointer[Status]         // see setStatus
	lastCheckpoint atomic.Pointer[CheckpointInfo] // newest written and verified
	lastUpdate     atomic.Int64                   // unix ns of the last update (or Open)
	busySince      atomic.Int64                   // unix ns when the first member joined an empty run
	rejectLog      *ratelog.Logger                // rejected messages, per subject and reason
	memberLog      *ratelog.Logger                // joins, leaves, losses
	failLog        *ratelog.Logger                // failed checkpoints and snapshots
	stopped        atomic.Bool                    // Finish was called

	pool     *workpool.Pool // runs the updates' parallel parts; Open to Close
	cores    coreChooser    // whether an update runs on the pool or alone
	subs     []*nats.Subscription
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	done     chan struct{}
	doneOnce sync.Once
}

// Log rates: one line per rejection reason per interval; a burst of
// membership lines (a scaled-up deployment joining) then one per interval;
// one line per failure kind per minute.
const (
	rejectLogInterval  = 10 * time.Second
	memberLogInterval  = 10 * time.Second
	memberLogBurst     = 16
	failureLogInterval = time.Minute
)

// NewService builds a learner for actors running an environment of spec.
// It starts from the newest valid checkpoint in its store
// (cfg.CheckpointDir or cfg.Store), at the version it was saved with, or
// from fresh parameters; a store holding only invalid checkpoints is an
// error (ErrNoValidCheckpoint) unless cfg.Fresh. reg receives the
// learner's metrics, labelled run=<cfg.Run>, and is what /metrics serves;
// log may be nil.
func NewService(cfg ServiceConfig, spec EnvSpec, nc *nats.Conn, reg *prometheus.Registry, log hclog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	subj, err := protocol.NewSubjects(cfg.Run)
	if err != nil {
		return nil, err
	}
	lim := protocol.DefaultLimits()
	if mp := int(nc.MaxPayload()); mp > 0 && mp < lim.MaxPayload {
		lim.MaxPayload = mp
	}
	s := &Service{
		cfg: cfg, spec: spec, log: log.Named("learner"), nc: nc, subj: subj, lim: lim, reg: reg,
		// Every series carries the run name, the dashboards' template variable.
		metrics: NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"run": cfg.Run}, reg), spec.ActionNames),
		now:     time.Now,
		asm: assembler{mode: cfg.Mode, maxLag: uint64(cfg.MaxPolicyLag), minActors: cfg.MinActors,
			perUpdate: cfg.RolloutsPerUpdate, batchWait: cfg.BatchWait},
		members:       newMembers(cfg.HeartbeatTimeout, cfg.MaxActors, cfg.JoinRate, cfg.JoinBurst, randomNonZero),
		requests:      newRequestLimiter(),
		seqs:          protocol.NewSeqTracker(4096),
		rollouts:      make(chan *protocol.Rollout, cfg.QueueCapacity),
		wake:          make(chan struct{}, 1),
		done:          make(chan struct{}),
		scenarioMeans: map[string]float64{},
		epoch:         cfg.Epoch,
	}
	if s.epoch == 0 {
		s.epoch = randomEpoch()
	}
	s.rejectLog = ratelog.New(s.log, rejectLogInterval, 1, s.now)
	s.memberLog = ratelog.New(s.log, memberLogInterval, memberLogBurst, s.now)
	s.failLog = ratelog.New(s.log, failureLogInterval, 1, s.now)
	for _, r := range protocol.Reasons() {
		s.metrics.RolloutsRejected.WithLabelValues(string(r))
	}
	if s.store, err = s.openStore(); err != nil {
		return nil, err
	}
	if err := s.initModel(); err != nil {
		return nil, err
	}
	s.started = s.now()
	s.lastUpdate.Store(s.started.UnixNano())
	s.setStatus() // Status is valid from here on, also before Open
	return s, nil
}

// fenced reports that ServiceConfig.Fence forbids publishing now.
func (s *Service) fenced() bool { return s.cfg.Fence != nil && !s.cfg.Fence() }

// Epoch is the epoch this service sends with its weights.
func (s *Service) Epoch() uint64 { return s.epoch }

// randomEpoch names this process's incarnation (crypto/rand.Read never
// fails: it crashes the program if the system's source does).
func randomEpoch() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// randomNonZero draws a member token.
func randomNonZero() uint64 {
	for {
		if v := randomEpoch(); v != 0 {
			return v
		}
	}
}

// SetHooks installs h; call it before Open.
func (s *Service) SetHooks(h Hooks) { s.hooks = h }

// Open subscribes to the run's subjects, broadcasts the current weights
// (so actors of a restarted learner re-sync at once) and starts the loop.
func (s *Service) Open(ctx context.Context) error {
	if s.cfg.ProgressPath != "" {
		p, err := OpenProgress(s.cfg.ProgressPath)
		if err != nil {
			return err
		}
		s.progress = p
	}
	if err := s.publishWeights(); err != nil {
		return s.abandon(err)
	}
	if err := s.subscribe(); err != nil {
		return s.abandon(err)
	}
	s.started = s.now()
	s.lastUpdate.Store(s.started.UnixNano())
	s.stepsAtStart = s.envSteps
	s.setStatus()
	// A resumed learner reports its version before its first update.
	s.metrics.PolicyVersion.Set(float64(s.upd.Version()))
	if s.finished() {
		// Resumed from a run that had already used its budget.
		s.doneOnce.Do(func() { close(s.done) })
	}
	s.pool = workpool.New(s.cfg.Workers)
	s.upd.SetExecutor(s.pool)
	s.log.Info("learner serving", "run", s.cfg.Run, "mode", s.cfg.Mode, "version", s.upd.Version(), "workers", s.pool.Workers())
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.loop(ctx)
	}()
	return nil
}

// abandon undoes a failed Open.
func (s *Service) abandon(err error) error {
	s.unsubscribe()
	if s.progress != nil {
		err = errors.Join(err, s.progress.Close())
		s.progress = nil
	}
	return err
}

// subscribe subscribes the ingest handlers (ingest.go) and the latest
// requests (weights.go) with bounded pending buffers.
func (s *Service) subscribe() error {
	subs := []struct {
		subject string
		h       nats.MsgHandler
	}{
		{s.subj.Rollouts, s.onRollout},
		{s.subj.Hello, s.onHello},
		{s.subj.Heartbeat, s.onHeartbeat},
		{s.subj.Goodbye, s.onGoodbye},
		{s.subj.WeightsLatest, s.latestHandler(labelWeightsLatest, s.Weights)},
		{s.subj.PolicyLatest, s.latestHandler(labelPolicyLatest, s.PolicySnapshot)},
	}
	for _, sb := range subs {
		sub, err := s.nc.Subscribe(sb.subject, sb.h)
		if err != nil {
			return fmt.Errorf("learner: subscribe %s: %w", sb.subject, err)
		}
		s.subs = append(s.subs, sub)
		// Bounded client-side buffers: beyond them NATS drops messages
		// (reported as slow consumer) instead of growing memory.
		if err := sub.SetPendingLimits(4096, 64<<20); err != nil {
			return fmt.Errorf("learner: pending limits %s: %w", sb.subject, err)
		}
	}
	if err := s.nc.Flush(); err != nil {
		return fmt.Errorf("learner: subscribe to %s.* at NATS %s: %w", s.subj.Prefix, s.natsURL(), err)
	}
	return nil
}

// Done is closed once training has ended: TotalSteps env steps were
// consumed, or Finish was called. The service keeps serving its policy
// until Close.
func (s *Service) Done() <-chan struct{} { return s.done }

// Finish ends training: the loop makes no further update (one in progress
// completes) and Done closes. The service keeps answering policy requests.
// Safe for concurrent use, also from a hook.
func (s *Service) Finish() {
	s.stopped.Store(true)
	s.doneOnce.Do(func() { close(s.done) })
}

// natsURL names the NATS server for errors: the one connected to, else
// the ones configured.
func (s *Service) natsURL() string {
	if u := s.nc.ConnectedUrlRedacted(); u != "" {
		return u
	}
	return strings.Join(s.nc.Servers(), ",")
}

// Close stops the loop, unsubscribes and writes a final checkpoint (and
// the policy snapshot), returning its error: LastCheckpoint then says what
// is on disk. It does not close the NATS connection, which belongs to the
// caller.
func (s *Service) Close(ctx context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return fmt.Errorf("learner: close: %w", ctx.Err())
	}
	s.unsubscribe()
	if s.pool != nil {
		s.upd.SetExecutor(nil)
		s.pool.Close()
		s.pool = nil
	}
	var errs []error
	switch {
	case s.store == nil:
	case s.fenced():
		// Another learner may hold the lease and write by now.
		s.log.Warn("fenced: no final checkpoint", "version", s.upd.Version(), "last_checkpoint", s.lastCkpt)
	case s.upd.Version() != s.lastCkpt:
		_, err := s.checkpoint()
		errs = append(errs, err)
	default:
		s.writeSnapshot()
	}
	if s.progress != nil {
		errs = append(errs, s.progress.Close())
		s.progress = nil
	}
	return errors.Join(errs...)
}

func (s *Service) unsubscribe() {
	for _, sub := range s.subs {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			s.log.Warn("unsubscribe failed", "subject", sub.Subject, "error", err)
		}
	}
	s.subs = nil
}

// loop owns the model: it takes validated rollouts from the NATS
// handlers, reaps silent members once a second, and updates whenever the
// batch is complete: a rollout of every active member (members.active;
// or, in async mode, what came within BatchWait).
func (s *Service) loop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.rollouts:
			s.onValidRollout(r)
			// Take whatever else has arrived, so the batch holds all fresh
			// data instead of leaving it to go stale in the queue.
			for drained := false; !drained; {
				select {
				case r := <-s.rollouts:
					s.onValidRollout(r)
				default:
					drained = true
				}
			}
			s.metrics.QueueLength.Set(float64(len(s.rollouts)))
		case <-s.wake:
		case <-wait.C:
		case now := <-tick.C:
			for _, id := range s.members.reap(now) {
				s.metrics.ActorsLost.Inc()
				s.memberLog.Warn("lost", "actor lost: no heartbeat", "actor", id, "timeout", s.cfg.HeartbeatTimeout)
			}
			s.onMembersChanged()
			s.setStatus()
		}
		// An update can leave the next batch complete (pipelined: the
		// rollouts held for it), with no event to come that would check.
		for now := s.now(); !s.finished() && s.asm.ready(s.members.active(now), now); now = s.now() {
			s.update()
		}
		if d, ok := s.asm.deadline(); ok && !s.finished() {
			wait.Reset(d.Sub(s.now()))
		} else {
			wait.Stop()
		}
	}
}
