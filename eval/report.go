package eval

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Report file names inside the output directory.
const (
	ReportFile     = "report.md"
	EpisodesFile   = "episodes.csv"
	ReturnsChart   = "returns.png"
	RecoveryChart  = "recovery.png"
	timelinePrefix = "timeline-"
)

// WriteReport writes the Markdown report, the CSV of every episode, the
// charts and the behaviour timelines into dir (created if missing).
func (r *Results) WriteReport(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	s := r.Summarize()
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{EpisodesFile, r.WriteEpisodesCSV},
		{ReturnsChart, func(w io.Writer) error { return writeReturnsChart(w, r, s) }},
		{RecoveryChart, func(w io.Writer) error { return writeRecoveryChart(w, r) }},
	}
	for _, tl := range r.Timelines {
		titles := make([]string, len(tl.Traces))
		for i, tr := range tl.Traces {
			titles[i] = fmt.Sprintf("%s: %s, seed %d, return %.1f", tl.Scenario, tr.Policy, tl.Seed, tr.Return())
		}
		files = append(files, struct {
			name  string
			write func(io.Writer) error
		}{timelinePrefix + tl.Scenario + ".png", func(w io.Writer) error { return WriteTimelinesPNG(w, tl.Traces, titles) }})
	}
	if pr := r.Profile(); pr != nil {
		files = append(files, struct {
			name  string
			write func(io.Writer) error
		}{ProfileChart, func(w io.Writer) error { return writeProfileChart(w, pr) }})
	}
	files = append(files, struct {
		name  string
		write func(io.Writer) error
	}{ReportFile, func(w io.Writer) error { return r.WriteMarkdown(w, s) }})
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.write); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return bw.Flush()
}

// WriteEpisodesCSV writes one row per episode.
func (r *Results) WriteEpisodesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"scenario", "sampled", "policy", "run", "episode", "seed", "return", "steps", "terminated",
		"incidents", "recovered", "mean_recovery_steps", "recovery_steps", "slo_attainment", "availability",
		"replica_steps", "actions", "invalid", "needless", "latency_p95_ms", "rollbacks", "needed_rollbacks"}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write episodes csv: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	it := strconv.Itoa
	for i := range r.Episodes {
		e := &r.Episodes[i]
		rec := make([]string, len(e.RecoverySteps))
		for j, v := range e.RecoverySteps {
			rec[j] = it(v)
		}
		row := []string{e.Scenario, e.Sampled, e.Policy, it(e.Run), it(e.Index), strconv.FormatUint(e.Seed, 10),
			f(e.Return), it(e.Steps), strconv.FormatBool(e.Terminated), it(e.Incidents), it(e.Recovered),
			f(e.MeanRecoverySteps()), strings.Join(rec, ";"), f(e.SLOAttainment), f(e.Availability),
			it(e.ReplicaSteps), it(e.Actions), it(e.Invalid), it(e.Needless), f(e.LatencyP95Ms), it(e.Rollbacks),
			it(e.NeededRollbacks)}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write episodes csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write episodes csv: %w", err)
	}
	return nil
}

// fmtIv formats an interval as "mean [lo, hi]".
func fmtIv(iv Interval, prec int) string {
	if iv.N == 0 || math.IsNaN(iv.Mean) {
		return "–"
	}
	return fmt.Sprintf("%.*f [%.*f, %.*f]", prec, iv.Mean, prec, iv.Lo, prec, iv.Hi)
}

// metricPrecision is the number of decimals shown per metric.
var metricPrecision = map[string]int{"return": 1, "recovery_steps": 1, "slo_attainment": 3, "availability": 4,
	"replica_steps": 0, "actions": 1, "needless": 1, "latency_p95_ms": 0, "terminated": 2, "rollbacks": 2,
	"needless_rollbacks": 2}

