package train

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"podmedic/actor"
	"podmedic/envsim"
	"podmedic/internal/natsserver"
	"podmedic/internal/policywire"
	"podmedic/learner"
	"podmedic/policy"
	"podmedic/protocol"
)

// Trainer is one run: New builds the environments and checks the
// configuration, Open starts the NATS server, the learner and the actors,
// Done closes when training has ended, Close stops everything and returns
// the result. Run does all of it.
type Trainer struct {
	cfg   Config
	lcfg  learner.ServiceConfig
	cb    Callbacks
	spec  learner.EnvSpec
	envs  [][]envsim.Env // per actor
	eval  *evaluator
	log   hclog.Logger
	reg   *prometheus.Registry
	begun time.Time

	ns          *server.Server
	lnc         *nats.Conn
	svc         *learner.Service
	actorConns  []*nats.Conn
	stopActors  context.CancelFunc
	actorsWG    sync.WaitGroup
	actorErrsMu sync.Mutex
	actorErrs   []error

	// Written by the hooks on the learner's loop goroutine; read after the
	// loop has stopped (Close) or under mu.
	mu         sync.Mutex
	ended      bool
	stopReason StopReason
	cbErr      error
}

// Run trains with cfg on environments from newEnv until the budget is
// consumed, a callback or stop rule ends training, or ctx ends; then it
// stops everything and returns the result. When ctx ended first the
// result is the policy so far, with StopInterrupted, and the error wraps
// ctx's.
func Run(ctx context.Context, cfg Config, newEnv EnvFactory, cb Callbacks) (*Result, error) {
	t, err := New(cfg, newEnv, cb)
	if err != nil {
		return nil, err
	}
	if err := t.Open(ctx); err != nil {
		_, cerr := t.Close(context.Background())
		return nil, errors.Join(err, cerr)
	}
	interrupted := false
	select {
	case <-t.Done():
	case <-ctx.Done():
		interrupted = true
	}
	res, err := t.Close(context.Background())
	if interrupted && res != nil && res.StopReason == StopInterrupted {
		return res, errors.Join(fmt.Errorf("train: %w", ctx.Err()), err)
	}
	return res, err
}

// New checks cfg and builds every training and evaluation environment, so
// that a bad factory fails here, before anything starts.
func New(cfg Config, newEnv EnvFactory, cb Callbacks) (*Trainer, error) {
	lcfg, err := cfg.resolved()
	if err != nil {
		return nil, err
	}
	if newEnv == nil {
		return nil, fmt.Errorf("%w: no environment factory", ErrConfig)
	}
	t := &Trainer{cfg: cfg, lcfg: lcfg, cb: cb, log: cfg.Log, reg: cfg.Registry}
	if t.log == nil {
		t.log = hclog.NewNullLogger()
	}
	if t.reg == nil {
		t.reg = prometheus.NewRegistry()
	}
	var first envsim.Env
	for a := 0; a < cfg.Actors; a++ {
		envs := make([]envsim.Env, cfg.EnvsPerActor)
		for k := range envs {
			i := a*cfg.EnvsPerActor + k
			e, err := newEnv(i)
			if err != nil {
				return nil, fmt.Errorf("train: env %d: %w", i, err)
			}
			if e == nil {
				return nil, fmt.Errorf("train: env %d: factory returned nil", i)
			}
			if first == nil {
				first = e
			} else if e.ObservationSize() != first.ObservationSize() || e.NumActions() != first.NumActions() {
				return nil, fmt.Errorf("%w: env %d has %d observations and %d actions, env 0 %d and %d", ErrConfig,
					i, e.ObservationSize(), e.NumActions(), first.ObservationSize(), first.NumActions())
			}
			envs[k] = e
		}
		t.envs = append(t.envs, envs)
	}
	t.spec = learner.EnvSpec{ObsSize: first.ObservationSize(), NumActions: first.NumActions(),
		ActionNames: cfg.ActionNames, ObsNames: cfg.ObsNames}
	if err := t.spec.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cb.Eval != nil {
		ecfg := cb.Eval.withDefaults()
		if err := ecfg.validate(); err != nil {
			return nil, err
		}
		if t.eval, err = newEvaluator(ecfg, t.spec.ObsSize, t.spec.NumActions); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Open starts an embedded NATS server on a random loopback port, the
// learner (resuming from Learner.CheckpointDir if it holds a checkpoint)
// and the actors, each on its own connection.
func (t *Trainer) Open(ctx context.Context) error {
	if t.ns != nil {
		return errors.New("train: already open")
	}
	t.begun = time.Now()
	ns, err := natsserver.Start(natsserver.Config{Port: -1})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.ns = ns
	if t.lnc, err = t.connect("podmedic-learner", nil); err != nil {
		return err
	}
	t.svc, err = learner.NewService(t.lcfg, t.spec, t.lnc, t.reg, t.log)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.svc.SetHooks(learner.Hooks{Episode: t.onEpisode, Update: t.onUpdate})
	if err := t.svc.Open(ctx); err != nil {
		t.svc = nil
		return fmt.Errorf("train: %w", err)
	}
	m := actor.NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"run": t.lcfg.Run}, t.reg))
	actx, stop := context.WithCancel(ctx)
	t.stopActors = stop
	t.actorErrs = make([]error, len(t.envs))
	for i, envs := range t.envs {
		acfg := t.cfg.actorConfig(i)
		nc, err := t.connect("podmedic-"+acfg.ID, m.Reconnects.Inc)
		if err != nil {
			return err
		}
		t.actorConns = append(t.actorConns, nc)
		a, err := actor.New(acfg, envs, nc, m, t.log)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		t.actorsWG.Add(1)
		go func() {
			defer t.actorsWG.Done()
			err := a.Run(actx)
			t.actorErrsMu.Lock()
			t.actorErrs[i] = err
			t.actorErrsMu.Unlock()
		}()
	}
	return nil
}

