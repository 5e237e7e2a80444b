package eval

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"podmedic/envsim"
	"podmedic/policy"
)

// testSnapshot returns an untrained (random-init) policy for cfg with the
// learner's metadata, version 7.
func testSnapshot(t testing.TB, cfg envsim.Config) *policy.Snapshot {
	t.Helper()
	return testSnapshotSeed(t, cfg, 1, 7)
}

// testSnapshotSeed returns an untrained policy for cfg initialised from
// seed, with version.
func testSnapshotSeed(t testing.TB, cfg envsim.Config, seed, version uint64) *policy.Snapshot {
	t.Helper()
	c, err := envsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	net, err := policy.New(policy.DefaultArch(c.ObservationSize(), c.NumActions()), rand.New(rand.NewPCG(seed, 2)))
	if err != nil {
		t.Fatal(err)
	}
	snap := policy.NewSnapshot(net, policy.NewNormalizer(c.ObservationSize()), version, map[string]string{
		MetaObsNames: strings.Join(c.ObservationSpec().Names, ","),
		MetaActions:  strings.Join(c.ActionSpec().Names, ","),
	})
	return &snap
}

func tinyConfig() Config {
	cfg := DefaultConfig()
	cfg.Episodes = 3
	cfg.Scenarios = []string{"no-fault", "pod-kill", "memory-leak-oom"}
	cfg.Bootstrap = 200
	cfg.TimelineScenarios = []string{"pod-kill", "flash-crowd"}
	return cfg
}

