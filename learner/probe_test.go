package learner

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"podmedic/envsim"
	"podmedic/policy"
)

// Probe environments (after Andy Jones, "Debugging RL, Without the
// Agonizing Pain"): each isolates one part of the learner, so a failing
// probe names the broken part.

// probeEnv is a small configurable episodic environment.
type probeEnv struct {
	obsSize, actions int
	rng              *rand.Rand
	t                int
	sign             float32
	// step returns the reward and end flags for (t, sign, action).
	step func(e *probeEnv, action int) (float64, bool, bool)
	// obs writes the observation for the current state.
	obs func(e *probeEnv, o []float32)
}

func (e *probeEnv) ObservationSize() int { return e.obsSize }
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
		// (1) one action, one step, reward 1: value -> 1.
		"constant": func() envsim.Env {
			return &probeEnv{obsSize: 1, actions: 1, obs: zeroObs,
				step: func(*probeEnv, int) (float64, bool, bool) { return 1, true, false }}
		},
		// (2) observation +-1, reward = observation: value tracks it.
		"obs reward": func() envsim.Env {
			return &probeEnv{obsSize: 1, actions: 1, obs: signObs,
				step: func(e *probeEnv, _ int) (float64, bool, bool) { return float64(e.sign), true, false }}
		},
		// (3) two steps, observation is the step index, reward 1 only at
		// the end: V(0) = gamma, V(1) = 1.
		"delayed reward": func() envsim.Env {
			return &probeEnv{obsSize: 1, actions: 1, obs: func(e *probeEnv, o []float32) { o[0] = float32(e.t) },
				step: func(e *probeEnv, _ int) (float64, bool, bool) {
					if e.t == 1 {
						return 1, true, false
					}
					return 0, false, false
				}}
		},
		// (4) two actions, action 1 pays +1, action 0 pays -1.
		"action reward": func() envsim.Env {
			return &probeEnv{obsSize: 1, actions: 2, obs: zeroObs,
				step: func(_ *probeEnv, a int) (float64, bool, bool) { return float64(2*a - 1), true, false }}
		},
		// (5) observation +-1, action 1 pays when it is +1, action 0 when -1.
		"obs and action reward": func() envsim.Env {
			return &probeEnv{obsSize: 1, actions: 2, obs: signObs,
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
			return &probeEnv{obsSize: 1, actions: 1, obs: zeroObs,
				step: func(e *probeEnv, _ int) (float64, bool, bool) { return 1, false, e.t == 3 }}
		},
	}
}

func probeConfig(steps int64) TrainConfig {
	c := DefaultTrainConfig()
	c.NumEnvs, c.Horizon, c.TotalSteps = 8, 32, steps
	c.Hidden = []int{16}
	c.NormalizeObs = false
	c.PPO.LearningRate = 3e-3
	c.PPO.Epochs = 4
	c.PPO.AnnealLR = false
	return c
}

func trainProbe(t *testing.T, name string, cfg TrainConfig) *TrainResult {
	t.Helper()
	mk := probes()[name]
	res, err := Train(context.Background(), cfg, func(int) (envsim.Env, error) { return mk(), nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	for u, st := range res.Stats {
		if st.FirstRatioDev != 0 || st.Skipped {
			t.Fatalf("update %d: first ratio deviation %g, skipped %v", u, st.FirstRatioDev, st.Skipped)
		}
	}
	return res
}

// evalProbe returns the value and the probability of action 1 at a raw
// observation, through a snapshot-built Agent path for the normaliser.
func evalProbe(t *testing.T, res *TrainResult, x float32) (value, p1 float64) {
	t.Helper()
	snap := res.Snapshot(nil)
	norm, err := policy.NormalizerFromState(snap.Normalizer)
	if err != nil {
		t.Fatal(err)
	}
	obs := []float32{x}
	norm.Normalize(obs, obs)
	ws := res.Net.NewWorkspace(1)
	ws.Forward(obs, 1)
	logits := ws.Logits()
	if len(logits) > 1 {
		lp := make([]float64, len(logits))
		policy.LogSoftmax(logits, lp)
		p1 = math.Exp(lp[1])
	}
	return ws.Values()[0], p1
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
			cfg := probeConfig(8 * 32 * 40)
			if tc.name == "truncation bootstrap" {
				cfg.PPO.Gamma = 0.9
				cfg.TotalSteps = 8 * 32 * 100
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
			cfg := probeConfig(8 * 32 * 40)
			cfg.NormalizeObs = tc.normalize
			res := trainProbe(t, tc.name, cfg)
			for i, x := range tc.obs {
				_, p1 := evalProbe(t, res, x)
				if math.Abs(p1-tc.wantP1[i]) > 0.05 {
					t.Errorf("P(action 1 | %v) = %.4f, want %.0f: suspect %s", x, p1, tc.wantP1[i], tc.part)
				}
			}
			snap := res.Snapshot(map[string]string{"probe": tc.name})
			agent, err := policy.NewAgent(snap, true, nil)
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
