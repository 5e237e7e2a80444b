package learner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"podmedic/envsim"
)

func TestTrainDeterministic(t *testing.T) {
	mk := probes()["obs and action reward"]
	newEnv := func(int) (envsim.Env, error) { return mk(), nil }
	cfg := probeConfig(8 * 32 * 5)
	cfg.NormalizeObs = true
	var calls int
	a, err := Train(context.Background(), cfg, newEnv, func(UpdateStats) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), cfg, newEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 5 || len(a.Stats) != 5 || a.EnvSteps != 8*32*5 || a.PPO.Version() != 5 {
		t.Fatalf("%d progress calls, %d stats, %d env steps, version %d", calls, len(a.Stats), a.EnvSteps, a.PPO.Version())
	}
	for i, v := range a.Net.Params() {
		if b.Net.Params()[i] != v {
			t.Fatalf("param %d differs between runs with one seed", i)
		}
	}
	if len(a.Episodes) != 8*32*5 || len(b.Episodes) != len(a.Episodes) {
		t.Fatalf("%d and %d episodes, want %d one-step episodes", len(a.Episodes), len(b.Episodes), 8*32*5)
	}
	cfg.Seed = 2
	c, err := Train(context.Background(), cfg, newEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for i, v := range a.Net.Params() {
		same = same && c.Net.Params()[i] == v
	}
	if same {
		t.Fatal("different seeds gave identical parameters")
	}
}

func TestTrainCancelAndErrors(t *testing.T) {
	mk := probes()["constant"]
	newEnv := func(int) (envsim.Env, error) { return mk(), nil }
	ctx, cancel := context.WithCancel(context.Background())
	cfg := probeConfig(8 * 32 * 100)
	n := 0
	res, err := Train(ctx, cfg, newEnv, func(UpdateStats) {
		if n++; n == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || len(res.Stats) != 2 {
		t.Fatalf("got %v after %d updates, want context.Canceled after 2", err, len(res.Stats))
	}
	cfg.Horizon = 0
	if _, err := Train(context.Background(), cfg, newEnv, nil); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "horizon") {
		t.Fatalf("got %v, want ErrConfig naming horizon", err)
	}
	cfg = probeConfig(1000)
	wrong := func(i int) (envsim.Env, error) {
		if i == 3 {
			return probes()["action reward"](), nil
		}
		return mk(), nil
	}
	if _, err := Train(context.Background(), cfg, wrong, nil); !errors.Is(err, ErrEnv) {
		t.Fatalf("got %v, want ErrEnv for mixed action spaces", err)
	}
}

func TestDecodeTrainConfig(t *testing.T) {
	cases := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"nested ppo", "num_envs: 4\nhidden: [32]\nppo:\n  epochs: 3\n", ""},
		{"unknown nested field", "ppo:\n  epoch: 3\n", "epoch"},
		{"bad activation", "activation: sigmoid\n", "activation"},
		{"bad hidden", "hidden: [0]\n", "hidden"},
		{"bad ppo field", "ppo:\n  vf_coef: -1\n", "vf_coef"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeTrainConfig(strings.NewReader(tc.doc))
			if tc.wantErr == "" {
				if err != nil || c.NumEnvs != 4 || c.PPO.Epochs != 3 || len(c.Hidden) != 1 || c.PPO.Gamma != 0.99 {
					t.Fatalf("got %+v, %v", c, err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want ErrConfig naming %s", err, tc.wantErr)
			}
		})
	}
}
