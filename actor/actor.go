package actor

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"podmedic/envsim"
	"podmedic/internal/ratelog"
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
	// retired are the epochs this actor has moved on from, newest last:
	// weights of a retired epoch (a fenced learner's late message) are
	// ignored. Owned by the collection loop.
	retired []uint64

	// Membership (membership.go).
	token     atomic.Uint64 // member token; 0 while not a member
	joined    chan struct{} // signalled when the actor becomes a member
	fatal     chan struct{} // closed when the learner refused the actor for good
	fatalOnce sync.Once
	fatalErrV atomic.Pointer[error]
	warnLog   *ratelog.Logger // rejected weights, refusals: rate-limited

	silenceMu     sync.Mutex
	silentSince   time.Time // first unanswered request since the last answer
	silenceWarned bool
	nextWarn      time.Duration

	weightsRequest []byte        // encoded WeightsRequest naming this actor
	inbox          inbox         // broadcasts not yet applied
	notify         chan struct{} // signalled when the inbox changes
	// again: pipelined mode, the weights in use are the first of a
	// learner, so the next rollout is collected with them too.
	again    bool
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
		joined:      make(chan struct{}, 1),
		fatal:       make(chan struct{}),
	}
	a.warnLog = ratelog.New(a.log, warnLogInterval, 1, nil)
	a.col = newCollector(envs, cfg.Horizon, cfg.Seed, a.metrics)
	if a.weightsRequest, err = protocol.EncodeWeightsRequest(&protocol.WeightsRequest{ActorID: cfg.ID}); err != nil {
		return nil, fmt.Errorf("actor: %w", err)
	}
	return a, nil
}

// warnLogInterval: at most one line per kind of rejected message or
// refusal per interval; the counters in /metrics have every one.
const warnLogInterval = 10 * time.Second

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

// Run joins the run, collects until ctx ends or MaxRollouts were
// published, then says goodbye. It returns nil on a clean stop, and an
// error wrapping ErrRefused if the learner refuses the actor for good.
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
	mctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.keepMembership(mctx)
	}()
	// Stop the membership goroutine before saying goodbye: Run also
	// returns before ctx ends (MaxRollouts).
	defer func() {
		cancel()
		wg.Wait()
		a.goodbye()
	}()
	err = a.collect(ctx)
	if ctx.Err() != nil && !errors.Is(err, ErrRefused) {
		return nil // stopped: a clean stop
	}
	return err
}

