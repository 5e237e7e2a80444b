package learner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"podmedic/internal/jsstore"
)

// FailoverConfig configures a learner that trains only while it holds its
// run's lease, so that any number of learners of one run may start and
// exactly one trains.
type FailoverConfig struct {
	// Service configures every term; Failover sets its Epoch, Fence and
	// Store.
	Service ServiceConfig
	// Spec is the environment's.
	Spec EnvSpec
	// Lease is the run's lease, opened under this learner's name.
	Lease *jsstore.Lease
	// Checkpoints is the run's checkpoint store, resumed from at every
	// takeover.
	Checkpoints *jsstore.Checkpoints
	// Mirror, if set, keeps a copy of every checkpoint (a DirStore on the
	// learner's own volume: podmedic learner --store both).
	Mirror CheckpointStore
	// Policies, if set, receives every published snapshot (from a
	// goroutine of its own, newest first when it falls behind).
	Policies *jsstore.Policies
	// Hooks are installed on every term's service; Failover adds its own
	// Snapshot hook in front of Hooks.Snapshot.
	Hooks Hooks
	// Poll is how often a standby tries to take the lease; 0 means a tenth
	// of the lease TTL.
	Poll time.Duration
	// CloseTimeout bounds a term's shutdown (the final checkpoint); 0
	// means 30 s.
	CloseTimeout time.Duration
}

// Failover runs the learner under the run's lease (internal/jsstore): a
// standby until the lease is free; then a term: a Service resumed from the
// newest checkpoint in the JetStream store, at its policy version, with
// the lease epoch on its weights, that broadcasts at once; until the lease
// is lost (fenced: it stops publishing and writing before a successor can
// start) or the context ends (a last checkpoint, then the lease is handed
// over at once). NewFailover sets it up, Run blocks, Handler serves HTTP
// in both roles.
type Failover struct {
	cfg     FailoverConfig
	nc      *nats.Conn
	log     hclog.Logger
	reg     *prometheus.Registry
	metrics *LeaseMetrics
	active  atomic.Pointer[term]
	last    atomic.Pointer[TermReport]
}

// TermReport describes a term that ended.
type TermReport struct {
	// Epoch of the term; Resumed and Version the policy versions it began
	// and ended at.
	Epoch, Resumed, Version uint64
	// Lost is true when the lease was lost (fenced), false when the term
	// ended with Run's context.
	Lost bool
	// Checkpoint is the newest checkpoint the term wrote and verified (or
	// resumed from); HasCheckpoint is false if there is none.
	Checkpoint    CheckpointInfo
	HasCheckpoint bool
}

// LastTerm reports the last term that ended, if any.
func (f *Failover) LastTerm() (TermReport, bool) {
	if p := f.last.Load(); p != nil {
		return *p, true
	}
	return TermReport{}, false
}

// term is one holding of the lease.
type term struct {
	svc *Service
	h   http.Handler // svc.Handler()
	reg *prometheus.Registry
}

// LeaseMetrics say which learner is active and how often the lease moved.
// They live on the process's registry, across terms, labelled with the
// run and the learner's name.
type LeaseMetrics struct {
	Active        prometheus.Gauge
	Epoch         prometheus.Gauge
	Takeovers     prometheus.Counter
	Lost          prometheus.Counter
	Resumed       prometheus.Gauge
	ResumeSeconds prometheus.Gauge
	PolicyStore   *prometheus.CounterVec // by result
}

// NewLeaseMetrics registers the lease metrics on reg.
func NewLeaseMetrics(reg prometheus.Registerer) *LeaseMetrics {
	m := &LeaseMetrics{
		Active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_learner_lease_active", Help: "1 while this learner holds the run's lease and trains, 0 while it stands by."}),
		Epoch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_learner_lease_epoch", Help: "Epoch of this learner's current or last term (the lease's revision when acquired; rises with every takeover)."}),
		Takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_lease_takeovers_total", Help: "Terms this learner began on a lease some learner had held before (a crash, partition or handover of the previous one)."}),
		Lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podmedic_learner_lease_lost_total", Help: "Terms that ended because the lease was lost (not renewed in time, or taken over): fenced, the learner stopped publishing."}),
		Resumed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_learner_resumed_version", Help: "Policy version the current or last term resumed at (from the newest checkpoint in the store)."}),
		ResumeSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podmedic_learner_resume_seconds", Help: "Time from acquiring the lease to the first weights broadcast of the current or last term (reading the checkpoint, rebuilding the model)."}),
		PolicyStore: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podmedic_learner_policy_store_total", Help: "Policy snapshots offered to the JetStream policy store, by result (stored, failed, fenced, skipped: replaced by a newer one before it was stored)."}, []string{"result"}),
	}
	for _, r := range []string{"stored", "failed", "fenced", "skipped"} {
		m.PolicyStore.WithLabelValues(r)
	}
	reg.MustRegister(m.Active, m.Epoch, m.Takeovers, m.Lost, m.Resumed, m.ResumeSeconds, m.PolicyStore)
	return m
}

