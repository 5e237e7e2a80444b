package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"podmedic/envsim"
	"podmedic/eval"
	"podmedic/internal/policywire"
	"podmedic/learner"
	"podmedic/policy"
	"podmedic/protocol"
)

// runEvaluate pulls the policies of one or more training runs (file, NATS
// or HTTP), compares them with the baselines on the scenario suites and
// writes the report into --out.
func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("evaluate", "evaluate [--policy SOURCE[,SOURCE...]] [--run NAME] [--suite all|train|heldout] [--episodes N] [--out DIR] [flags]\n\n"+
		"Evaluates the policy snapshots of one or more training runs of one configuration\n"+
		"(SOURCE: a snapshot file, nats://HOST:PORT or http://HOST:PORT) against the\n"+
		"baselines on paired seeds and writes DIR/report.md, episodes.csv, returns.png,\n"+
		"recovery.png, profile.png and timeline-*.png. Without --policy, --policies must\n"+
		"name baselines only.\n"+
		"Training suite: "+strings.Join(eval.TrainSuite(), ", ")+".\n"+
		"Held-out suite: "+strings.Join(eval.HeldOutSuite(), ", ")+".\n"+
		"Policies: "+strings.Join(eval.PolicyNames(), ", ")+".", stderr)
	var nf natsFlags
	nf.register(fs)
	source := fs.String("policy", "", "comma-separated policy sources, one per training run: a snapshot file, nats://HOST:PORT (the newest in --run's JetStream policy store, else the learner's policy.latest; \"nats\" uses --nats-url) or http://HOST:PORT (its /v1/policy)")
	run := fs.String("run", "default", "run name of the learner when a --policy source is nats://")
	episodes := fs.Int("episodes", 20, "episodes per scenario, policy and training run")
	suite := fs.String("suite", eval.SuiteAll, "scenario suite when --scenarios is all: train (the training mix's scenarios and mixed), heldout (conditions training never saw) or all")
	scenarios := fs.String("scenarios", "all", "comma-separated scenarios (built-in names or held-out ones such as heldout:load-2x), or all (the --suite)")
	policies := fs.String("policies", strings.Join(eval.PolicyNames(), ","), "comma-separated policies to compare")
	out := fs.String("out", "", "output directory (default eval-<time>)")
	seed := fs.Uint64("seed", 1, "evaluation seed family (seeds are disjoint from training seeds)")
	bootstrap := fs.Int("bootstrap", 2000, "bootstrap resamples for the confidence intervals")
	envConfig := fs.String("env-config", "", "YAML/JSON simulation config (pods, slo, reward); must match the one trained on")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit for fetching each policy over NATS or HTTP")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	cfg := eval.DefaultConfig()
	cfg.Episodes, cfg.Seed, cfg.Bootstrap = *episodes, *seed, *bootstrap
	cfg.Policies = splitList(*policies)
	suiteScenarios, err := eval.Suite(*suite)
	if err != nil {
		return flagError{fmt.Errorf("evaluate: --suite: %w", err)}
	}
	cfg.Scenarios = suiteScenarios
	if *scenarios != "all" {
		cfg.Scenarios = splitList(*scenarios)
	}
	if err := cfg.Validate(); err != nil {
		return flagError{fmt.Errorf("evaluate: %w", err)}
	}
	sources := splitList(*source)
	if cfg.NeedsSnapshot() && len(sources) == 0 {
		return flagError{fmt.Errorf("evaluate: --policy is required for the trained policies in --policies (%s): "+
			"give one snapshot source per training run, or evaluate baselines only (e.g. --policies %s)",
			strings.Join(eval.PolicyNames()[:2], ", "), strings.Join(eval.PolicyNames()[2:], ","))}
	}
	envCfg := envsim.DefaultConfig()
	if *envConfig != "" {
		data, err := os.ReadFile(*envConfig)
		if err != nil {
			return fmt.Errorf("evaluate: read --env-config: %w", err)
		}
		if envCfg, err = envsim.ParseConfig(data); err != nil {
			return fmt.Errorf("evaluate: --env-config %s: %w", *envConfig, err)
		}
	}
	if *out == "" {
		*out = "eval-" + time.Now().Format("20060102-150405")
	}
	var snaps []*policy.Snapshot
	if cfg.NeedsSnapshot() {
		for i, src := range sources {
			snap, err := loadPolicy(ctx, src, *run, *timeout, &nf, stderr)
			if err != nil {
				if len(sources) > 1 {
					return fmt.Errorf("evaluate: --policy source %d of %d: %w", i+1, len(sources), err)
				}
				return err
			}
			fmt.Fprintf(stdout, "run %d: policy version %d from %s\n", i+1, snap.Version, src)
			snaps = append(snaps, snap)
		}
	} else if len(sources) > 0 {
		fmt.Fprintf(stdout, "--policies names no trained policy: --policy ignored\n")
	}
	fmt.Fprintf(stdout, "evaluating %d scenarios x %d policies x %d episodes (%d training runs)\n",
		len(cfg.Scenarios), len(cfg.Policies), cfg.Episodes, len(snaps))
	return evaluate(ctx, cfg, snaps, envCfg, *out, stdout)
}

// loadPolicy fetches one policy source within timeout and decodes it.
func loadPolicy(ctx context.Context, source, run string, timeout time.Duration, nf *natsFlags, stderr io.Writer) (*policy.Snapshot, error) {
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w, err := fetchPolicy(fctx, source, run, nf, stderr)
	if err != nil {
		return nil, err
	}
	snap, err := policywire.Snapshot(w)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %s: %w", source, err)
	}
	return &snap, nil
}

