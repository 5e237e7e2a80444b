package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"podmedic/actor"
	"podmedic/envsim"
	"podmedic/eval"
	"podmedic/internal/natsserver"
	"podmedic/learner"
	"podmedic/protocol"
)

// Defaults of `podmedic train` (and so `make run`): sized to finish in a
// few minutes on a 2-core laptop.
const (
	defaultTrainSteps   = 5_000_000
	defaultTrainActors  = 2
	defaultTrainEnvs    = 8
	defaultTrainHorizon = 64
)

// runTrain is the one-command mode: an embedded NATS server, the learner
// and N actors in one process, all talking over NATS on loopback.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", "train [--steps N] [--actors N] [--out DIR] [flags]", stderr)
	var lf learnerFlags
	var ef envFlags
	// Sync by default: one-command runs are exactly reproducible with a
	// seed, and on one machine sync costs little throughput (measured:
	// 45k env steps/s against 49-52k for async on 2 cores).
	lf.register(fs, "train", learner.ModeSync)
	ef.register(fs)
	out := fs.String("out", "", "run directory (default runs/<run>-<time>)")
	fs.Int64Var(&lf.totalSteps, "steps", defaultTrainSteps, "env steps to train for (all actors together)")
	actors := fs.Int("actors", defaultTrainActors, "actor goroutines, each with its own NATS connection and envs")
	envs := fs.Int("envs", defaultTrainEnvs, "environments per actor")
	horizon := fs.Int("horizon", defaultTrainHorizon, "steps per environment per rollout")
	httpAddr := fs.String("http", "127.0.0.1:8080", "address of /metrics, /healthz and /v1/policy (empty disables)")
	evalEpisodes := fs.Int("eval-episodes", 5, "episodes per scenario and policy in the closing evaluation (DIR/eval); 0 skips it")
	logLevel := fs.String("log-level", "warn", "log level (trace, debug, info, warn, error)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	set := setFlags(fs)
	switch {
	case *actors < 1 || *actors > 256:
		return flagError{fmt.Errorf("--actors: want 1..256, got %d", *actors)}
	case *envs < 1 || *envs > 1024:
		return flagError{fmt.Errorf("--envs: want 1..1024, got %d", *envs)}
	case *horizon < 1 || *horizon > 4096:
		return flagError{fmt.Errorf("--horizon: want 1..4096, got %d", *horizon)}
	case *evalEpisodes < 0:
		return flagError{fmt.Errorf("--eval-episodes: want >= 0, got %d", *evalEpisodes)}
	case lf.totalSteps < 1:
		return flagError{fmt.Errorf("--steps: want >= 1, got %d", lf.totalSteps)}
	}
	scfg, err := lf.config(set, int64(*actors**envs**horizon))
	if err != nil {
		return err
	}
	if scfg.Mode == learner.ModeSync {
		scfg.MinActors = *actors
	}
	ecfg, err := ef.config(set["scenario"])
	if err != nil {
		return err
	}
	spec, err := envSpec(ecfg)
	if err != nil {
		return err
	}
	log, err := newLogger("podmedic", *logLevel, stderr)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("%s-%s", scfg.Run, time.Now().Format("20060102-150405")))
	}
	scfg.CheckpointDir = filepath.Join(dir, "checkpoints")
	scfg.ProgressPath = filepath.Join(dir, "progress.csv")
	if err := os.MkdirAll(scfg.CheckpointDir, 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	if err := writeRunConfig(filepath.Join(dir, "config.yaml"), scfg, ecfg, *actors, *envs, *horizon); err != nil {
		return err
	}

	ns, err := natsserver.Start(natsserver.Config{Port: -1})
	if err != nil {
		return err
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	nf := natsFlags{url: ns.ClientURL()}
	reg := newRegistry()
	lnc, err := nf.connect("podmedic-learner", log, nil)
	if err != nil {
		return err
	}
	defer lnc.Close()
	svc, err := learner.NewService(scfg, spec, lnc, reg, log)
	if err != nil {
		return err
	}
	if err := svc.Open(ctx); err != nil {
		return err
	}
	stopHTTP, err := serveHTTP(httpAddr, svc.Handler(), log)
	if err != nil && !set["http"] && *httpAddr != "" {
		// The default port is taken (another run?): a one-command run
		// should not fail for that, so take any free loopback port.
		log.Warn("default HTTP address busy, using a free port", "address", *httpAddr, "error", err)
		*httpAddr = "127.0.0.1:0"
		stopHTTP, err = serveHTTP(httpAddr, svc.Handler(), log)
	}
	if err != nil {
		closeErr := svc.Close(context.Background())
		return errors.Join(err, closeErr)
	}
	defer stopHTTP()

	am := actor.NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"run": scfg.Run}, reg))
	actx, stopActors := context.WithCancel(ctx)
	var wg sync.WaitGroup
	actorErrs := make([]error, *actors)
	for i := 0; i < *actors; i++ {
		acfg := actor.DefaultConfig()
		acfg.ID, acfg.Run, acfg.Mode = fmt.Sprintf("actor-%d", i), scfg.Run, actor.Mode(scfg.Mode)
		acfg.Horizon, acfg.Seed = *horizon, scfg.Seed*1_000_003+uint64(i)
		a, nc, err := startActor(acfg, ecfg, *envs, nf, am, log)
		if err != nil {
			stopActors()
			wg.Wait()
			return errors.Join(err, svc.Close(context.Background()))
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			actorErrs[i] = a.Run(actx)
			// Drain flushes the last rollout and heartbeat, then closes.
			if err := nc.Drain(); err != nil {
				log.Debug("drain actor connection", "actor", i, "error", err)
			}
		}(i)
	}

	fmt.Fprintf(stdout, "training %s: %d actors x %d envs x %d steps per rollout, %s mode, %d env steps; run directory %s\n",
		scfg.Run, *actors, *envs, *horizon, scfg.Mode, scfg.TotalSteps, dir)
	if st := svc.Status(); st.Version > 0 {
		fmt.Fprintf(stdout, "resuming the run in %s at policy version %d, %d of %d env steps done\n", dir, st.Version, st.EnvSteps, scfg.TotalSteps)
	}
	if *httpAddr != "" {
		fmt.Fprintf(stdout, "metrics on http://%s/metrics, latest policy on http://%s/v1/policy\n", *httpAddr, *httpAddr)
	}
	started := time.Now()
	interrupted := watchProgress(ctx, svc, stdout, scfg.TotalSteps, started)
	stopActors()
	wg.Wait()
	closeErr := svc.Close(context.Background())
	if closeErr != nil {
		return fmt.Errorf("stop learner: %w", closeErr)
	}
	if err := errors.Join(actorErrs...); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("actor stopped with an error", "error", err)
	}
	snapPath := filepath.Join(dir, "policy.snapshot")
	if err := saveSnapshot(svc.Snapshot(), snapPath); err != nil {
		return err
	}
	st := svc.Status()
	curves, curvesErr := eval.WriteCurves(scfg.ProgressPath, dir)
	fmt.Fprintf(stdout, "\ntrained %d env steps in %s (%.0f steps/s), policy version %d; final policy %s\n",
		st.EnvSteps, time.Since(started).Round(time.Second), float64(st.EnvSteps)/time.Since(started).Seconds(), st.Version, snapPath)
	if b, err := readBreakdown(reg, time.Since(started)); err == nil {
		b.print(stdout, *actors)
	}
	if curvesErr != nil {
		log.Warn("training curves not written", "error", curvesErr)
	} else {
		fmt.Fprintf(stdout, "training curves: %s\n", strings.Join(curves, ", "))
	}
	if interrupted {
		return context.Canceled
	}
	if *evalEpisodes > 0 {
		fmt.Fprintf(stdout, "\nevaluating the final policy (%d episodes per scenario and policy)\n", *evalEpisodes)
		if err := evaluateSnapshot(ctx, snapPath, filepath.Join(dir, "eval"), *evalEpisodes, ecfg, stdout); err != nil {
			return err
		}
	}
	return nil
}

