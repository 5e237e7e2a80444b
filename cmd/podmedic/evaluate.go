package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"podmedic/envsim"
	"podmedic/eval"
	"podmedic/internal/policywire"
	"podmedic/learner"
	"podmedic/policy"
	"podmedic/protocol"
)

// runEvaluate pulls a policy (file, NATS or HTTP), compares it with the
// baselines on the scenario suite and writes the report into --out.
func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("evaluate", "evaluate --policy FILE|nats://HOST:PORT|http://HOST:PORT [--run NAME] [--episodes N] [--out DIR] [flags]\n\n"+
		"Evaluates a policy snapshot against the baselines on paired seeds and writes\n"+
		"DIR/report.md, episodes.csv, returns.png, recovery.png and timeline-*.png.\n"+
		"Scenarios: "+strings.Join(envsim.ScenarioNames(), ", ")+".\n"+
		"Policies: "+strings.Join(eval.PolicyNames(), ", ")+".", stderr)
	var nf natsFlags
	nf.register(fs)
	source := fs.String("policy", "", "policy source: a snapshot file, nats://HOST:PORT (the learner's policy.latest for --run; \"nats\" uses --nats-url) or http://HOST:PORT (its /v1/policy)")
	run := fs.String("run", "default", "run name of the learner when --policy is nats://")
	episodes := fs.Int("episodes", 20, "episodes per scenario and policy")
	scenarios := fs.String("scenarios", "all", "comma-separated scenarios, or all (every built-in scenario and mixed)")
	policies := fs.String("policies", strings.Join(eval.PolicyNames(), ","), "comma-separated policies to compare")
	out := fs.String("out", "", "output directory (default eval-<time>)")
	seed := fs.Uint64("seed", 1, "evaluation seed family (seeds are disjoint from training seeds)")
	bootstrap := fs.Int("bootstrap", 2000, "bootstrap resamples for the confidence intervals")
	envConfig := fs.String("env-config", "", "YAML/JSON simulation config (pods, slo, reward); must match the one trained on")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit for fetching the policy over NATS or HTTP")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *source == "" {
		return flagError{errors.New("evaluate: --policy is required")}
	}
	cfg := eval.DefaultConfig()
	cfg.Episodes, cfg.Seed, cfg.Bootstrap = *episodes, *seed, *bootstrap
	cfg.Policies = splitList(*policies)
	if *scenarios != "all" {
		cfg.Scenarios = splitList(*scenarios)
	}
	if err := cfg.Validate(); err != nil {
		return flagError{fmt.Errorf("evaluate: %w", err)}
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
	fctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	w, err := fetchPolicy(fctx, *source, *run, &nf, stderr)
	if err != nil {
		return err
	}
	snap, err := policywire.Snapshot(w)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	fmt.Fprintf(stdout, "evaluating policy version %d from %s: %d scenarios x %d policies x %d episodes\n",
		snap.Version, *source, len(cfg.Scenarios), len(cfg.Policies), cfg.Episodes)
	return evaluate(ctx, cfg, &snap, envCfg, *out, stdout)
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
	return evaluate(ctx, cfg, &snap, envCfg, outDir, stdout)
}

// evaluate runs the evaluation with progress on stdout, writes the report
// and prints the overall returns.
func evaluate(ctx context.Context, cfg eval.Config, snap *policy.Snapshot, envCfg envsim.Config, outDir string, stdout io.Writer) error {
	start := time.Now()
	last := time.Time{}
	cfg.Progress = func(p eval.Progress) {
		if now := time.Now(); now.Sub(last) >= 2*time.Second || p.Done == p.Total {
			last = now
			fmt.Fprintf(stdout, "episodes %6d/%d (%3.0f%%)  %-22s %-18s elapsed %s\n", p.Done, p.Total,
				100*float64(p.Done)/float64(p.Total), p.Scenario, p.Policy, time.Since(start).Round(time.Second))
		}
	}
	res, err := eval.Run(ctx, cfg, snap, envCfg)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if err := res.WriteReport(outDir); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	s := res.Summarize()
	fmt.Fprintf(stdout, "overall mean return:")
	for _, p := range res.Policies {
		fmt.Fprintf(stdout, " %s %.1f;", p, s.ByKey[eval.OverallScenario][p].Metrics["return"].Mean)
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", filepath.Join(outDir, eval.ReportFile))
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

func fetchNATS(ctx context.Context, url, run string, nf *natsFlags, stderr io.Writer) (*protocol.Weights, error) {
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
