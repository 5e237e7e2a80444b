package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"podmedic/envsim"
	"podmedic/eval"
	"podmedic/learner"
	"podmedic/protocol"
	"podmedic/train"
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
// and N actors in one process, all talking over NATS on loopback
// (podmedic/train).
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", "train [--steps N] [--actors N] [--out DIR] [flags]", stderr)
	var lf learnerFlags
	var ef envFlags
	// Sync by default: one-command runs are exactly reproducible with a
	// seed, and on one machine sync costs little throughput (measured:
	// 45k env steps/s against 49-52k for async on 2 cores).
	lf.register(fs, "train", protocol.ModeSync)
	ef.register(fs)
	out := fs.String("out", "", "run directory (default runs/<run>-<time>)")
	fs.Int64Var(&lf.totalSteps, "steps", defaultTrainSteps, "env steps to train for (all actors together)")
	actors := fs.Int("actors", defaultTrainActors, "actor goroutines, each with its own NATS connection and envs")
	envs := fs.Int("envs", defaultTrainEnvs, "environments per actor")
	horizon := fs.Int("horizon", defaultTrainHorizon, "steps per environment per rollout")
	httpAddr := fs.String("http", "127.0.0.1:8080", "address of /metrics, /healthz and /v1/policy (empty disables)")
	evalEpisodes := fs.Int("eval-episodes", 5, "episodes per scenario and policy in the closing evaluation (DIR/eval); 0 skips it")
	evalEvery := fs.Int("eval-every", 250, "evaluate the current policy every this many updates on every training scenario, fixed seeds (DIR/eval-curve.csv, curve-eval.png); 0 disables")
	evalCurveEpisodes := fs.Int("eval-curve-episodes", 2, "episodes per scenario in each periodic evaluation")
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
	case *evalEvery < 0:
		return flagError{fmt.Errorf("--eval-every: want >= 0, got %d", *evalEvery)}
	case *evalCurveEpisodes < 1 || *evalCurveEpisodes > 1000:
		return flagError{fmt.Errorf("--eval-curve-episodes: want 1..1000, got %d", *evalCurveEpisodes)}
	case lf.totalSteps < 1:
		return flagError{fmt.Errorf("--steps: want >= 1, got %d", lf.totalSteps)}
	}
	if err := checkListenAddr("http", *httpAddr); err != nil {
		return err
	}
	cfg := train.DefaultConfig()
	cfg.Actors, cfg.EnvsPerActor, cfg.Horizon = *actors, *envs, *horizon
	scfg, err := lf.config(set, cfg.StepsPerUpdate())
	if err != nil {
		return err
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
	scfg.SnapshotPath = filepath.Join(dir, "policy.snapshot")
	cfg.Learner, cfg.ActionNames, cfg.ObsNames = scfg, spec.ActionNames, spec.ObsNames
	cfg.Log, cfg.Registry = log, newRegistry()
	if err := os.MkdirAll(scfg.CheckpointDir, 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	var cb train.Callbacks
	if *evalEvery > 0 {
		curve, err := evalCurveCallbacks(&cb, ecfg, *evalEvery, *evalCurveEpisodes, filepath.Join(dir, eval.EvalCurveFile))
		if err != nil {
			return err
		}
		defer curve.Close()
	}
	tr, err := train.New(cfg, func(int) (envsim.Env, error) { return envsim.New(ecfg) }, cb)
	if errors.Is(err, train.ErrConfig) {
		return flagError{err}
	}
	if err != nil {
		return err
	}
	if err := writeRunConfig(filepath.Join(dir, "config.yaml"), tr.LearnerConfig(), ecfg, *actors, *envs, *horizon); err != nil {
		return err
	}
	if err := tr.Open(ctx); err != nil {
		_, closeErr := tr.Close(context.Background())
		return errors.Join(err, closeErr)
	}
	svc := tr.Service()
	stopHTTP, err := serveHTTP(httpAddr, svc.Handler(), log)
	if err != nil && !set["http"] && *httpAddr != "" {
		// The default port is taken (another run?): a one-command run
		// should not fail for that, so take any free loopback port.
		log.Warn("default HTTP address busy, using a free port", "address", *httpAddr, "error", err)
		*httpAddr = "127.0.0.1:0"
		stopHTTP, err = serveHTTP(httpAddr, svc.Handler(), log)
	}
	if err != nil {
		_, closeErr := tr.Close(context.Background())
		return errors.Join(err, closeErr)
	}
	defer stopHTTP()

	total := tr.LearnerConfig().TotalSteps
	fmt.Fprintf(stdout, "training %s: %d actors x %d envs x %d steps per rollout, %s mode, %d env steps; run directory %s\n",
		scfg.Run, *actors, *envs, *horizon, scfg.Mode, total, dir)
	if st := svc.Status(); st.Version > 0 {
		fmt.Fprintf(stdout, "resuming the run in %s at policy version %d, %d of %d env steps done\n", dir, st.Version, st.EnvSteps, total)
	}
	if *httpAddr != "" {
		fmt.Fprintf(stdout, "metrics on http://%s/metrics, latest policy on http://%s/v1/policy\n", *httpAddr, *httpAddr)
	}
	started := time.Now()
	interrupted := watchProgress(ctx, svc, stdout, total, started)
	res, closeErr := tr.Close(context.Background())
	if closeErr != nil {
		return fmt.Errorf("stop learner: %w", closeErr)
	}
	snapPath := filepath.Join(dir, "policy.snapshot")
	if err := protocol.WriteSnapshotFile(snapPath, res.Weights); err != nil {
		return fmt.Errorf("write final policy: %w", err)
	}
	curves, curvesErr := eval.WriteCurves(scfg.ProgressPath, dir)
	if *evalEvery > 0 && curvesErr == nil {
		png := filepath.Join(dir, eval.CurveEvalFile)
		if curvesErr = eval.WriteEvalCurveChart(filepath.Join(dir, eval.EvalCurveFile), png); curvesErr == nil {
			curves = append(curves, png)
		}
	}
	fmt.Fprintf(stdout, "\ntrained %d env steps in %s (%.0f steps/s), policy version %d; final policy %s\n",
		res.EnvSteps, time.Since(started).Round(time.Second), float64(res.EnvSteps)/time.Since(started).Seconds(), res.Version, snapPath)
	if b, err := readBreakdown(tr.Registry(), time.Since(started)); err == nil {
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

// evalCurveCallbacks makes cb evaluate the current policy every `every`
// updates on each scenario of the training mix (or the one trained on),
// episodes each with fixed seeds, and append the result to path.
func evalCurveCallbacks(cb *train.Callbacks, ecfg envsim.Config, every, episodes int, path string) (*eval.EvalCurveWriter, error) {
	scenarios := []envsim.Scenario{ecfg.Scenario}
	if len(ecfg.Scenario.Mix) > 0 {
		scenarios = scenarios[:0]
		for _, name := range ecfg.Scenario.Mix {
			sc, err := envsim.ScenarioByName(name)
			if err != nil {
				return nil, fmt.Errorf("eval curve: %w", err)
			}
			scenarios = append(scenarios, sc)
		}
	}
	names := make([]string, len(scenarios))
	for i, sc := range scenarios {
		names[i] = sc.Name
	}
	w, err := eval.OpenEvalCurve(path, names)
	if err != nil {
		return nil, err
	}
	cb.Eval = &train.Eval{
		Envs: len(scenarios), Episodes: episodes * len(scenarios), Every: every, Seed: 0xe7a1,
		NewEnv: func(i int) (envsim.Env, error) {
			c := ecfg
			c.Scenario = scenarios[i]
			return envsim.New(c)
		},
	}
	cb.OnUpdate = func(u *train.Update) error {
		if u.Eval == nil {
			return nil
		}
		return w.Add(u.Update, u.EnvSteps, u.Eval.MeanReturn, u.Eval.StdReturn, u.Eval.Returns)
	}
	return w, nil
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
