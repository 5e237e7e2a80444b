package learner

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

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

	// Owned by the loop goroutine.
	net           *policy.Net
	norm          *policy.Normalizer
	upd           *ppo.Updater
	asm           assembler
	actors        *actorTracker
	envSteps      int64 // consumed by updates
	lastCkpt      uint64
	segs          []ppo.Segment
	scenarioMeans map[string]float64 // backs the per-scenario return gauge
	progress      *ProgressWriter
	started       time.Time
	stepsAtStart  int64

	epoch     uint64 // this process's incarnation, sent with the weights
	seqMu     sync.Mutex
	seqs      *protocol.SeqTracker
	rollouts  chan *protocol.Rollout
	lifesigns chan lifesign
	latest    atomic.Pointer[[]byte] // encoded Weights of the current version
	status    atomic.Pointer[Status]
	rejectLog *rateLogger
	stopped   atomic.Bool // Finish was called

	pool     *workpool.Pool // runs the updates' parallel parts; Open to Close
	cores    coreChooser    // whether an update runs on the pool or alone
	subs     []*nats.Subscription
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	done     chan struct{}
	doneOnce sync.Once
}

// NewService builds a learner for actors running an environment of spec.
// It starts from the newest valid checkpoint in cfg.CheckpointDir, at the
// version it was saved with, or from fresh parameters. reg receives the
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
		metrics:       NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"run": cfg.Run}, reg), spec.ActionNames),
		now:           time.Now,
		asm:           assembler{mode: cfg.Mode, maxLag: uint64(cfg.MaxPolicyLag), minActors: cfg.MinActors, perUpdate: cfg.RolloutsPerUpdate},
		actors:        newActorTracker(cfg.HeartbeatTimeout),
		seqs:          protocol.NewSeqTracker(4096),
		rollouts:      make(chan *protocol.Rollout, cfg.QueueCapacity),
		lifesigns:     make(chan lifesign, 1024),
		done:          make(chan struct{}),
		scenarioMeans: map[string]float64{},
		epoch:         randomEpoch(),
	}
	s.rejectLog = newRateLogger(s.log, 10*time.Second, s.now)
	for _, r := range protocol.Reasons() {
		s.metrics.RolloutsRejected.WithLabelValues(string(r))
	}
	if err := s.initModel(); err != nil {
		return nil, err
	}
	s.started = s.now()
	s.setStatus() // Status is valid from here on, also before Open
	return s, nil
}

// randomEpoch names this process's incarnation (crypto/rand.Read never
// fails: it crashes the program if the system's source does).
func randomEpoch() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
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
		{s.subj.WeightsLatest, s.onLatest},
		{s.subj.PolicyLatest, s.onLatest},
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
		return fmt.Errorf("learner: flush subscriptions: %w", err)
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

// Close stops the loop, unsubscribes and writes a final checkpoint. It
// does not close the NATS connection, which belongs to the caller.
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
	if s.upd.Version() != s.lastCkpt {
		_, err := s.checkpoint()
		errs = append(errs, err)
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

// loop owns the model: it takes validated rollouts and signs of life from
// the NATS handlers, reaps silent actors once a second, and updates
// whenever the batch is complete.
func (s *Service) loop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
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
		case l := <-s.lifesigns:
			s.touch(l.actor, l.incarnation)
		case now := <-tick.C:
			// Signs of life that queued while the loop was busy (a long
			// update or hook) count before anyone is declared lost.
			s.drainLifesigns()
			for _, id := range s.actors.reap(now) {
				s.metrics.ActorsLost.Inc()
				s.log.Warn("actor lost", "actor", id, "timeout", s.cfg.HeartbeatTimeout)
			}
			s.metrics.ActorsConnected.Set(float64(s.actors.count()))
			s.setStatus()
		}
		if s.finished() || !s.asm.ready(s.actors.live()) {
			continue
		}
		s.update()
	}
}

func (s *Service) drainLifesigns() {
	for {
		select {
		case l := <-s.lifesigns:
			s.touch(l.actor, l.incarnation)
		default:
			return
		}
	}
}

func (s *Service) touch(actor string, incarnation uint64) {
	if s.actors.touch(actor, incarnation, s.now()) {
		s.metrics.ActorsJoined.Inc()
		s.log.Info("actor joined", "actor", actor, "version", s.upd.Version())
	}
	s.metrics.ActorsConnected.Set(float64(s.actors.count()))
}
