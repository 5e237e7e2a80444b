package envsim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden traces under testdata/")

// goldenEpisodes pin a few seeded episodes, step by step, so that any
// change of the dynamics shows up in review as a diff of testdata/*.csv.
// Actions are scheduled by step; other steps are no-ops.
var goldenEpisodes = []struct {
	name     string
	scenario string
	seed     uint64
	actions  map[int]int
}{
	{"pod-kill-noop", "pod-kill", 1, nil},
	{"bad-config-rollback", "bad-config", 2, map[int]int{13: ActionRollback}},
	{"memory-leak-restart-then-rollback", "memory-leak-oom", 3, map[int]int{45: ActionRestart, 60: ActionRollback}},
	{"node-failure-restarts", "node-failure", 4, map[int]int{50: ActionRestart, 51: ActionRestart, 52: ActionRestart}},
	{"network-loss-drain-scale-down-up", "network-loss", 5, map[int]int{45: ActionDrain, 46: ActionScaleDown, 47: ActionScaleUp}},
}

func TestGoldenTraces(t *testing.T) {
	for _, g := range goldenEpisodes {
		t.Run(g.name, func(t *testing.T) {
			cfg := DefaultConfig()
			sc, err := ScenarioByName(g.scenario)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Scenario = sc
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			obs := make([]float32, c.ObservationSize())
			c.Reset(g.seed, obs)
			tr := NewTrace(c, "scripted", g.seed)
			tr.Record(c)
			for step := 1; ; step++ {
				a, ok := g.actions[step]
				if !ok {
					a = ActionNoop
				}
				_, term, trunc := c.Step(a, obs)
				tr.Record(c)
				if term || trunc {
					break
				}
			}
			var buf bytes.Buffer
			if err := tr.WriteCSV(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", g.name+".csv")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./envsim -run TestGoldenTraces -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("trace differs from %s; if the change of dynamics is intended, rerun with -update and review the diff", path)
			}
		})
	}
}
