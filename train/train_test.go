package train_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"podmedic/envsim"
	"podmedic/learner"
	"podmedic/protocol"
	"podmedic/train"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// Trainer, learner, actor, connection and server must stop on Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// smallConfig is 2 actors x 2 envs x 16 steps: 64 env steps per update.
func smallConfig(updates int) train.Config {
	c := probeConfig(updates)
	c.Learner.Run = "small"
	c.Actors, c.EnvsPerActor, c.Horizon = 2, 2, 16
	c.Learner.TotalSteps = int64(updates) * c.StepsPerUpdate()
	return c
}

func probeFactory(name string) train.EnvFactory {
	mk := probes()[name]
	return func(int) (envsim.Env, error) { return mk(), nil }
}

// TestBudgetRoundsUpToWholeUpdates: a run updates until it has consumed
// at least TotalSteps env steps, so it makes ceil(TotalSteps/64) updates
// of 64 steps and never falls short of its budget (Stable-Baselines3's
// rule).
func TestBudgetRoundsUpToWholeUpdates(t *testing.T) {
	cases := []struct {
		budget, updates int64
	}{
		{1, 1}, {64, 1}, {65, 2}, {1000, 16}, {1024, 16},
	}
	for _, tc := range cases {
		cfg := smallConfig(1)
		cfg.Learner.TotalSteps = tc.budget
		var calls int64
		res, err := train.Run(context.Background(), cfg, probeFactory("constant"), train.Callbacks{
			OnUpdate: func(*train.Update) error { calls++; return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Updates != tc.updates || calls != tc.updates || res.EnvSteps != 64*tc.updates || res.Version != uint64(tc.updates) {
			t.Errorf("budget %d: %d updates (%d callbacks), %d env steps, version %d; want %d updates of 64 steps",
				tc.budget, res.Updates, calls, res.EnvSteps, res.Version, tc.updates)
		}
		if res.StopReason != train.StopBudget {
			t.Errorf("budget %d: stopped by %q", tc.budget, res.StopReason)
		}
	}
}

// record is what the callbacks of one run saw.
type record struct {
	episodes []train.Episode
	updates  []train.Update
	// episodesBefore[i] is the number of episodes reported before update i.
	episodesBefore []int
}

func (r *record) callbacks() train.Callbacks {
	return train.Callbacks{
		OnEpisode: func(e train.Episode) error { r.episodes = append(r.episodes, e); return nil },
		OnUpdate: func(u *train.Update) error {
			r.episodesBefore = append(r.episodesBefore, len(r.episodes))
			r.updates = append(r.updates, *u)
			return nil
		},
	}
}

// TestCallbacksSeeEveryEpisodeAndUpdate checks the order and the global
// step of what the callbacks get. Every probe episode lasts one step, so
// each rollout of 2 envs x 16 steps carries 32 episodes.
func TestCallbacksSeeEveryEpisodeAndUpdate(t *testing.T) {
	const updates = 5
	var r record
	res, err := train.Run(context.Background(), smallConfig(updates), probeFactory("obs and action reward"), r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.updates) != updates || len(r.episodes) != updates*64 {
		t.Fatalf("%d updates and %d episodes reported, want %d and %d", len(r.updates), len(r.episodes), updates, updates*64)
	}
	for i, u := range r.updates {
		if u.Update != int64(i+1) || u.Version != uint64(i+1) || u.EnvSteps != int64(64*(i+1)) || u.Rollouts != 2 || u.Episodes != 64 {
			t.Fatalf("update %d reported as %+v", i+1, u)
		}
		if r.episodesBefore[i] != 64*(i+1) {
			t.Fatalf("%d episodes reported before update %d, want %d: episodes come before their update", r.episodesBefore[i], i+1, 64*(i+1))
		}
		if u.Stats.Samples != 64 || u.Stats.FirstRatioDev != 0 || u.Elapsed <= 0 {
			t.Fatalf("update %d: stats %+v, elapsed %s", i+1, u.Stats, u.Elapsed)
		}
	}
	for j, e := range r.episodes {
		u := j / 64      // the update that consumed it
		k := j % 64 / 32 // its rollout in the batch: actor-0's, then actor-1's
		want := int64(64*u + 32*(k+1))
		if e.EnvSteps != want || e.Actor != []string{"actor-0", "actor-1"}[k] || e.Version != uint64(u) {
			t.Fatalf("episode %d: env steps %d, actor %s, version %d; want %d, actor-%d, version %d", j, e.EnvSteps, e.Actor, e.Version, want, k, u)
		}
		if e.Length != 1 || !e.Terminated || (e.Return != 1 && e.Return != -1) || e.Scenario != "" {
			t.Fatalf("episode %d: %+v", j, e)
		}
	}
	if res.EnvSteps != 64*updates {
		t.Fatalf("result at %d env steps", res.EnvSteps)
	}
}

// TestSyncModeIsReproducible: two sync runs with one seed see the same
// episodes and updates and end with bitwise equal parameters, the first
// on one core (GOMAXPROCS 1: the learner's pool has one worker), the
// second on two; another seed ends elsewhere.
func TestSyncModeIsReproducible(t *testing.T) {
	for _, mode := range []protocol.Mode{protocol.ModeSync, protocol.ModePipelined} {
		t.Run(string(mode), func(t *testing.T) { testReproducible(t, mode) })
	}
}

// testReproducible: two seeded runs in mode, on one core and on two, give
// bitwise the same parameters, episodes and losses; another seed does
// not. In sync mode every update's first minibatch has ratio exactly 1;
// in pipelined mode only the first update's (its rollouts were collected
// with the weights it starts from), every later one trains on rollouts
// one version old.
func testReproducible(t *testing.T, mode protocol.Mode) {
	run := func(seed uint64, procs int) (*train.Result, record) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		ecfg := testEnvConfig(t)
		cfg := smallConfig(4)
		cfg.Learner.Mode = mode
		cfg.Learner.Seed = seed
		cfg.Learner.NormalizeObs = true
		var r record
		res, err := train.Run(context.Background(), cfg, func(int) (envsim.Env, error) { return envsim.New(ecfg) }, r.callbacks())
		if err != nil {
			t.Fatal(err)
		}
		return res, r
	}
	a, ra := run(7, 1)
	b, rb := run(7, 2)
	for i := range a.Snapshot.Params {
		if a.Snapshot.Params[i] != b.Snapshot.Params[i] {
			t.Fatalf("parameter %d differs between two seeded sync runs", i)
		}
	}
	if len(ra.episodes) == 0 || len(ra.episodes) != len(rb.episodes) {
		t.Fatalf("%d and %d episodes", len(ra.episodes), len(rb.episodes))
	}
	for i := range ra.episodes {
		if ra.episodes[i] != rb.episodes[i] {
			t.Fatalf("episode %d: %+v vs %+v", i, ra.episodes[i], rb.episodes[i])
		}
	}
	for i := range ra.updates {
		sa, sb := ra.updates[i].Stats, rb.updates[i].Stats
		if sa.PolicyLoss != sb.PolicyLoss || sa.ValueLoss != sb.ValueLoss || sa.ApproxKL != sb.ApproxKL {
			t.Fatalf("update %d: stats differ: %+v vs %+v", i+1, sa, sb)
		}
	}
	if ra.episodes[0].Scenario == "" {
		t.Fatal("cluster episodes carry no scenario")
	}
	if len(ra.updates) != 4 {
		t.Fatalf("%d updates, want 4", len(ra.updates))
	}
	for i, u := range ra.updates {
		if lagged := mode == protocol.ModePipelined && i > 0; (u.Stats.FirstRatioDev > 0) != lagged {
			t.Errorf("update %d: first-minibatch |ratio-1| %g; want > 0 only if trained on an older version's rollouts (%v)",
				i+1, u.Stats.FirstRatioDev, lagged)
		}
	}
	c, _ := run(8, 2)
	same := true
	for i := range a.Snapshot.Params {
		same = same && a.Snapshot.Params[i] == c.Snapshot.Params[i]
	}
	if same {
		t.Fatal("different seeds gave identical parameters")
	}
}

func TestEvalStopsOnReturnThreshold(t *testing.T) {
	cfg := smallConfig(200)
	evalEnv := probeFactory("obs and action reward")
	var seen []*train.EvalResult
	res, err := train.Run(context.Background(), cfg, probeFactory("obs and action reward"), train.Callbacks{
		// Sampled actions: the mean return reflects the probabilities,
		// not the argmax, which a barely trained policy already gets right.
		Eval: &train.Eval{NewEnv: evalEnv, Envs: 2, Episodes: 20, Every: 2, Stochastic: true, StopAtReturn: new(0.9)},
		OnUpdate: func(u *train.Update) error {
			if (u.Eval != nil) != (u.Update%2 == 0) {
				t.Errorf("update %d: evaluation %v, want one every 2 updates", u.Update, u.Eval)
			}
			if u.Eval != nil {
				seen = append(seen, u.Eval)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != train.StopReturnThreshold || res.Updates >= 200 {
		t.Fatalf("stopped by %q after %d updates, want the threshold well before 200", res.StopReason, res.Updates)
	}
	last := res.Evals[len(res.Evals)-1]
	if last.MeanReturn < 0.9 || len(last.Returns) != 20 || last.Update != res.Updates || last.Version != res.Version || !last.Best {
		t.Fatalf("last evaluation %+v at update %d", last, res.Updates)
	}
	if len(seen) != len(res.Evals) || res.Best().Update != last.Update {
		t.Fatalf("%d evaluations seen by OnUpdate, %d in the result", len(seen), len(res.Evals))
	}
	if first := res.Evals[0]; first.MeanReturn > 0.5 {
		t.Fatalf("the untrained policy already scored %v: the test proves nothing", first.MeanReturn)
	}
}

// TestEvalStopsOnPlateau: every action of the constant probe pays 1, so
// no evaluation beats the first, and Patience 3 stops after the fourth.
func TestEvalStopsOnPlateau(t *testing.T) {
	res, err := train.Run(context.Background(), smallConfig(100), probeFactory("constant"), train.Callbacks{
		Eval: &train.Eval{NewEnv: probeFactory("constant"), Episodes: 3, Every: 3, Patience: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != train.StopPlateau || len(res.Evals) != 4 || res.Updates != 12 {
		t.Fatalf("stopped by %q after %d updates and %d evaluations, want the plateau after 12 and 4", res.StopReason, res.Updates, len(res.Evals))
	}
	if !res.Evals[0].Best || res.Evals[1].Best || res.Evals[0].MeanReturn != 1 || res.Evals[0].MeanLength != 1 {
		t.Fatalf("evaluations %+v", res.Evals)
	}
}

func TestCallbackStopsAndErrors(t *testing.T) {
	res, err := train.Run(context.Background(), smallConfig(50), probeFactory("constant"), train.Callbacks{
		OnUpdate: func(u *train.Update) error {
			if u.Update == 3 {
				return train.ErrStop
			}
			return nil
		},
	})
	if err != nil || res.StopReason != train.StopCallback || res.Updates != 3 {
		t.Fatalf("ErrStop at update 3: %v, stopped by %q after %d updates", err, res.StopReason, res.Updates)
	}
	boom := errors.New("boom")
	var after int
	res, err = train.Run(context.Background(), smallConfig(50), probeFactory("constant"), train.Callbacks{
		OnEpisode: func(e train.Episode) error {
			if e.EnvSteps > 64 {
				return boom
			}
			return nil
		},
		OnUpdate: func(u *train.Update) error {
			if u.Update > 1 {
				after++
			}
			return nil
		},
	})
	if !errors.Is(err, boom) || res.StopReason != train.StopError || res.Updates != 2 || after != 0 {
		t.Fatalf("episode callback error: %v, stopped by %q after %d updates, %d callbacks after the error", err, res.StopReason, res.Updates, after)
	}
}

func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := train.Run(ctx, smallConfig(0), probeFactory("constant"), train.Callbacks{
		OnUpdate: func(u *train.Update) error {
			if u.Update == 2 {
				cancel()
			}
			return nil
		},
	})
	if !errors.Is(err, context.Canceled) || res == nil || res.StopReason != train.StopInterrupted || res.Updates < 2 {
		t.Fatalf("got %v, result %+v", err, res)
	}
}

// TestCheckpointsAndResume: a checkpoint every 2 updates; a second run on
// the same directory resumes at the saved version and env steps and
// continues the update count; a third, whose budget is already used, ends
// at once.
func TestCheckpointsAndResume(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(6)
	cfg.Learner.CheckpointDir, cfg.Learner.CheckpointEvery, cfg.Learner.KeepCheckpoints = dir, 2, 10
	cfg.Learner.ProgressPath = filepath.Join(dir, "progress.csv")
	var r record
	if _, err := train.Run(context.Background(), cfg, probeFactory("constant"), r.callbacks()); err != nil {
		t.Fatal(err)
	}
	for i, u := range r.updates {
		want := ""
		if u.Update%2 == 0 {
			want = filepath.Join(dir, learner.CheckpointName(u.Version))
		}
		if u.Checkpoint != want {
			t.Fatalf("update %d reports checkpoint %q, want %q", i+1, u.Checkpoint, want)
		}
		if _, err := os.Stat(want); want != "" && err != nil {
			t.Fatal(err)
		}
	}
	cfg.Learner.TotalSteps = 10 * cfg.StepsPerUpdate()
	var r2 record
	res, err := train.Run(context.Background(), cfg, probeFactory("constant"), r2.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	if first := r2.updates[0]; first.Update != 7 || first.Version != 7 || first.EnvSteps != 7*64 {
		t.Fatalf("resumed run's first update %+v, want update 7 at 448 env steps", first)
	}
	if res.Updates != 10 || res.EnvSteps != 640 || res.StopReason != train.StopBudget {
		t.Fatalf("resumed run ended at %d updates, %d env steps, %q", res.Updates, res.EnvSteps, res.StopReason)
	}
	data, err := os.ReadFile(cfg.Learner.ProgressPath)
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(data), "\n"); rows != 11 {
		t.Fatalf("progress.csv has %d lines, want a header and 10 rows", rows)
	}
	var r3 record
	res, err = train.Run(context.Background(), cfg, probeFactory("constant"), r3.callbacks())
	if err != nil || res.StopReason != train.StopBudget || res.Updates != 10 || len(r3.updates) != 0 {
		t.Fatalf("run over a used budget: %v, %q, %d updates, %d new", err, res.StopReason, res.Updates, len(r3.updates))
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	good := probeFactory("constant")
	oneAction := func(int) (envsim.Env, error) { return &probeEnv{actions: 1, obs: zeroObs}, nil }
	mixed := func(i int) (envsim.Env, error) {
		if i == 3 {
			return &probeEnv{actions: 3, obs: zeroObs}, nil
		}
		return good(i)
	}
	failing := func(i int) (envsim.Env, error) { return nil, errors.New("no cluster") }
	cases := []struct {
		name    string
		cfg     func(*train.Config)
		newEnv  train.EnvFactory
		cb      train.Callbacks
		want    string
		wantCfg bool
	}{
		{"no factory", nil, nil, train.Callbacks{}, "factory", true},
		{"zero actors", func(c *train.Config) { c.Actors = 0 }, good, train.Callbacks{}, "actors", true},
		{"bad horizon", func(c *train.Config) { c.Horizon = 5000 }, good, train.Callbacks{}, "horizon", true},
		{"bad learner mode", func(c *train.Config) { c.Learner.Mode = "fast" }, good, train.Callbacks{}, "mode", true},
		{"one action", nil, oneAction, train.Callbacks{}, "actions", true},
		{"mixed shapes", nil, mixed, train.Callbacks{}, "env 3", true},
		{"factory error", nil, failing, train.Callbacks{}, "no cluster", false},
		{"names", func(c *train.Config) { c.ActionNames = []string{"a"} }, good, train.Callbacks{}, "action names", true},
		{"eval shape", nil, good, train.Callbacks{Eval: &train.Eval{NewEnv: func(int) (envsim.Env, error) { return &probeEnv{actions: 3, obs: zeroObs}, nil }}}, "eval env 0", true},
		{"eval every", nil, good, train.Callbacks{Eval: &train.Eval{NewEnv: good, Every: -1}}, "every", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig(1)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			_, err := train.New(cfg, tc.newEnv, tc.cb)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, train.ErrConfig) != tc.wantCfg {
				t.Fatalf("got %v, want an error naming %q (config error: %v)", err, tc.want, tc.wantCfg)
			}
		})
	}
}

// TestAsyncRun: an async run also honours its budget (batches vary in
// size, so: every update but the last started below the budget, and the
// last reached it) and learns the action probe.
func TestAsyncRun(t *testing.T) {
	cfg := smallConfig(40)
	cfg.Learner.Mode = protocol.ModeAsync
	var steps []int64
	res, err := train.Run(context.Background(), cfg, probeFactory("action reward"), train.Callbacks{
		OnUpdate: func(u *train.Update) error { steps = append(steps, u.EnvSteps); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	budget := cfg.Learner.TotalSteps
	n := len(steps)
	if n < 2 || steps[n-1] != res.EnvSteps || res.EnvSteps < budget || steps[n-2] >= budget {
		t.Fatalf("async run with a budget of %d: env steps after each update %v", budget, steps)
	}
	if _, p1 := evalProbe(t, res, 0); p1 < 0.9 {
		t.Fatalf("async run: P(action 1) = %.3f, want > 0.9", p1)
	}
}