// connect dials the embedded server, logging disconnections.
func (t *Trainer) connect(name string, onReconnect func()) (*nats.Conn, error) {
	nc, err := nats.Connect(t.ns.ClientURL(), nats.Name(name),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				t.log.Warn("nats disconnected", "client", name, "error", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			if onReconnect != nil {
				onReconnect()
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			t.log.Warn("nats async error", "client", name, "error", err)
		}))
	if err != nil {
		return nil, fmt.Errorf("train: connect %s to the embedded NATS server: %w", name, err)
	}
	return nc, nil
}

// Done is closed when training has ended (budget, callback or stop rule);
// the learner keeps serving its policy until Close.
func (t *Trainer) Done() <-chan struct{} {
	if t.svc == nil {
		return nil
	}
	return t.svc.Done()
}

// Service returns the learner service (for its HTTP handler and Status),
// nil before Open.
func (t *Trainer) Service() *learner.Service { return t.svc }

// Registry returns the registry holding the run's metrics.
func (t *Trainer) Registry() *prometheus.Registry { return t.reg }

// Spec returns what the learner knows of the environments.
func (t *Trainer) Spec() learner.EnvSpec { return t.spec }

// LearnerConfig returns the learner configuration in use (with the fields
// New derives).
func (t *Trainer) LearnerConfig() learner.ServiceConfig { return t.lcfg }

// Close stops the actors, then the learner (which writes its final
// checkpoint), then the NATS server, and returns the result. The error
// reports a failed shutdown or a callback's error (not ErrStop).
func (t *Trainer) Close(ctx context.Context) (*Result, error) {
	if t.stopActors != nil {
		t.stopActors()
	}
	t.actorsWG.Wait()
	for _, nc := range t.actorConns {
		nc.Close()
	}
	t.actorConns = nil
	var errs []error
	var res *Result
	if t.svc != nil {
		errs = append(errs, t.svc.Close(ctx))
		r, err := t.result()
		res = r
		errs = append(errs, err)
	}
	if t.lnc != nil {
		t.lnc.Close()
		t.lnc = nil
	}
	if t.ns != nil {
		t.ns.Shutdown()
		t.ns.WaitForShutdown()
		t.ns = nil
	}
	t.mu.Lock()
	if t.cbErr != nil {
		errs = append(errs, t.cbErr)
	}
	t.mu.Unlock()
	t.actorErrsMu.Lock()
	for i, err := range t.actorErrs {
		if err != nil && !errors.Is(err, context.Canceled) {
			t.log.Warn("actor stopped with an error", "actor", i, "error", err)
		}
	}
	t.actorErrsMu.Unlock()
	return res, errors.Join(errs...)
}

// Result is the outcome of a run.
type Result struct {
	// Weights is the final policy as actors and evaluate receive it
	// (protocol.WriteSnapshotFile writes it as a snapshot file).
	Weights *protocol.Weights
	// Snapshot is the same policy, ready for policy.NewAgent.
	Snapshot policy.Snapshot
	// Version, Updates and EnvSteps are the learner's final counters.
	Version  uint64
	Updates  int64
	EnvSteps int64
	// StopReason says why training ended.
	StopReason StopReason
	// Evals holds every evaluation in order (with Callbacks.Eval).
	Evals []EvalResult
	// Elapsed is the wall time from Open to Close.
	Elapsed time.Duration
}

