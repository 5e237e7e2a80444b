package train_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"podmedic/envsim"
	"podmedic/policy"
	"podmedic/train"
)

// Probe environments (after Andy Jones, "Debugging RL, Without the
// Agonizing Pain"): each isolates one part of the learner, so a failing
// probe names the broken part. They train over the wire like any run. The
// wire carries policies of at least two actions, so the probes whose
// action does not matter have two that pay alike.

// probeEnv is a small configurable episodic environment.
type probeEnv struct {
	actions int
	rng     *rand.Rand
	t       int
	sign    float32
	// step returns the reward and end flags for (t, sign, action).
	step func(e *probeEnv, action int) (float64, bool, bool)
	// obs writes the observation for the current state.
	obs func(e *probeEnv, o []float32)
}

func (e *probeEnv) ObservationSize() int { return 1 }
func (e *probeEnv) NumActions() int      { return e.actions }

func (e *probeEnv) Reset(seed uint64, o []float32) {
	e.rng = rand.New(rand.NewPCG(seed, 0))
	e.t = 0
	e.sign = 1
	if e.rng.IntN(2) == 0 {
		e.sign = -1
	}
	e.obs(e, o)
}

func (e *probeEnv) Step(action int, o []float32) (float64, bool, bool) {
	r, term, trunc := e.step(e, action)
	e.t++
	e.obs(e, o)
	return r, term, trunc
}

func zeroObs(e *probeEnv, o []float32) { o[0] = 0 }
func signObs(e *probeEnv, o []float32) { o[0] = e.sign }

// probes returns the environments by name.
func probes() map[string]func() envsim.Env {
	return map[string]func() envsim.Env{
		// (1) one step, reward 1 whatever the action: value -> 1.
		"constant": func() envsim.Env {
			return &probeEnv{actions: 2, obs: zeroObs,
				step: func(*probeEnv, int) (float64, bool, bool) { return 1, true, false }}
		},
		// (2) observation +-1, reward = observation: value tracks it.
		"obs reward": func() envsim.Env {
			return &probeEnv{actions: 2, obs: signObs,
				step: func(e *probeEnv, _ int) (float64, bool, bool) { return float64(e.sign), true, false }}
		},
		// (3) two steps, observation is the step index, reward 1 only at
		// the end: V(0) = gamma, V(1) = 1.
		"delayed reward": func() envsim.Env {
			return &probeEnv{actions: 2, obs: func(e *probeEnv, o []float32) { o[0] = float32(e.t) },
				step: func(e *probeEnv, _ int) (float64, bool, bool) {
					if e.t == 1 {
						return 1, true, false
					}
					return 0, false, false
				}}
		},
		// (4) two actions, action 1 pays +1, action 0 pays -1.
		"action reward": func() envsim.Env {
			return &probeEnv{actions: 2, obs: zeroObs,
				step: func(_ *probeEnv, a int) (float64, bool, bool) { return float64(2*a - 1), true, false }}
		},
		// (5) observation +-1, action 1 pays when it is +1, action 0 when -1.
		"obs and action reward": func() envsim.Env {
			return &probeEnv{actions: 2, obs: signObs,
				step: func(e *probeEnv, a int) (float64, bool, bool) {
					if (a == 1) == (e.sign > 0) {
						return 1, true, false
					}
					return -1, true, false
				}}
		},
		// (6) reward 1 forever, truncated every 4 steps, no time in the
		// observation: only bootstrapping on truncation gives V = 1/(1-gamma);
		// treating truncation as termination gives about 3.
		"truncation bootstrap": func() envsim.Env {
			return &probeEnv{actions: 2, obs: zeroObs,
				step: func(e *probeEnv, _ int) (float64, bool, bool) { return 1, false, e.t == 3 }}
		},
	}
}

// probeConfig is one actor of 8 envs x 32 steps (256 samples per update)
// for updates updates.
func probeConfig(updates int) train.Config {
	c := train.DefaultConfig()
	c.Learner.Run = "probe"
	c.Actors, c.EnvsPerActor, c.Horizon = 1, 8, 32
	c.Learner.TotalSteps = int64(updates) * c.StepsPerUpdate()
	c.Learner.Hidden = []int{16}
	c.Learner.NormalizeObs = false
	c.Learner.PPO.LearningRate = 3e-3
	c.Learner.PPO.Epochs = 4
	c.Learner.PPO.MinibatchSize = 64
	c.Learner.PPO.AnnealLR = false
	return c
}