// evaluateSnapshot evaluates the snapshot file snapPath with episodes
// episodes per scenario and policy on envCfg and writes the report into
// outDir: the short evaluation at the end of `podmedic train`.
func evaluateSnapshot(ctx context.Context, snapPath, outDir string, episodes int, envCfg envsim.Config, stdout io.Writer) error {
	w, err := protocol.ReadSnapshotFile(snapPath)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	snap, err := policywire.Snapshot(w)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	cfg := eval.DefaultConfig()
	cfg.Episodes = episodes
	return evaluate(ctx, cfg, []*policy.Snapshot{&snap}, envCfg, outDir, stdout)
}

// evaluate runs the evaluation with progress on stdout, writes the report
// and prints the overall returns.
func evaluate(ctx context.Context, cfg eval.Config, snaps []*policy.Snapshot, envCfg envsim.Config, outDir string, stdout io.Writer) error {
	start := time.Now()
	last := time.Time{}
	cfg.Progress = func(p eval.Progress) {
		if now := time.Now(); now.Sub(last) >= 2*time.Second || p.Done == p.Total {
			last = now
			pol := p.Policy
			if len(snaps) > 1 && slices.Contains(eval.PolicyNames()[:2], pol) {
				pol = fmt.Sprintf("%s run %d", pol, p.Run+1)
			}
			fmt.Fprintf(stdout, "episodes %6d/%d (%3.0f%%)  %-30s %-24s elapsed %s\n", p.Done, p.Total,
				100*float64(p.Done)/float64(p.Total), p.Scenario, pol, time.Since(start).Round(time.Second))
		}
	}
	res, err := eval.Run(ctx, cfg, snaps, envCfg)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if err := res.WriteReport(outDir); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	s := res.Summarize()
	for _, pool := range []string{eval.OverallScenario, eval.OverallHeldOut} {
		if _, ok := s.ByKey[pool]; !ok {
			continue
		}
		fmt.Fprintf(stdout, "%s mean return:", pool)
		for _, p := range res.Policies {
			fmt.Fprintf(stdout, " %s %.1f;", p, s.ByKey[pool][p].Metrics["return"].Mean)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(outDir, eval.ReportFile))
	return nil
}

// fetchPolicy reads the weights from a file, the learner's policy.latest
// over NATS (the URL in source, or --nats-url when source is "nats"), or
// its /v1/policy over HTTP.
func fetchPolicy(ctx context.Context, source, run string, nf *natsFlags, stderr io.Writer) (*protocol.Weights, error) {
	switch {
	case source == "nats":
		return fetchNATS(ctx, nf.url, run, nf, stderr)
	case strings.HasPrefix(source, "nats://"), strings.HasPrefix(source, "tls://"):
		return fetchNATS(ctx, source, run, nf, stderr)
	case strings.HasPrefix(source, "http://"), strings.HasPrefix(source, "https://"):
		return fetchHTTP(ctx, source)
	}
	w, err := protocol.ReadSnapshotFile(source)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return w, nil
}

func fetchNATS(ctx context.Context, url, run string, nf *natsFlags, stderr io.Writer) (_ *protocol.Weights, err error) {
	subj, err := protocol.NewSubjects(run)
	if err != nil {
		return nil, flagError{fmt.Errorf("evaluate: --run: %w", err)}
	}
	if err := nf.validate(); err != nil {
		return nil, err
	}
	log, err := newLogger("evaluate", "warn", stderr)
	if err != nil {
		return nil, err
	}
	c := *nf
	c.url = url
	nc, err := c.connect("podmedic-evaluate", log, nil)
	if err != nil {
		return nil, fmt.Errorf("evaluate: connect to %s: %w", url, err)
	}
	defer nc.Close()
	// The run's policy store first: it answers while no learner runs.
	if w, ok, storeErr := storedPolicy(ctx, nc, run); ok {
		return w, nil
	} else if storeErr != nil {
		defer func() {
			if err != nil {
				err = fmt.Errorf("%w; and %w", err, storeErr)
			}
		}()
	}
	msg, err := nc.RequestWithContext(ctx, subj.PolicyLatest, nil)
	if err != nil {
		return nil, fmt.Errorf("evaluate: request %s from %s (is a learner with --run %s running?): %w", subj.PolicyLatest, url, run, err)
	}
	w, err := protocol.ParseSnapshot(msg.Data)
	if err != nil {
		return nil, fmt.Errorf("evaluate: decode policy from %s: %w", url, err)
	}
	return w, nil
}

func fetchHTTP(ctx context.Context, base string) (*protocol.Weights, error) {
	url := strings.TrimSuffix(base, "/")
	if !strings.HasSuffix(url, "/v1/policy") {
		url += "/v1/policy"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, flagError{fmt.Errorf("evaluate: --policy: %w", err)}
	}
	req.Header.Set("Accept", learner.PolicyContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("evaluate: fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	lim := protocol.SnapshotLimits()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(protocol.SnapshotMagic)+lim.MaxPayload)+1))
	if err != nil {
		return nil, fmt.Errorf("evaluate: fetch %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("evaluate: fetch %s: %s: %s", url, resp.Status, strings.TrimSpace(string(data)))
	}
	w, err := protocol.ParseSnapshot(data)
	if err != nil {
		return nil, fmt.Errorf("evaluate: decode policy from %s: %w", url, err)
	}
	return w, nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
