package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"podmedic/learner"
)

// runLearner runs the learner as its own process: it trains on rollouts
// from any number of actors, checkpoints into --dir and serves metrics and
// the latest policy until interrupted.
func runLearner(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("learner", "learner [--nats-url URL] [--dir DIR] [flags]", stderr)
	var lf learnerFlags
	var ef envFlags
	var nf natsFlags
	lf.register(fs, "default", learner.DefaultServiceConfig().Mode)
	ef.register(fs)
	nf.register(fs)
	fs.Int64Var(&lf.totalSteps, "steps", 0, "env steps to train for; 0 trains until stopped. The learner keeps serving its final policy afterwards")
	batchSteps := fs.Int64("batch-steps", 2048, "expected env steps per update (actors x envs x horizon), for the learning-rate schedule")
	minActors := fs.Int("min-actors", 1, "sync: actors whose rollouts every update waits for at least")
	perUpdate := fs.Int("rollouts-per-update", 0, "async: rollouts per update; 0 means one per live actor")
	dir := fs.String("dir", "learner-data", "directory for checkpoints and progress.csv; a restarted learner resumes from it")
	httpAddr := fs.String("http", "127.0.0.1:8080", "address of /metrics, /healthz and /v1/policy (0.0.0.0:8080 in a container)")
	logLevel := fs.String("log-level", "info", "log level (trace, debug, info, warn, error)")
	var jf jetstreamFlags
	jf.register(fs)
	if err := nf.parse(fs, args); err != nil {
		return err
	}
	if err := checkListenAddr("http", *httpAddr); err != nil {
		return err
	}
	set := setFlags(fs)
	if *batchSteps < 1 {
		return flagError{fmt.Errorf("--batch-steps: want >= 1, got %d", *batchSteps)}
	}
	scfg, err := lf.config(set, *batchSteps)
	if err != nil {
		return err
	}
	scfg.MinActors, scfg.RolloutsPerUpdate = *minActors, *perUpdate
	scfg.CheckpointDir = filepath.Join(*dir, "checkpoints")
	scfg.ProgressPath = filepath.Join(*dir, "progress.csv")
	scfg.SnapshotPath = filepath.Join(*dir, "policy.snapshot")
	if err := scfg.Validate(); err != nil {
		return flagError{err}
	}
	if err := jf.validate(); err != nil {
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
	if jf.store != storeLocal {
		// Durable state in JetStream, under the run's lease.
		return runLearnerFailover(ctx, scfg, spec, &jf, &nf, *httpAddr, *dir, log, stdout)
	}
	if err := os.MkdirAll(scfg.CheckpointDir, 0o755); err != nil {
		return fmt.Errorf("create --dir: %w", err)
	}
	nc, err := nf.connect("podmedic-learner", log, nil)
	if err != nil {
		return err
	}
	defer nc.Close()
	reg := newRegistry()
	svc, err := learner.NewService(scfg, spec, nc, reg, log)
	if err != nil {
		return err
	}
	if err := waitForNATS(ctx, nc, nf.url, log); err != nil {
		return err
	}
	if err := svc.Open(ctx); err != nil {
		return err
	}
	stopHTTP, err := serveHTTP(httpAddr, svc.Handler(), log)
	if err != nil {
		return errors.Join(err, svc.Close(context.Background()))
	}
	defer stopHTTP()
	fmt.Fprintf(stdout, "learner %s: %s mode, policy version %d, NATS %s, HTTP %s, data in %s\n",
		scfg.Run, scfg.Mode, svc.Status().Version, nf.url, *httpAddr, *dir)
	select {
	case <-ctx.Done():
	case <-svc.Done():
		log.Info("training budget reached, serving the final policy until stopped")
		<-ctx.Done()
	}
	closeErr := svc.Close(context.Background())
	if err := nc.Drain(); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("drain NATS connection", "error", err)
	}
	st := svc.Status()
	fmt.Fprintf(stdout, "learner stopped at policy version %d after %d env steps; %s\n", st.Version, st.EnvSteps, checkpointReport(svc, st.Version))
	if closeErr != nil {
		return fmt.Errorf("stop learner: %w", closeErr)
	}
	return nil
}

// checkpointReport says which checkpoint holds the training: the one
// written and verified last (or resumed from), never just the directory.
func checkpointReport(svc *learner.Service, version uint64) string {
	ck, ok := svc.LastCheckpoint()
	switch {
	case !ok:
		return "NO checkpoint was written: this training is lost when the process ends"
	case ck.Version == version:
		return fmt.Sprintf("checkpoint %s (version %d, written and verified)", ck.Location, ck.Version)
	}
	return fmt.Sprintf("the final checkpoint FAILED; the newest valid one is %s at version %d (%d versions behind)",
		ck.Location, ck.Version, version-ck.Version)
}
