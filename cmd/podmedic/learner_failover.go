package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"podmedic/internal/jsstore"
	"podmedic/learner"
)

// Where a learner keeps its checkpoints (--store).
const (
	storeLocal     = "local"
	storeJetStream = "jetstream"
	storeBoth      = "both"
)

// jetstreamFlags choose where the learner's durable state lives and how
// learners of one run share it.
type jetstreamFlags struct {
	store        string
	leaseTTL     time.Duration
	id           string
	replicas     int
	keepPolicies int
}

func (j *jetstreamFlags) register(fs *flag.FlagSet) {
	host, err := os.Hostname()
	if err != nil {
		host = "learner"
	}
	fs.StringVar(&j.store, "store", storeLocal, "where checkpoints live: local (--dir), jetstream (the run's JetStream bucket: a learner on another host resumes from it; "+
		"policy snapshots go to the run's policy store; learners of the run take turns by a lease) or both (jetstream, plus a copy in --dir)")
	fs.DurationVar(&j.leaseTTL, "lease-ttl", jsstore.DefaultLeaseTTL, "jetstream: the lease's time to live; a standby takes over about this long after the active learner stops renewing (every learner of a run uses the same)")
	fs.StringVar(&j.id, "learner-id", fmt.Sprintf("%s-%d", host, os.Getpid()), "jetstream: this learner's name in the lease and the metrics (label learner)")
	fs.IntVar(&j.replicas, "js-replicas", 0, "jetstream: replicas of the run's buckets (1..5); 0 means 3 on a NATS cluster, 1 on a single server")
	fs.IntVar(&j.keepPolicies, "keep-policies", jsstore.DefaultPolicyConfig().Keep, "jetstream: newest policy snapshots kept in the store (the best by return is kept too)")
}

func (j *jetstreamFlags) validate() error {
	switch {
	case j.store != storeLocal && j.store != storeJetStream && j.store != storeBoth:
		return flagError{fmt.Errorf("--store: want local, jetstream or both, got %q", j.store)}
	case j.leaseTTL < time.Second || j.leaseTTL > 10*time.Minute:
		return flagError{fmt.Errorf("--lease-ttl: want 1s..10m, got %s", j.leaseTTL)}
	case j.id == "":
		return flagError{errors.New("--learner-id: must not be empty")}
	case j.replicas < 0 || j.replicas > 5:
		return flagError{fmt.Errorf("--js-replicas: want 0..5, got %d", j.replicas)}
	case j.keepPolicies < 1:
		return flagError{fmt.Errorf("--keep-policies: want >= 1, got %d", j.keepPolicies)}
	}
	return nil
}

// runLearnerFailover runs the learner with its checkpoints and policy
// snapshots in the run's JetStream buckets, training only while it holds
// the run's lease and standing by otherwise, until ctx ends.
func runLearnerFailover(ctx context.Context, scfg learner.ServiceConfig, spec learner.EnvSpec, jf *jetstreamFlags, nf *natsFlags,
	httpAddr, dir string, log hclog.Logger, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create --dir: %w", err)
	}
	var mirror learner.CheckpointStore
	if jf.store == storeBoth {
		if err := os.MkdirAll(scfg.CheckpointDir, 0o755); err != nil {
			return fmt.Errorf("create --dir: %w", err)
		}
		mirror = learner.DirStore{Dir: scfg.CheckpointDir, SnapshotPath: scfg.SnapshotPath}
	}
	scfg.CheckpointDir, scfg.SnapshotPath = "", ""
	nc, err := nf.connect("podmedic-learner-"+jf.id, log, nil)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := waitForNATS(ctx, nc, nf.url, log); err != nil {
		return err
	}
	lease, ck, pol, err := openStores(ctx, nc, scfg, jf, log)
	if err != nil {
		return err
	}
	reg := newRegistry()
	f, err := learner.NewFailover(learner.FailoverConfig{Service: scfg, Spec: spec, Lease: lease, Checkpoints: ck,
		Mirror: mirror, Policies: pol}, nc, reg, log)
	if err != nil {
		return err
	}
	stopHTTP, err := serveHTTP(&httpAddr, f.Handler(), log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	fmt.Fprintf(stdout, "learner %s of run %s: %s mode, state in JetStream (%s), lease ttl %s; NATS %s, HTTP %s\n",
		jf.id, scfg.Run, scfg.Mode, ck.Bucket(), jf.leaseTTL, nf.url, httpAddr)
	runErr := f.Run(ctx)
	if err := nc.Drain(); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("drain NATS connection", "error", err)
	}
	if runErr != nil {
		return fmt.Errorf("learner %s: %w", jf.id, runErr)
	}
	rep, ok := f.LastTerm()
	switch {
	case !ok:
		fmt.Fprintf(stdout, "learner %s stopped without having trained (it stood by)\n", jf.id)
	case !rep.HasCheckpoint:
		fmt.Fprintf(stdout, "learner %s stopped at policy version %d (epoch %d); NO checkpoint was written\n", jf.id, rep.Version, rep.Epoch)
	default:
		fmt.Fprintf(stdout, "learner %s stopped at policy version %d (epoch %d); checkpoint %s at version %d; policies: podmedic policy list --run %s\n",
			jf.id, rep.Version, rep.Epoch, rep.Checkpoint.Location, rep.Checkpoint.Version, scfg.Run)
	}
	return nil
}

// openStores opens the run's lease and stores, retrying while JetStream is
// not ready (a cluster still electing its leader) until ctx ends.
func openStores(ctx context.Context, nc *nats.Conn, scfg learner.ServiceConfig, jf *jetstreamFlags, log hclog.Logger) (
	*jsstore.Lease, *jsstore.Checkpoints, *jsstore.Policies, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	wait := time.Second
	for {
		octx, cancel := context.WithTimeout(ctx, 15*time.Second)
		lease, err := jsstore.OpenLease(octx, js, scfg.Run, jf.id, jsstore.LeaseConfig{TTL: jf.leaseTTL, Replicas: jf.replicas})
		var ck *jsstore.Checkpoints
		var pol *jsstore.Policies
		if err == nil {
			ck, err = jsstore.CreateCheckpoints(octx, js, scfg.Run, jsstore.CheckpointConfig{Keep: scfg.KeepCheckpoints, Replicas: jf.replicas})
		}
		if err == nil {
			pol, err = jsstore.CreatePolicies(octx, js, scfg.Run, jsstore.PolicyConfig{Keep: jf.keepPolicies, Replicas: jf.replicas})
		}
		cancel()
		if err == nil {
			return lease, ck, pol, nil
		}
		if errors.Is(err, jsstore.ErrLeaseTTL) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
			errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, nil, nil, fmt.Errorf("open the JetStream stores of run %s: %w", scfg.Run, err)
		}
		log.Warn("JetStream stores not ready; retrying", "run", scfg.Run, "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, nil, nil, fmt.Errorf("open the JetStream stores of run %s: %w (last error: %w)", scfg.Run, ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 15*time.Second)
	}
}