// startActor connects one actor to NATS and builds its environments.
func startActor(cfg actor.Config, ecfg envsim.Config, envs int, nf natsFlags, m *actor.Metrics, log hclog.Logger) (*actor.Actor, *nats.Conn, error) {
	nc, err := nf.connect("podmedic-"+cfg.ID, log, m.Reconnects.Inc)
	if err != nil {
		return nil, nil, err
	}
	ev, err := newClusters(ecfg, envs)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	a, err := actor.New(cfg, ev, nc, m, log)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return a, nc, nil
}

// watchProgress prints a progress line until the learner is done or ctx
// ends; it reports whether ctx ended first.
func watchProgress(ctx context.Context, svc *learner.Service, stdout io.Writer, total int64, started time.Time) bool {
	tty := isTerminal(stdout)
	every := 10 * time.Second
	if tty {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-svc.Done():
			printProgress(stdout, svc.Status(), total, started, tty)
			return false
		case <-t.C:
			printProgress(stdout, svc.Status(), total, started, tty)
		}
	}
}

func printProgress(w io.Writer, st learner.Status, total int64, started time.Time, tty bool) {
	ret := "return   n/a"
	if st.Episodes > 0 {
		ret = fmt.Sprintf("return %7.1f", st.ReturnMean)
	}
	eta := "?"
	if st.StepsPerSecond > 0 && total > st.EnvSteps {
		eta = (time.Duration(float64(total-st.EnvSteps)/st.StepsPerSecond) * time.Second).Round(time.Second).String()
	} else if total <= st.EnvSteps {
		eta = "0s"
	}
	line := fmt.Sprintf("steps %9d/%d (%3.0f%%)  %6.0f steps/s  %s  version %4d  actors %d  elapsed %s  ETA %s",
		st.EnvSteps, total, 100*float64(st.EnvSteps)/float64(total), st.StepsPerSecond, ret, st.Version, st.Actors,
		time.Since(started).Round(time.Second), eta)
	if tty {
		fmt.Fprintf(w, "\r%s\x1b[K", line)
		return
	}
	fmt.Fprintln(w, line)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// serveHTTP serves h on *addr until the returned stop is called, and
// rewrites *addr to the address actually bound (port 0 picks one). An
// empty address serves nothing.
func serveHTTP(addr *string, h http.Handler, log hclog.Logger) (stop func(), err error) {
	if *addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --http %s: %w", *addr, err)
	}
	*addr = ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("http shutdown", "error", err)
		}
		<-done
	}, nil
}

// saveSnapshot writes the learner's encoded weights as a snapshot file.
func saveSnapshot(data []byte, path string) error {
	w, err := protocol.DecodeWeights(data, protocol.SnapshotLimits())
	if err != nil {
		return fmt.Errorf("final policy: %w", err)
	}
	if err := protocol.WriteSnapshotFile(path, w); err != nil {
		return fmt.Errorf("write final policy: %w", err)
	}
	return nil
}

// writeRunConfig records the resolved configuration of a run.
func writeRunConfig(path string, s learner.ServiceConfig, e envsim.Config, actors, envs, horizon int) error {
	doc := struct {
		Learner learner.ServiceConfig `yaml:"learner"`
		Actors  int                   `yaml:"actors"`
		Envs    int                   `yaml:"envs_per_actor"`
		Horizon int                   `yaml:"horizon"`
		Env     envsim.Config         `yaml:"env"`
	}{s, actors, envs, horizon, e}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode run config: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write run config: %w", err)
	}
	return nil
}