// Best returns the evaluation with the best mean return, or nil.
func (r *Result) Best() *EvalResult {
	var best *EvalResult
	for i := range r.Evals {
		if r.Evals[i].Best {
			best = &r.Evals[i]
		}
	}
	return best
}

// result builds the Result once the learner's loop has stopped.
func (t *Trainer) result() (*Result, error) {
	w, err := protocol.DecodeWeights(t.svc.Weights(), protocol.SnapshotLimits())
	if err != nil {
		return nil, fmt.Errorf("train: final policy: %w", err)
	}
	snap, err := policywire.Snapshot(w)
	if err != nil {
		return nil, fmt.Errorf("train: final policy: %w", err)
	}
	st := t.svc.Status()
	res := &Result{Weights: w, Snapshot: snap, Version: st.Version, Updates: st.Updates, EnvSteps: st.EnvSteps,
		Elapsed: time.Since(t.begun)}
	t.mu.Lock()
	res.StopReason = t.stopReason
	t.mu.Unlock()
	if res.StopReason == "" {
		res.StopReason = StopInterrupted
		if st.Finished {
			res.StopReason = StopBudget
		}
	}
	if t.eval != nil {
		res.Evals = append([]EvalResult(nil), t.eval.results...)
	}
	return res, nil
}

// snapshot decodes the learner's current weights.
func (t *Trainer) snapshot() (policy.Snapshot, error) {
	w, err := protocol.DecodeWeights(t.svc.Weights(), protocol.SnapshotLimits())
	if err != nil {
		return policy.Snapshot{}, fmt.Errorf("train: current policy: %w", err)
	}
	return policywire.Snapshot(w)
}

// end records why the run ends and tells the learner to stop updating.
// It runs on the loop goroutine.
func (t *Trainer) end(reason StopReason, err error) {
	t.mu.Lock()
	if !t.ended {
		t.ended, t.stopReason, t.cbErr = true, reason, err
	}
	t.mu.Unlock()
	t.svc.Finish()
}

// fail ends the run for a callback's error (ErrStop is a clean stop).
func (t *Trainer) fail(what string, err error) {
	if errors.Is(err, ErrStop) {
		t.end(StopCallback, nil)
		return
	}
	t.end(StopError, fmt.Errorf("train: %s: %w", what, err))
}

func (t *Trainer) hasEnded() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ended
}

// onEpisode is the learner's Episode hook.
func (t *Trainer) onEpisode(e learner.EpisodeEvent) {
	if t.cb.OnEpisode == nil || t.hasEnded() {
		return
	}
	ep := Episode{Return: e.Summary.Return, Length: e.Summary.Length, Terminated: e.Summary.Terminated,
		Scenario: e.Summary.Scenario, EnvSteps: e.EnvSteps, Version: e.Version, Actor: e.Actor}
	if err := t.cb.OnEpisode(ep); err != nil {
		t.fail("episode callback", err)
	}
}

// onUpdate is the learner's Update hook: evaluation, stop rules, OnUpdate.
func (t *Trainer) onUpdate(e learner.UpdateEvent) {
	if t.hasEnded() {
		return
	}
	u := &Update{Update: e.Update, Version: e.Version, EnvSteps: e.EnvSteps, Stats: e.Stats, Rollouts: e.Rollouts,
		Episodes: e.Episodes, Checkpoint: e.Checkpoint, Elapsed: time.Since(t.begun), t: t}
	if t.eval != nil && t.eval.due(e.Update) {
		snap, err := t.snapshot()
		if err == nil {
			var res EvalResult
			if res, err = t.eval.evaluate(snap, e.Update, e.EnvSteps); err == nil {
				u.Eval = &res
				u.Stop = t.eval.stop(res)
			}
		}
		if err != nil {
			t.fail("evaluation", err)
			return
		}
		t.log.Info("evaluation", "update", e.Update, "version", e.Version, "mean_return", u.Eval.MeanReturn, "best", u.Eval.Best)
	}
	if t.cb.OnUpdate != nil {
		if err := t.cb.OnUpdate(u); err != nil {
			t.fail("update callback", err)
			return
		}
	}
	if u.Stop != "" {
		t.log.Info("stopping early", "reason", u.Stop, "update", e.Update)
		t.end(u.Stop, nil)
	}
}