// WriteMarkdown writes the report: overview, the training suite's return
// table and paired differences, the held-out table, the across-runs
// statistics, per-scenario tables, policy analysis and timelines.
func (r *Results) WriteMarkdown(w io.Writer, s *Summaries) error {
	ew := &errWriter{w: w}
	pct := int(math.Round(r.Config.Confidence * 100))
	ew.printf("# podmedic evaluation\n\n")
	ew.printf("%d episodes per scenario and policy, %d scenarios, policies %s; every policy sees the same seeds "+
		"(seed family %d, disjoint from training seeds). Intervals are %d%% percentile bootstrap intervals "+
		"(%d resamples) of the mean.", r.Config.Episodes, len(r.Scenarios), strings.Join(r.Policies, ", "),
		r.Config.Seed, pct, r.Config.Bootstrap)
	if s.Headline != "" {
		n := r.Runs(s.Headline)
		vs := make([]string, len(r.PolicyVersions))
		for i, v := range r.PolicyVersions {
			vs[i] = strconv.FormatUint(v, 10)
		}
		if n == 1 {
			ew.printf(" Trained policy version %s.", strings.Join(vs, ""))
		} else {
			ew.printf(" Trained policy: %d training runs of one configuration (versions %s), evaluated on the "+
				"same seeds; its tables pool the runs, and its paired differences pair each seed's mean over "+
				"the runs.", n, strings.Join(vs, ", "))
		}
	}
	ew.printf("\n\n")
	if len(s.Scenarios) > 0 {
		ew.printf("## Mean return per scenario (training suite)\n\n")
		ew.printf("The scenarios of the training mix and the mix itself; held-out conditions have their own " +
			"table below, outside the overall row.\n\n")
		r.writeReturnTable(ew, s, s.Scenarios)
		ew.printf("\n![returns](%s)\n\n", ReturnsChart)
		if s.Headline != "" {
			r.writeComparisons(ew, s, pct)
		}
	}
	r.writeHeldOut(ew, s, pct)
	r.writeAcrossRuns(ew, s, pct)
	ew.printf("## All measures, overall and per scenario\n\n")
	ew.printf("Time to recover: steps of 15 s from the start of an incident (a crash or fault that broke health "+
		"or the SLO) until every pod is healthy and the SLO met; unrecovered incidents count until the episode "+
		"end; averaged over episodes with incidents. SLO attainment: share of steps with p95 and error rate "+
		"within target. Availability: mean share of requests served. Replica-steps: live replicas summed over "+
		"steps (cost). Needless: actions taken while nothing was wrong. Terminated: share of episodes where every "+
		"pod went down. Rollbacks: applied rollbacks per episode; needless rollbacks: those that did not undo a "+
		"faulty template (see the policy analysis).\n\n![recovery](%s)\n\n", RecoveryChart)
	ms := Metrics()
	for _, sc := range slices.Concat(s.Scenarios, s.HeldOut) {
		ew.printf("### %s\n\n| Policy |", sc)
		for _, m := range ms {
			ew.printf(" %s |", m.Label)
		}
		ew.printf("\n|---|%s\n", strings.Repeat("---|", len(ms)))
		for _, p := range r.Policies {
			ew.printf("| %s |", p)
			for _, m := range ms {
				ew.printf(" %s |", fmtIv(s.ByKey[sc][p].Metrics[m.Name], metricPrecision[m.Name]))
			}
			ew.printf("\n")
		}
		ew.printf("\n")
	}
	r.writeAnalysis(ew, s)
	if len(r.Timelines) > 0 {
		ew.printf("## Behaviour timelines\n\nThe same seed played by each policy (the trained policy's first run); " +
			"red lines mark fault starts, blue lines applied actions.\n\n")
		for _, tl := range r.Timelines {
			ew.printf("### %s (seed %d)\n\n", tl.Scenario, tl.Seed)
			for _, tr := range tl.Traces {
				ew.printf("- %s: return %.1f\n", tr.Policy, tr.Return())
			}
			ew.printf("\n![%s](%s%s.png)\n\n", tl.Scenario, timelinePrefix, tl.Scenario)
		}
	}
	return ew.err
}

// writeReturnTable writes the mean return of every policy on scenarios
// (pools in bold), the best per row in bold.
func (r *Results) writeReturnTable(ew *errWriter, s *Summaries, scenarios []string) {
	ew.printf("| Scenario | %s |\n|---|%s\n", strings.Join(r.Policies, " | "), strings.Repeat("---|", len(r.Policies)))
	for _, sc := range scenarios {
		cells := make([]string, len(r.Policies))
		best := math.Inf(-1)
		for _, p := range r.Policies {
			best = math.Max(best, s.ByKey[sc][p].Metrics["return"].Mean)
		}
		for i, p := range r.Policies {
			iv := s.ByKey[sc][p].Metrics["return"]
			cells[i] = fmtIv(iv, 1)
			if iv.Mean == best {
				cells[i] = "**" + cells[i] + "**"
			}
		}
		name := sc
		if sc == OverallScenario || sc == OverallHeldOut {
			name = "**" + sc + "**"
		}
		ew.printf("| %s | %s |\n", name, strings.Join(cells, " | "))
	}
}

func (r *Results) writeComparisons(ew *errWriter, s *Summaries, pct int) {
	ew.printf("## Paired differences of return: %s minus each baseline\n\n", s.Headline)
	ew.printf("Mean of the per-seed difference with its %d%% bootstrap interval; where the interval covers zero "+
		"there is no significant difference.\n\n", pct)
	var others []string
	for _, p := range r.Policies {
		if p != s.Headline {
			others = append(others, p)
		}
	}
	ew.printf("| Scenario | %s |\n|---|%s\n", strings.Join(others, " | "), strings.Repeat("---|", len(others)))
	for _, sc := range s.Scenarios {
		ew.printf("| %s |", sc)
		for _, p := range others {
			c, _ := s.Comparison(sc, p)
			ew.printf(" %s %s |", fmtDiff(c.Diff), verdict(c.Diff))
		}
		ew.printf("\n")
	}
	ew.printf("\n")
}

// fmtDiff formats a paired difference as "+mean [+lo, +hi]".
func fmtDiff(d Interval) string {
	if d.N == 0 || math.IsNaN(d.Mean) {
		return "–"
	}
	return fmt.Sprintf("%+.1f [%+.1f, %+.1f]", d.Mean, d.Lo, d.Hi)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}