func TestRunTiny(t *testing.T) {
	envCfg := envsim.DefaultConfig()
	snap := testSnapshot(t, envCfg)
	cfg := tinyConfig()
	calls := 0
	cfg.Progress = func(p Progress) {
		calls++
		if p.Done != calls || p.Total != 3*7*3 {
			t.Errorf("progress %+v after %d calls", p, calls)
		}
	}
	res, err := Run(context.Background(), cfg, []*policy.Snapshot{snap}, envCfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Episodes) != 3*7*3 || calls != len(res.Episodes) {
		t.Fatalf("%d episodes, %d progress calls, want 63", len(res.Episodes), calls)
	}
	seeds := make(map[[2]any]uint64)
	needlessRandom := 0
	for _, e := range res.Episodes {
		key := [2]any{e.Scenario, e.Index}
		if s, ok := seeds[key]; ok && s != e.Seed {
			t.Errorf("%s episode %d: policy %s got seed %d, another policy %d", e.Scenario, e.Index, e.Policy, e.Seed, s)
		}
		seeds[key] = e.Seed
		if e.Steps < 1 || e.Steps > envCfg.EpisodeSteps {
			t.Errorf("%+v: bad length", e)
		}
		if e.SLOAttainment < 0 || e.SLOAttainment > 1 || e.Availability < 0 || e.Availability > 1 {
			t.Errorf("%s/%s: shares out of range: %+v", e.Scenario, e.Policy, e)
		}
		if e.Recovered > e.Incidents || len(e.RecoverySteps) != e.Incidents {
			t.Errorf("%s/%s: incidents %d, recovered %d, %d times", e.Scenario, e.Policy, e.Incidents, e.Recovered, len(e.RecoverySteps))
		}
		switch e.Policy {
		case "noop":
			if e.Actions != 0 || e.Invalid != 0 || e.Needless != 0 {
				t.Errorf("noop acted on %s: %+v", e.Scenario, e)
			}
		case "random":
			if e.Scenario == "no-fault" {
				needlessRandom += e.Needless
			}
		}
		// Only the routine releases' rollouts (one pod fewer serving at a
		// time) can dent no-fault for a policy that never acts.
		if e.Scenario == "no-fault" && e.Policy == "noop" && (e.Incidents > 4 || e.SLOAttainment < 0.9 || e.Terminated) {
			t.Errorf("noop on no-fault: %d incidents, SLO %.3f", e.Incidents, e.SLOAttainment)
		}
		if e.Scenario == "memory-leak-oom" && e.Policy == "noop" && e.Incidents == 0 {
			t.Errorf("noop on memory-leak-oom saw no incident")
		}
	}
	if needlessRandom == 0 {
		t.Error("random took no needless action on no-fault")
	}
	if len(res.Timelines) != 1 {
		t.Fatalf("%d timelines, want 1 (flash-crowd not evaluated)", len(res.Timelines))
	}
	for _, tl := range res.Timelines {
		if len(tl.Traces) != 2 || tl.Traces[0].Policy != PolicyTrained || tl.Traces[1].Policy != "hpa" || tl.Traces[0].Seed != tl.Traces[1].Seed {
			t.Errorf("timeline %s: bad traces", tl.Scenario)
		}
	}

	s := res.Summarize()
	noop := s.ByKey["no-fault"]["noop"].Metrics
	if noop["actions"].Mean != 0 || noop["return"].N != 3 {
		t.Errorf("noop summary on no-fault: %+v", noop)
	}
	if n := s.ByKey[OverallScenario]["random"].Metrics["return"].N; n != 9 {
		t.Errorf("overall has %d episodes of random, want 9", n)
	}
	if len(s.Comparisons) != 4*6 {
		t.Errorf("%d comparisons, want 24", len(s.Comparisons))
	}

	dir := t.TempDir()
	if err := res.WriteReport(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ReportFile, EpisodesFile, ReturnsChart, RecoveryChart, "timeline-pod-kill.png"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, EpisodesFile))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(csv), "\n"); lines != 3*7*3+1 {
		t.Errorf("episodes.csv has %d lines, want 64", lines)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Mean return per scenario", "| **overall** |", "## Paired differences", "## Policy analysis",
		"template fault", "needless rollbacks", "## Across training runs", "(n/a: one run)", "timeline-pod-kill.png"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestRunDeterministic(t *testing.T) {
	envCfg := envsim.DefaultConfig()
	cfg := tinyConfig()
	cfg.Policies = []string{"random", "heuristic"}
	cfg.Scenarios = []string{"pod-kill"}
	a, err := Run(context.Background(), cfg, nil, envCfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), cfg, nil, envCfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Episodes {
		if a.Episodes[i].Return != b.Episodes[i].Return {
			t.Fatalf("episode %d: return %g then %g", i, a.Episodes[i].Return, b.Episodes[i].Return)
		}
	}
}

func TestRunErrors(t *testing.T) {
	envCfg := envsim.DefaultConfig()
	good := testSnapshot(t, envCfg)
	other := envCfg
	other.Pods.MaxReplicas--
	wrongSize := testSnapshot(t, other)
	renamed := testSnapshot(t, envCfg)
	names := strings.Split(renamed.Meta[MetaObsNames], ",")
	names[3] = "something_else"
	renamed.Meta[MetaObsNames] = strings.Join(names, ",")

	tests := []struct {
		name    string
		mutate  func(*Config)
		snap    *policy.Snapshot
		wantErr error
		wantMsg string
	}{
		{"no snapshot", nil, nil, ErrNoSnapshot, ""},
		{"other action count", nil, wrongSize, ErrIncompatible, "actions"},
		{"renamed observation", nil, renamed, ErrIncompatible, "observation 3"},
		{"zero episodes", func(c *Config) { c.Episodes = 0 }, good, ErrInvalidConfig, "episodes"},
		{"unknown policy", func(c *Config) { c.Policies = []string{"oracle"} }, good, ErrInvalidConfig, "policies[0]"},
		{"unknown scenario", func(c *Config) { c.Scenarios = []string{"meteor"} }, good, envsim.ErrUnknownScenario, "meteor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			if tc.mutate != nil {
				tc.mutate(&cfg)
			}
			var snaps []*policy.Snapshot
			if tc.snap != nil {
				snaps = []*policy.Snapshot{tc.snap}
			}
			_, err := Run(context.Background(), cfg, snaps, envCfg)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
}

func TestActionGroup(t *testing.T) {
	tests := []struct{ in, want string }{
		{"noop", "noop"}, {"scale_up", "scale_up"}, {"scale_to_3", "scale_to"}, {"restart_pod_12", "restart"},
		{"drain_pod_0", "drain"}, {"undrain", "undrain"},
	}
	for _, tc := range tests {
		if got := actionGroup(tc.in); got != tc.want {
			t.Errorf("actionGroup(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