// NewFailover prepares a learner under cfg.Lease. reg is the process's
// registry: the lease metrics go there (labelled run and learner), and
// Handler's /metrics serves it with the active term's metrics.
func NewFailover(cfg FailoverConfig, nc *nats.Conn, reg *prometheus.Registry, log hclog.Logger) (*Failover, error) {
	if cfg.Lease == nil || cfg.Checkpoints == nil {
		return nil, errors.New("learner: failover needs a lease and a checkpoint store")
	}
	if err := cfg.Service.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Spec.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 30 * time.Second
	}
	labels := prometheus.Labels{"run": cfg.Service.Run, "learner": cfg.Lease.Holder()}
	return &Failover{cfg: cfg, nc: nc, log: log.Named("failover"), reg: reg,
		metrics: NewLeaseMetrics(prometheus.WrapRegistererWith(labels, reg))}, nil
}

// Service is the active term's service, nil while standing by.
func (f *Failover) Service() *Service {
	if t := f.active.Load(); t != nil {
		return t.svc
	}
	return nil
}

// Run campaigns for the lease and trains while holding it, until ctx ends.
// It returns an error only for what another term cannot mend (a checkpoint
// store whose checkpoints are all invalid, a bad configuration).
func (f *Failover) Run(ctx context.Context) error {
	el := &jsstore.Elector{Lease: f.cfg.Lease, Log: f.log, Poll: f.cfg.Poll}
	return el.Run(ctx, f.lead)
}

// lead is one term.
func (f *Failover) lead(ctx context.Context, epoch uint64) error {
	acquired := time.Now()
	lease := f.cfg.Lease
	var store CheckpointStore = &JetStreamStore{Checkpoints: f.cfg.Checkpoints, Epoch: epoch, Fence: lease.Held}
	if f.cfg.Mirror != nil {
		store = &MirrorStore{Primary: store, Mirror: f.cfg.Mirror, Keep: f.cfg.Service.KeepCheckpoints}
	}
	scfg := f.cfg.Service
	scfg.Epoch, scfg.Fence, scfg.Store = epoch, lease.Held, store
	treg := prometheus.NewRegistry()
	svc, err := NewService(scfg, f.cfg.Spec, f.nc, treg, f.log)
	if err != nil {
		if errors.Is(err, ErrNoValidCheckpoint) || errors.Is(err, ErrVersion) {
			return err // no other term can do better
		}
		return f.giveUp(ctx, "resume failed", err)
	}
	hooks := f.cfg.Hooks
	var wg sync.WaitGroup
	uctx, stopUploads := context.WithCancel(context.WithoutCancel(ctx))
	defer func() { stopUploads(); wg.Wait() }()
	if f.cfg.Policies != nil {
		up := f.uploader()
		next := hooks.Snapshot
		hooks.Snapshot = func(ev SnapshotEvent) {
			up.Offer(jsstore.PolicyInfo{Version: ev.Version, Epoch: ev.Epoch, Score: ev.Score, Metrics: ev.Metrics}, ev.Snapshot)
			if next != nil {
				next(ev)
			}
		}
		wg.Add(1)
		go func() { defer wg.Done(); up.Run(uctx) }()
	}
	svc.SetHooks(hooks)
	if err := svc.Open(ctx); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.CloseTimeout)
		defer cancel()
		return f.giveUp(ctx, "open failed", errors.Join(err, svc.Close(cctx)))
	}
	resumed := svc.Status().Version
	f.active.Store(&term{svc: svc, h: svc.Handler(), reg: treg})
	f.metrics.Active.Set(1)
	f.metrics.Epoch.Set(float64(epoch))
	f.metrics.Resumed.Set(float64(resumed))
	f.metrics.ResumeSeconds.Set(time.Since(acquired).Seconds())
	if epoch > 1 {
		f.metrics.Takeovers.Inc()
	}
	f.log.Info("active: trains under the lease", "epoch", epoch, "version", resumed, "resume_seconds", time.Since(acquired).Seconds())

	<-ctx.Done()
	lost := !lease.Held()
	f.active.Store(nil)
	f.metrics.Active.Set(0)
	if lost {
		f.metrics.Lost.Inc()
		f.log.Warn("lease lost: fenced, no more broadcasts or writes", "epoch", epoch, "version", svc.Status().Version)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.CloseTimeout)
	defer cancel()
	if err := svc.Close(cctx); err != nil {
		f.log.Warn("closing the term", "epoch", epoch, "error", err)
	}
	rep := TermReport{Epoch: epoch, Resumed: resumed, Version: svc.Status().Version, Lost: lost}
	rep.Checkpoint, rep.HasCheckpoint = svc.LastCheckpoint()
	f.last.Store(&rep)
	f.log.Info("term ended", "epoch", epoch, "version", rep.Version, "lost", lost, "checkpoint", rep.Checkpoint.Location)
	return nil
}

