package actor

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"podmedic/envsim"
	"podmedic/protocol"
)

// Actor collects rollouts with the latest policy and publishes them. New
// sets it up; Run owns its goroutines until the context ends.
type Actor struct {
	cfg     Config
	log     hclog.Logger
	nc      conn
	subj    protocol.Subjects
	lim     protocol.Limits
	metrics *Metrics
	col     *collector

	incarnation uint64
	seq         uint64
	epoch       uint64 // learner incarnation of the weights in use
	version     uint64
	haveWeights bool

	incoming atomic.Pointer[protocol.Weights] // newest broadcast not yet applied
	notify   chan struct{}                    // signalled when incoming changes
	buf      []byte
	buffered int // rollouts published while disconnected
	envSteps atomic.Int64
	lastSeq  atomic.Uint64
	curVer   atomic.Uint64
}

// New builds an actor over envs (one VecEnv slot each) that talks over nc,
// recording into m (see NewMetrics; actors of one process may share it).
// log may be nil.
func New(cfg Config, envs []envsim.Env, nc *nats.Conn, m *Metrics, log hclog.Logger) (*Actor, error) {
	return newActor(cfg, envs, natsConn{nc}, m, log)
}

func newActor(cfg Config, envs []envsim.Env, nc conn, m *Metrics, log hclog.Logger) (*Actor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(envs) == 0 {
		return nil, fmt.Errorf("%w: need at least one environment", ErrConfig)
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	subj, err := protocol.NewSubjects(cfg.Run)
	if err != nil {
		return nil, err
	}
	a := &Actor{
		cfg: cfg, log: log.Named("actor").With("actor", cfg.ID), nc: nc, subj: subj,
		lim:         protocol.DefaultLimits(),
		metrics:     m,
		incarnation: randomNonZero(),
		notify:      make(chan struct{}, 1),
	}
	a.col = newCollector(envs, cfg.Horizon, cfg.Seed, a.metrics)
	return a, nil
}

// randomNonZero draws an incarnation number (crypto/rand.Read never
// fails: it crashes the program if the system's source does).
func randomNonZero() uint64 {
	var b [8]byte
	for v := uint64(0); ; {
		_, _ = rand.Read(b[:])
		if v = binary.LittleEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// Run collects until ctx ends or MaxRollouts were published. It returns
// nil on a clean stop.
func (a *Actor) Run(ctx context.Context) error {
	unsubscribe, err := a.nc.Subscribe(a.subj.Weights, a.onWeights)
	if err != nil {
		return fmt.Errorf("actor: subscribe weights: %w", err)
	}
	defer func() {
		if err := unsubscribe(); err != nil {
			a.log.Warn("unsubscribe weights failed", "error", err)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.heartbeats(ctx)
	}()
	// Stop the heartbeats before waiting for them: Run also returns
	// before ctx ends (MaxRollouts).
	defer func() {
		cancel()
		wg.Wait()
	}()

	if err := a.sendHello(); err != nil {
		a.log.Warn("hello failed", "error", err)
	}
	if err := a.fetchWeights(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped before the learner answered: a clean stop
		}
		return err
	}
	a.col.reset()
	ahead := 0 // rollouts published with the current version
	for n := 0; a.cfg.MaxRollouts == 0 || n < a.cfg.MaxRollouts; n++ {
		if err := a.waitConnected(ctx); err != nil {
			return nil
		}
		prev := a.version
		a.applyIncoming()
		if a.version != prev {
			ahead = 0
		}
		version := a.version
		r := a.col.collect(version)
		r.PolicyEpoch = a.epoch
		if err := a.publish(r); err != nil {
			a.metrics.PublishErrors.Inc()
			a.log.Warn("publish rollout failed", "error", err, "seq", r.Seq)
		}
		if ctx.Err() != nil {
			return nil
		}
		ahead++
		if a.cfg.Mode == protocol.ModeSync || ahead >= a.cfg.MaxAhead {
			if err := a.waitNewer(ctx, version); err != nil {
				return nil
			}
			if a.version != version {
				ahead = 0
			}
		}
	}
	return nil
}

// publish encodes r into the reused buffer and sends it.
func (a *Actor) publish(r *protocol.Rollout) error {
	start := time.Now()
	defer func() { a.metrics.PublishSeconds.Add(time.Since(start).Seconds()) }()
	a.seq++
	r.ActorID, r.Incarnation, r.Seq = a.cfg.ID, a.incarnation, a.seq
	var err error
	a.buf, err = protocol.AppendRollout(a.buf[:0], r)
	if err != nil {
		return fmt.Errorf("encode rollout: %w", err)
	}
	if mp := a.nc.MaxPayload(); mp > 0 && int64(len(a.buf)) > mp {
		return fmt.Errorf("rollout of %d bytes exceeds the server's max payload %d: lower --envs or --horizon", len(a.buf), mp)
	}
	if err := a.nc.Publish(a.subj.Rollouts, a.buf); err != nil {
		return err
	}
	a.metrics.RolloutsPublished.Inc()
	a.metrics.PublishedBytes.Add(float64(len(a.buf)))
	a.lastSeq.Store(a.seq)
	a.envSteps.Add(int64(r.NumEnvs * r.Horizon))
	if !a.nc.IsConnected() {
		a.buffered++
		a.metrics.Buffered.Set(float64(a.buffered))
	}
	return nil
}

// waitConnected pauses collection while NATS is down and the reconnect
// buffer already holds MaxBuffered rollouts.
func (a *Actor) waitConnected(ctx context.Context) error {
	wait := 50 * time.Millisecond
	for !a.nc.IsConnected() && a.buffered >= a.cfg.MaxBuffered {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
	if a.nc.IsConnected() {
		a.buffered = 0
		a.metrics.Buffered.Set(0)
	}
	return nil
}

// accepts reports whether w should replace the weights in use: the first
// weights, any newer version, or any version from a new learner
// incarnation (a restarted learner resumes at its checkpoint's version,
// which may be older than what this actor last saw).
func (a *Actor) accepts(w *protocol.Weights) bool {
	return !a.haveWeights || w.Epoch != a.epoch || w.Version > a.version
}

// onWeights runs on the NATS goroutine: it validates a broadcast and hands
// it to the collection loop, which applies it between rollouts.
func (a *Actor) onWeights(data []byte) {
	w, err := a.decodeWeights(data)
	if err != nil {
		a.metrics.WeightsRejected.Inc()
		a.log.Warn("weights rejected", "error", err)
		return
	}
	for {
		old := a.incoming.Load()
		if old != nil && old.Epoch == w.Epoch && old.Version >= w.Version {
			return
		}
		if a.incoming.CompareAndSwap(old, w) {
			break
		}
	}
	select {
	case a.notify <- struct{}{}:
	default:
	}
}

func (a *Actor) decodeWeights(data []byte) (*protocol.Weights, error) {
	w, err := protocol.DecodeWeights(data, a.lim)
	if err != nil {
		return nil, err
	}
	if err := w.CheckShape(a.col.shape()); err != nil {
		return nil, err
	}
	return w, nil
}

// applyIncoming switches to the newest broadcast weights, if acceptable.
func (a *Actor) applyIncoming() {
	w := a.incoming.Swap(nil)
	if w == nil || !a.accepts(w) {
		return
	}
	if err := a.col.setWeights(w); err != nil {
		a.metrics.WeightsRejected.Inc()
		a.log.Warn("weights rejected", "error", err, "version", w.Version)
		return
	}
	if a.haveWeights && w.Epoch != a.epoch {
		a.log.Info("learner restarted, re-synced", "version", w.Version)
	}
	a.haveWeights, a.epoch, a.version = true, w.Epoch, w.Version
	a.curVer.Store(w.Version)
	a.metrics.WeightsVersion.Set(float64(w.Version))
}

// requestLatest asks weights.latest once and applies the answer if it is
// acceptable. It reports whether weights are now in use.
func (a *Actor) requestLatest(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, a.cfg.WeightsTimeout)
	defer cancel()
	data, err := a.nc.Request(rctx, a.subj.WeightsLatest, nil)
	if err != nil {
		return fmt.Errorf("request latest weights: %w", err)
	}
	w, err := a.decodeWeights(data)
	if err != nil {
		a.metrics.WeightsRejected.Inc()
		return fmt.Errorf("latest weights: %w", err)
	}
	a.incoming.Store(w)
	a.applyIncoming()
	return nil
}

// fetchWeights asks weights.latest until it gets usable weights, with
// back-off, so a new actor never collects with untrained parameters.
func (a *Actor) fetchWeights(ctx context.Context) error {
	wait := 100 * time.Millisecond
	for {
		err := a.requestLatest(ctx)
		if err == nil && a.haveWeights {
			a.log.Info("weights fetched", "version", a.version)
			return nil
		}
		a.log.Debug("waiting for the learner", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("actor: no weights from the learner: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// waitNewer blocks until weights newer than version (or from a restarted
// learner) are applied. Every SyncWait without news it asks
// weights.latest, which also recovers from a lost broadcast; if the
// learner is still at version, it returns so that the actor sends a fresh
// rollout (the previous one may have been lost).
func (a *Actor) waitNewer(ctx context.Context, version uint64) error {
	epoch := a.epoch
	timer := time.NewTimer(a.cfg.SyncWait)
	defer timer.Stop()
	for {
		a.applyIncoming()
		if a.version != version || a.epoch != epoch {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.notify:
		case <-timer.C:
			if err := a.requestLatest(ctx); err != nil {
				a.log.Debug("latest weights unavailable", "error", err)
			}
			if a.version == version && a.epoch == epoch {
				a.log.Debug("no new version, collecting again", "version", version)
			}
			return nil
		}
	}
}

func (a *Actor) sendHello() error {
	h := &protocol.Hello{
		ActorID: a.cfg.ID, Incarnation: a.incarnation, NumEnvs: a.col.numEnvs(), Horizon: a.cfg.Horizon,
		ObsSize: a.col.obsSize, NumActions: a.col.numActions,
	}
	data, err := protocol.EncodeHello(h, int(a.nc.MaxPayload()))
	if err != nil {
		return err
	}
	return a.nc.Publish(a.subj.Hello, data)
}

// heartbeats announces the actor every HeartbeatInterval until ctx ends.
func (a *Actor) heartbeats(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h := &protocol.Heartbeat{
				ActorID: a.cfg.ID, Incarnation: a.incarnation, Seq: a.lastSeq.Load(),
				WeightsVersion: a.curVer.Load(), EnvSteps: uint64(a.envSteps.Load()), UnixNano: now.UnixNano(),
			}
			data, err := protocol.EncodeHeartbeat(h, int(a.nc.MaxPayload()))
			if err == nil {
				err = a.nc.Publish(a.subj.Heartbeat, data)
			}
			if err != nil {
				a.log.Debug("heartbeat failed", "error", err)
			}
		}
	}
}