// collect is Run's loop: become a member, get weights, then collect and
// publish rollouts with backpressure.
func (a *Actor) collect(ctx context.Context) error {
	if err := a.waitMember(ctx); err != nil {
		return err
	}
	if err := a.fetchWeights(ctx); err != nil {
		return err
	}
	a.col.reset()
	ahead := 0 // rollouts published with the current version
	for n := 0; a.cfg.MaxRollouts == 0 || n < a.cfg.MaxRollouts; n++ {
		if err := a.waitConnected(ctx); err != nil {
			return err
		}
		if a.cfg.Mode != protocol.ModePipelined {
			prev := a.version
			a.applyIncoming()
			if a.version != prev {
				ahead = 0
			}
		}
		version := a.version
		r := a.col.collect(version)
		r.PolicyEpoch = a.epoch
		// A rollout is only worth sending as a member (after a learner
		// restart the actor says hello again first).
		if err := a.waitMember(ctx); err != nil {
			return err
		}
		if err := a.publish(r); err != nil {
			a.metrics.PublishErrors.Inc()
			a.warnLog.Warn("publish", "publish rollout failed", "error", err, "seq", r.Seq)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ahead++
		if a.cfg.Mode == protocol.ModePipelined {
			if err := a.waitSuccessor(ctx, version); err != nil {
				return err
			}
			continue
		}
		if a.cfg.Mode == protocol.ModeSync || ahead >= a.cfg.MaxAhead {
			if err := a.waitNewer(ctx, version); err != nil {
				return err
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
	r.ActorID, r.Incarnation, r.Seq, r.MemberToken = a.cfg.ID, a.incarnation, a.seq, a.token.Load()
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
	if slices.Contains(a.retired, w.Epoch) {
		// A learner this actor has seen replaced: its late weights are
		// another line of training than the successor's.
		return false
	}
	return !a.haveWeights || w.Epoch != a.epoch || w.Version > a.version
}

// maxRetired bounds the epochs an actor remembers having left.
const maxRetired = 16

// onWeights runs on the NATS goroutine: it validates a broadcast and hands
// it to the collection loop, which applies it between rollouts.
func (a *Actor) onWeights(data []byte) {
	w, err := a.decodeWeights(data)
	if err != nil {
		a.rejectWeights(err)
		return
	}
	if !a.inbox.put(w) {
		return
	}
	select {
	case a.notify <- struct{}{}:
	default:
	}
}

// rejectWeights counts refused weights and logs them at most once per
// interval and reason.
func (a *Actor) rejectWeights(err error) {
	a.metrics.WeightsRejected.Inc()
	reason := protocol.ReasonOf(err)
	a.warnLog.Warn("weights/"+string(reason), "weights rejected", "reason", reason, "error", err)
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
func (a *Actor) applyIncoming() { a.use(a.inbox.takeNewest()) }

// use switches to w, if there is one and it is acceptable.
func (a *Actor) use(w *protocol.Weights) {
	if w == nil || !a.accepts(w) {
		return
	}
	if err := a.col.setWeights(w); err != nil {
		a.rejectWeights(fmt.Errorf("version %d: %w", w.Version, err))
		return
	}
	if a.haveWeights && w.Epoch != a.epoch {
		a.log.Info("learner restarted, re-synced", "version", w.Version, "epoch", w.Epoch)
		a.retired = append(a.retired, a.epoch)
		if len(a.retired) > maxRetired {
			a.retired = a.retired[1:]
		}
	}
	// Pipelined: the first weights of a learner start its pipeline with
	// a second rollout of the same version (protocol.ModePipelined).
	a.again = !a.haveWeights || w.Epoch != a.epoch
	a.haveWeights, a.epoch, a.version = true, w.Epoch, w.Version
	a.curVer.Store(w.Version)
	a.metrics.WeightsVersion.Set(float64(w.Version))
}

// requestLatest asks weights.latest once and applies the answer if it is
// acceptable. It reports whether weights are now in use.
func (a *Actor) requestLatest(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, a.cfg.WeightsTimeout)
	defer cancel()
	data, err := a.nc.Request(rctx, a.subj.WeightsLatest, a.weightsRequest)
	if err != nil {
		if ctx.Err() == nil {
			a.noteSilence(a.subj.WeightsLatest, err)
		}
		return fmt.Errorf("request latest weights: %w", err)
	}
	a.noteAnswer()
	w, err := a.decodeWeights(data)
	if err != nil {
		a.rejectWeights(err)
		return fmt.Errorf("latest weights: %w", err)
	}
	a.inbox.put(w)
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
	return a.waitApplied(ctx, version, a.applyIncoming)
}

// waitApplied calls apply until the weights in use are no longer version
// of the current learner, waking on each broadcast; after SyncWait without
// that it asks weights.latest once and returns either way.
func (a *Actor) waitApplied(ctx context.Context, version uint64, apply func()) error {
	epoch := a.epoch
	timer := time.NewTimer(a.cfg.SyncWait)
	defer timer.Stop()
	for {
		apply()
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

// waitSuccessor is pipelined mode's wait after a rollout collected with
// version: the next rollout uses exactly version+1, the weights the
// learner makes from the batch that rollout is part of, which it can
// only broadcast once that rollout is in; so the actor collects one
// version behind the learner, whatever the timing, and a seeded run is
// reproducible. Two exceptions: after the first weights of a learner the
// next rollout uses them again (that second rollout is what the learner
// trains on while the actor waits for version+1, the pipeline), and
// weights of a new learner (a restart) are taken as soon as the inbox
// holds no successor of the old one's. Like waitNewer,
// after SyncWait without news it asks weights.latest and goes on with
// whatever it has.
func (a *Actor) waitSuccessor(ctx context.Context, version uint64) error {
	if a.again {
		a.again = false
		a.use(a.inbox.takeNewEpoch(a.epoch))
		return nil
	}
	epoch := a.epoch
	return a.waitApplied(ctx, version, func() {
		// The successor first: a retired learner's late message (which
		// takeNewEpoch would return, and use refuse) must not make it
		// drop the successor it holds.
		if w := a.inbox.take(epoch, version+1); w != nil {
			a.use(w)
		} else {
			a.use(a.inbox.takeNewEpoch(epoch))
		}
	})
}

// inboxSize is how many broadcasts an actor keeps unapplied. Pipelined
// mode needs the one after the version in use even when a later one has
// arrived too (the learner can be that fast); more than two are never
// needed there, and the other modes only look at the newest.
const inboxSize = 4

// inbox holds the newest broadcasts not yet applied, oldest first, in
// the order the learner published them: onWeights (a NATS goroutine)
// puts, the collection loop takes. Safe for concurrent use.
type inbox struct {
	mu sync.Mutex
	w  []*protocol.Weights
}

// put adds w unless the newest held weights are of the same learner and
// at least as new; it reports whether w was added.
func (b *inbox) put(w *protocol.Weights) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.w); n > 0 && b.w[n-1].Epoch == w.Epoch && b.w[n-1].Version >= w.Version {
		return false
	}
	if len(b.w) == inboxSize {
		b.w = append(b.w[:0], b.w[1:]...)
	}
	b.w = append(b.w, w)
	return true
}

// takeNewest empties the inbox and returns the newest weights, or nil.
func (b *inbox) takeNewest() *protocol.Weights {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.w) == 0 {
		return nil
	}
	w := b.w[len(b.w)-1]
	b.w = b.w[:0]
	return w
}

// take returns the weights of epoch and version, dropping them and
// everything older. If they are not there but newer ones of epoch are,
// they will never come (a lost broadcast, or more than inboxSize arrived
// at once), and it returns the newest instead, emptying the inbox. nil if
// neither.
func (b *inbox) take(epoch, version uint64) *protocol.Weights {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, w := range b.w {
		if w.Epoch == epoch && w.Version == version {
			b.w = append(b.w[:0], b.w[i+1:]...)
			return w
		}
	}
	if n := len(b.w); n > 0 && b.w[n-1].Epoch == epoch && b.w[n-1].Version > version {
		w := b.w[n-1]
		b.w = b.w[:0]
		return w
	}
	return nil
}

// takeNewEpoch returns the newest weights of a learner other than epoch
// (a restarted one) and empties the inbox; nil, leaving it as it is, if
// there are none.
func (b *inbox) takeNewEpoch(epoch uint64) *protocol.Weights {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.w)
	if n == 0 || b.w[n-1].Epoch == epoch {
		return nil
	}
	w := b.w[n-1]
	b.w = b.w[:0]
	return w
}