// giveUp ends a term that could not start (the store unreachable, say):
// the lease goes back, and after a pause this learner campaigns again.
func (f *Failover) giveUp(ctx context.Context, what string, err error) error {
	f.log.Error("giving the lease back: "+what, "error", err)
	select {
	case <-ctx.Done():
	case <-time.After(f.cfg.Lease.TTL()):
	}
	return nil
}

// uploader puts published snapshots into the policy store, counting the
// results.
func (f *Failover) uploader() *jsstore.Uploader {
	up := jsstore.NewUploader(f.cfg.Policies, f.cfg.Lease.Held)
	skipped := 0
	up.OnResult = func(in jsstore.PolicyInfo, err error) {
		switch {
		case err == nil:
			f.metrics.PolicyStore.WithLabelValues("stored").Inc()
		case errors.Is(err, jsstore.ErrFenced):
			f.metrics.PolicyStore.WithLabelValues("fenced").Inc()
		default:
			f.metrics.PolicyStore.WithLabelValues("failed").Inc()
			f.log.Warn("policy store: snapshot not stored", "version", in.Version, "error", err)
		}
		if s := up.Skipped(); s > skipped {
			f.metrics.PolicyStore.WithLabelValues("skipped").Add(float64(s - skipped))
			skipped = s
		}
	}
	return up
}

// Handler serves /metrics (the lease metrics and the process's, plus the
// active term's), /healthz and /v1/policy: the active service's, or, on
// standby, a 200 status naming the holder and a 503 for the policy (the
// active learner and the policy store serve it).
func (f *Failover) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		g := prometheus.Gatherers{f.reg}
		if t := f.active.Load(); t != nil {
			g = append(g, t.reg)
		}
		promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
	standby := func(w http.ResponseWriter, r *http.Request) bool {
		t := f.active.Load()
		if t != nil {
			t.h.ServeHTTP(w, r)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !standby(w, r) {
			return
		}
		body := struct {
			Role   string `json:"role"`
			NATS   string `json:"nats"`
			Holder string `json:"holder,omitempty"`
			Epoch  uint64 `json:"epoch,omitempty"`
			Error  string `json:"unhealthy,omitempty"`
		}{Role: "standby", NATS: f.nc.Status().String()}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if rec, _, ok, err := f.cfg.Lease.Current(ctx); err == nil && ok {
			body.Holder, body.Epoch = rec.Holder, rec.Epoch
		}
		w.Header().Set("Content-Type", "application/json")
		if !f.nc.IsConnected() {
			body.Error = "not connected to NATS (" + body.NATS + "): cannot take over"
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if err := json.NewEncoder(w).Encode(body); err != nil {
			f.log.Debug("write healthz failed", "error", err)
		}
	})
	mux.HandleFunc("GET /v1/policy", func(w http.ResponseWriter, r *http.Request) {
		if standby(w, r) {
			http.Error(w, fmt.Sprintf("standby learner %s: the active learner serves the policy, and `podmedic policy get` reads it from the store",
				f.cfg.Lease.Holder()), http.StatusServiceUnavailable)
		}
	})
	return mux
}
