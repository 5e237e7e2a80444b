package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"podmedic/learner"
	"podmedic/learner/ppo"
	"podmedic/protocol"
)

// learnerFlags configure the learner service, in train and learner.
type learnerFlags struct {
	run             string
	mode            string
	maxLag          int
	totalSteps      int64
	checkpointEvery int
	keep            int
	heartbeat       time.Duration
	batchWait       time.Duration
	stallTimeout    time.Duration
	maxActors       int
	fresh           bool
	queue           int
	seed            uint64
	hidden          string
	ppoConfig       string
	lr              float64
	epochs          int
	minibatch       int
	entCoef         float64
}

func (l *learnerFlags) register(fs *flag.FlagSet, defaultRun string, defaultMode protocol.Mode) {
	d := learner.DefaultServiceConfig()
	p := d.PPO
	fs.StringVar(&l.run, "run", defaultRun, "run name: every process of one run uses the same (subjects podmedic.<run>.*)")
	fs.StringVar(&l.mode, "mode", string(defaultMode), "sync (exact on-policy, reproducible), pipelined (one version behind: actors collect while the learner updates; reproducible) or async (rollouts up to --max-policy-lag versions old)")
	fs.IntVar(&l.maxLag, "max-policy-lag", d.MaxPolicyLag, "async: oldest policy version accepted, in versions behind the current one")
	fs.IntVar(&l.checkpointEvery, "checkpoint-every", d.CheckpointEvery, "write a checkpoint every this many updates (and on shutdown)")
	fs.IntVar(&l.keep, "keep-checkpoints", d.KeepCheckpoints, "checkpoints to keep")
	fs.DurationVar(&l.heartbeat, "heartbeat-timeout", d.HeartbeatTimeout, "drop an actor silent for this long (a stopping actor says goodbye and leaves at once)")
	fs.DurationVar(&l.batchWait, "batch-wait", d.BatchWait, "async: how long an update waits for a rollout of every actor before it goes with what it has; 0 waits for all")
	fs.DurationVar(&l.stallTimeout, "stall-timeout", d.StallTimeout, "/healthz answers 503 when no update happened for this long while actors send rollouts; 0 never")
	fs.IntVar(&l.maxActors, "max-actors", d.MaxActors, "most actors the run accepts; further ones are refused until one leaves")
	fs.BoolVar(&l.fresh, "fresh", false, "start from fresh parameters even if the checkpoint directory holds checkpoints (they are moved aside: *.superseded, broken ones *.corrupt); without it a directory whose checkpoints are all broken stops the learner")
	fs.IntVar(&l.queue, "queue", d.QueueCapacity, "rollouts that may wait for the update loop; more are dropped and counted")
	fs.Uint64Var(&l.seed, "seed", d.Seed, "seed of the initial parameters, minibatch shuffling and (train) the actors")
	fs.StringVar(&l.hidden, "hidden", "64,64", "hidden layer widths of the policy and value networks")
	fs.StringVar(&l.ppoConfig, "ppo-config", "", "YAML/JSON file of PPO hyperparameters (see the README, section Policy network and PPO); flags below override it")
	fs.Float64Var(&l.lr, "lr", p.LearningRate, "Adam learning rate at the start (decays linearly to 0 over --steps)")
	fs.IntVar(&l.epochs, "epochs", p.Epochs, "PPO epochs per update")
	fs.IntVar(&l.minibatch, "minibatch", p.MinibatchSize, "PPO minibatch size")
	fs.Float64Var(&l.entCoef, "ent-coef", p.EntCoef, "entropy bonus coefficient")
}

// config builds the service config; set lists explicitly set flags and
// stepsPerUpdate is the expected env steps per update (learning-rate
// schedule).
func (l *learnerFlags) config(set map[string]bool, stepsPerUpdate int64) (learner.ServiceConfig, error) {
	c := learner.DefaultServiceConfig()
	c.StepsPerUpdate = stepsPerUpdate
	c.Run, c.Mode, c.MaxPolicyLag = l.run, protocol.Mode(l.mode), l.maxLag
	c.TotalSteps, c.CheckpointEvery, c.KeepCheckpoints = l.totalSteps, l.checkpointEvery, l.keep
	c.HeartbeatTimeout, c.QueueCapacity, c.Seed = l.heartbeat, l.queue, l.seed
	c.BatchWait, c.StallTimeout, c.MaxActors, c.Fresh = l.batchWait, l.stallTimeout, l.maxActors, l.fresh
	hidden, err := parseInts(l.hidden)
	if err != nil {
		return c, flagError{fmt.Errorf("--hidden: %w", err)}
	}
	c.Hidden = hidden
	if l.ppoConfig != "" {
		// A file starts from the reference PPO defaults (docs), not from
		// the service's faster ones, so it means what it says.
		if c.PPO, err = readPPOConfig(l.ppoConfig); err != nil {
			return c, err
		}
	}
	if set["lr"] || l.ppoConfig == "" {
		c.PPO.LearningRate = l.lr
	}
	if set["epochs"] || l.ppoConfig == "" {
		c.PPO.Epochs = l.epochs
	}
	if set["minibatch"] || l.ppoConfig == "" {
		c.PPO.MinibatchSize = l.minibatch
	}
	if set["ent-coef"] || l.ppoConfig == "" {
		c.PPO.EntCoef = l.entCoef
	}
	if err := c.Validate(); err != nil {
		return c, flagError{err}
	}
	return c, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("need at least one width")
	}
	return out, nil
}

// readPPOConfig reads PPO hyperparameters over the defaults, refusing
// unknown fields.
func readPPOConfig(path string) (ppo.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return ppo.Config{}, fmt.Errorf("read --ppo-config: %w", err)
	}
	defer f.Close()
	c, err := learner.DecodePPOConfig(f)
	if err != nil {
		return c, fmt.Errorf("--ppo-config %s: %w", path, err)
	}
	return c, nil
}
