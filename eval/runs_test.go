package eval

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"podmedic/envsim"
	"podmedic/policy"
)

// twoRuns evaluates two "training runs" (differently initialised
// snapshots, versions 7 and 8) with noop and runbook on one training and
// one held-out scenario.
func twoRuns(t *testing.T) *Results {
	t.Helper()
	envCfg := envsim.DefaultConfig()
	snaps := []*policy.Snapshot{testSnapshotSeed(t, envCfg, 1, 7), testSnapshotSeed(t, envCfg, 2, 8)}
	cfg := DefaultConfig()
	cfg.Episodes, cfg.Bootstrap, cfg.TimelineScenarios = 3, 200, nil
	cfg.Scenarios = []string{"bad-config", "heldout:network-loss-100pct"}
	cfg.Policies = []string{PolicyTrained, "noop", "runbook"}
	res, err := Run(context.Background(), cfg, snaps, envCfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunSeveralRuns(t *testing.T) {
	res := twoRuns(t)
	if !slices.Equal(res.PolicyVersions, []uint64{7, 8}) || res.Runs(PolicyTrained) != 2 || res.Runs("noop") != 1 {
		t.Fatalf("versions %v, runs %d/%d", res.PolicyVersions, res.Runs(PolicyTrained), res.Runs("noop"))
	}
	if n := len(res.Episodes); n != 2*(2+1+1)*3 {
		t.Fatalf("%d episodes, want 24", n)
	}
	// returns[scenario][policy][run][index]
	ret := make(map[string]map[string][][]float64)
	seeds := make(map[[2]any]uint64)
	for _, e := range res.Episodes {
		if (e.Policy != PolicyTrained && e.Run != 0) || e.Run > 1 {
			t.Errorf("%s run %d", e.Policy, e.Run)
		}
		k := [2]any{e.Scenario, e.Index}
		if s, ok := seeds[k]; ok && s != e.Seed {
			t.Errorf("%s/%s run %d episode %d: seed %d, another policy or run had %d", e.Scenario, e.Policy, e.Run, e.Index, e.Seed, s)
		}
		seeds[k] = e.Seed
		if ret[e.Scenario] == nil {
			ret[e.Scenario] = make(map[string][][]float64)
		}
		for len(ret[e.Scenario][e.Policy]) <= e.Run {
			ret[e.Scenario][e.Policy] = append(ret[e.Scenario][e.Policy], make([]float64, 3))
		}
		ret[e.Scenario][e.Policy][e.Run][e.Index] = e.Return
	}
	if r := ret["bad-config"][PolicyTrained]; slices.Equal(r[0], r[1]) {
		t.Errorf("both runs scored %v: the second snapshot was not used", r[0])
	}

	s := res.Summarize()
	if !slices.Equal(s.Scenarios, []string{"bad-config", OverallScenario}) ||
		!slices.Equal(s.HeldOut, []string{"heldout:network-loss-100pct", OverallHeldOut}) {
		t.Fatalf("suites %v / %v", s.Scenarios, s.HeldOut)
	}
	if n := s.ByKey[OverallScenario][PolicyTrained].Metrics["return"].N; n != 6 {
		t.Errorf("overall pools %d trained episodes, want 6 (2 runs x 3, training suite only)", n)
	}
	ar := res.AcrossRuns()
	for k, sc := range []string{"bad-config", "heldout:network-loss-100pct"} {
		tr, noop := ret[sc][PolicyTrained], ret[sc]["noop"][0]
		want := 0.0
		for i := range 3 {
			want += ((tr[0][i]+tr[1][i])/2 - noop[i]) / 3
		}
		c, ok := s.Comparison(sc, "noop")
		if !ok || math.Abs(c.Diff.Mean-want) > 1e-9 || c.Diff.N != 3 {
			t.Errorf("%s: trained - noop %+v, want %.4f over 3 seeds (mean over runs per seed)", sc, c.Diff, want)
		}
		su := ar.Suites[k]
		var runMeans [2]float64
		for r := range 2 {
			runMeans[r] = (tr[r][0] + tr[r][1] + tr[r][2]) / 3
			if math.Abs(su.RunMeans[0][r]-runMeans[r]) > 1e-9 || math.Abs(su.Overall[r]-runMeans[r]) > 1e-9 {
				t.Errorf("%s run %d: mean %g / overall %g, want %g", sc, r, su.RunMeans[0][r], su.Overall[r], runMeans[r])
			}
		}
		if sd := math.Abs(runMeans[0]-runMeans[1]) / math.Sqrt2; math.Abs(su.StdDev-sd) > 1e-9 ||
			su.Min != min(runMeans[0], runMeans[1]) || su.Max != max(runMeans[0], runMeans[1]) {
			t.Errorf("%s: spread min %g max %g sd %g, want sd %g", sc, su.Min, su.Max, su.StdDev, sd)
		}
		// One scenario: the IQM of two run cells is their mean, so the IQM
		// of the paired differences is the paired difference.
		if d := su.DiffIQM["noop"]; math.Abs(d.Mean-want) > 1e-9 || d.N != 2 || !(d.Lo <= d.Hi) {
			t.Errorf("%s: IQM of trained - noop %+v, want %.4f over 2 cells", sc, d, want)
		}
		if iv := su.IQM["noop"]; iv.N != 1 || !(iv.Hi > iv.Lo) {
			t.Errorf("%s: noop IQM %+v: one cell, and an interval from its episodes", sc, iv)
		}
	}

	var md bytes.Buffer
	if err := res.WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 training runs", "## Held-out conditions", "heldout:network-loss-100pct`: one pod drops 100%",
		"| **overall (held-out)** |", "trained − runbook", "## Across training runs", "run 2 (v8)",
		"| **overall (training suite)** |", "IQM, held-out suite", "### Performance profile", "#### held-out suite"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	main := md.String()[strings.Index(md.String(), "## Mean return per scenario (training suite)"):strings.Index(md.String(), "## Held-out conditions")]
	if strings.Contains(main, "heldout:") {
		t.Errorf("held-out condition in the training suite's tables:\n%s", main)
	}
}

// TestHeldOutVerdict: only an interval wholly below zero is "worse than
// runbook beyond its interval".
func TestHeldOutVerdict(t *testing.T) {
	tests := []struct {
		d    Interval
		want string
	}{
		{Interval{Mean: -2, Lo: -3, Hi: -0.1, N: 5}, "worse than runbook beyond its interval"},
		{Interval{Mean: -2, Lo: -3, Hi: 0.5, N: 5}, "within its interval (no significant difference)"},
		{Interval{Mean: 2, Lo: 0.1, Hi: 3, N: 5}, "better than runbook"},
	}
	for _, tc := range tests {
		if got := heldOutVerdict(tc.d); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestRunRefusesMismatchedRuns(t *testing.T) {
	envCfg := envsim.DefaultConfig()
	hist := envCfg
	hist.HistorySteps = 2
	good := testSnapshot(t, envCfg)
	renamed := testSnapshotSeed(t, envCfg, 3, 9)
	names := strings.Split(renamed.Meta[MetaActions], ",")
	names[6] = "undo"
	renamed.Meta[MetaActions] = strings.Join(names, ",")
	tests := []struct {
		name    string
		snaps   []*policy.Snapshot
		wantErr error
		wantMsg string
	}{
		{"other shape", []*policy.Snapshot{good, good, testSnapshot(t, hist)}, ErrIncompatible,
			"runs 1 and 3 of 3 (versions 7 and 7): eval: incompatible policy: observation size 52 and 78"},
		{"other action names", []*policy.Snapshot{good, renamed}, ErrIncompatible, `action 6 is "rollback" in the first, "undo" in the second`},
		{"both unlike the environment", []*policy.Snapshot{testSnapshot(t, hist), testSnapshot(t, hist)}, ErrIncompatible,
			"run 1 of 2 (version 7)"},
		{"nil run", []*policy.Snapshot{good, nil}, ErrNoSnapshot, "run 2 of 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Policies = []string{PolicyTrained}
			_, err := Run(context.Background(), cfg, tc.snaps, envCfg)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
}