// trainProbe trains on a probe and checks on every update that the first
// minibatch's ratio is exactly 1: the learner recomputes bitwise the
// log-probabilities the actor sent.
func trainProbe(t *testing.T, name string, cfg train.Config) *train.Result {
	t.Helper()
	mk := probes()[name]
	res, err := train.Run(context.Background(), cfg, func(int) (envsim.Env, error) { return mk(), nil }, train.Callbacks{
		OnUpdate: func(u *train.Update) error {
			if u.Stats.FirstRatioDev != 0 || u.Stats.Skipped {
				t.Errorf("update %d: first ratio deviation %g, skipped %v", u.Update, u.Stats.FirstRatioDev, u.Stats.Skipped)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != train.StopBudget {
		t.Fatalf("stopped by %q, want the budget", res.StopReason)
	}
	return res
}

// evalProbe returns the value and the probability of action 1 at a raw
// observation, through the final snapshot's normaliser and network.
func evalProbe(t *testing.T, res *train.Result, x float32) (value, p1 float64) {
	t.Helper()
	norm, err := policy.NormalizerFromState(res.Snapshot.Normalizer)
	if err != nil {
		t.Fatal(err)
	}
	net, err := policy.NewFromParams(res.Snapshot.Arch, res.Snapshot.Params)
	if err != nil {
		t.Fatal(err)
	}
	obs := []float32{x}
	norm.Normalize(obs, obs)
	ws := net.NewWorkspace(1)
	ws.Forward(obs, 1)
	lp := make([]float64, 2)
	policy.LogSoftmax(ws.Logits(), lp)
	return float64(ws.Values()[0]), math.Exp(lp[1])
}

func TestProbeValue(t *testing.T) {
	cases := []struct {
		name  string
		obs   []float32
		value []float64
		tol   float64
		part  string
	}{
		{"constant", []float32{0}, []float64{1}, 0.05, "value loss or optimiser"},
		{"obs reward", []float32{1, -1}, []float64{1, -1}, 0.1, "value network input/backprop"},
		{"delayed reward", []float32{0, 1}, []float64{0.99, 1}, 0.05, "discounting / GAE across steps"},
		{"truncation bootstrap", []float32{0}, []float64{10}, 0.5, "bootstrap on truncation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := probeConfig(40)
			if tc.name == "truncation bootstrap" {
				cfg = probeConfig(100)
				cfg.Learner.PPO.Gamma = 0.9
			}
			res := trainProbe(t, tc.name, cfg)
			for i, x := range tc.obs {
				v, _ := evalProbe(t, res, x)
				if math.Abs(v-tc.value[i]) > tc.tol {
					t.Errorf("V(%v) = %.4f, want %.4f +- %g: suspect %s", x, v, tc.value[i], tc.tol, tc.part)
				}
			}
		})
	}
}

func TestProbePolicy(t *testing.T) {
	cases := []struct {
		name      string
		normalize bool
		obs       []float32
		wantP1    []float64 // probability of action 1 wanted (0 or 1)
		part      string
	}{
		{"action reward", false, []float32{0}, []float64{1}, "policy gradient sign / advantage"},
		{"obs and action reward", true, []float32{1, -1}, []float64{1, 0}, "policy network conditioning on obs (with normaliser)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := probeConfig(40)
			cfg.Learner.NormalizeObs = tc.normalize
			res := trainProbe(t, tc.name, cfg)
			for i, x := range tc.obs {
				_, p1 := evalProbe(t, res, x)
				if math.Abs(p1-tc.wantP1[i]) > 0.05 {
					t.Errorf("P(action 1 | %v) = %.4f, want %.0f: suspect %s", x, p1, tc.wantP1[i], tc.part)
				}
			}
			agent, err := policy.NewAgent(res.Snapshot, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range tc.obs {
				if a := agent.Act([]float32{x}); a != int(tc.wantP1[i]) {
					t.Errorf("agent picks %d for obs %v, want %v", a, x, tc.wantP1[i])
				}
			}
		})
	}
}
