package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"podmedic/actor"
	"podmedic/envsim"
	"podmedic/protocol"
)

// runActor runs one actor process: K simulated clusters stepped with the
// latest policy, rollouts published to the learner over NATS.
func runActor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("actor", "actor [--nats-url URL] [--envs 8] [flags]", stderr)
	var ef envFlags
	var nf natsFlags
	ef.register(fs)
	nf.register(fs)
	d := actor.DefaultConfig()
	host, err := os.Hostname()
	if err != nil {
		host = "actor"
	}
	id := fs.String("id", fmt.Sprintf("%s-%d", host, os.Getpid()), "actor id, unique within the run (default hostname-pid: unique per container)")
	run := fs.String("run", "default", "run name, the learner's --run")
	mode := fs.String("mode", string(d.Mode), protocol.Modes+", the learner's --mode")
	envs := fs.Int("envs", 8, "environments stepped together")
	horizon := fs.Int("horizon", d.Horizon, "steps per environment per rollout")
	seed := fs.Uint64("seed", 0, "seed of the actor's episodes and action sampling; 0 derives one from --id")
	maxRollouts := fs.Int("max-rollouts", 0, "stop after this many rollouts; 0 runs until stopped")
	maxAhead := fs.Int("max-ahead", d.MaxAhead, "async: rollouts published per policy version before waiting for the next (backpressure)")
	httpAddr := fs.String("http", "", "address of this actor's /metrics (e.g. 0.0.0.0:9091 in a container; empty disables)")
	logLevel := fs.String("log-level", "info", "log level (trace, debug, info, warn, error)")
	if err := nf.parse(fs, args); err != nil {
		return err
	}
	if err := checkListenAddr("http", *httpAddr); err != nil {
		return err
	}
	if *envs < 1 || *envs > 1024 {
		return flagError{fmt.Errorf("--envs: want 1..1024, got %d", *envs)}
	}
	cfg := d
	cfg.ID, cfg.Run, cfg.Mode, cfg.Horizon, cfg.Seed, cfg.MaxRollouts = *id, *run, protocol.Mode(*mode), *horizon, *seed, *maxRollouts
	cfg.MaxAhead = *maxAhead
	if cfg.Seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(cfg.ID))
		cfg.Seed = h.Sum64()
	}
	if err := cfg.Validate(); err != nil {
		return flagError{err}
	}
	ecfg, err := ef.config(setFlags(fs)["scenario"])
	if err != nil {
		return err
	}
	log, err := newLogger("podmedic", *logLevel, stderr)
	if err != nil {
		return err
	}
	reg := newRegistry()
	m := actor.NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"run": cfg.Run}, reg))
	a, nc, err := startActor(cfg, ecfg, *envs, nf, m, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	stopHTTP, err := serveHTTP(httpAddr, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	fmt.Fprintf(stdout, "actor %s: %d envs x %d steps per rollout, run %s, NATS %s\n", cfg.ID, *envs, cfg.Horizon, cfg.Run, nf.url)
	runErr := a.Run(ctx)
	if err := nc.Drain(); err != nil {
		log.Warn("drain NATS connection", "error", err)
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
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
