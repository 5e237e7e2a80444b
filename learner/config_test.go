package learner

import (
	"errors"
	"strings"
	"testing"
	"time"

	"podmedic/learner/ppo"
	"podmedic/protocol"
)

func TestDecodePPOConfig(t *testing.T) {
	cases := []struct {
		name    string
		doc     string
		wantErr string // substring naming the field, "" for success
		check   func(c ppo.Config) bool
	}{
		{"empty gives defaults", "", "", func(c ppo.Config) bool { return c.Gamma == 0.99 && c.Epochs == 10 }},
		{"yaml override", "gamma: 0.9\nepochs: 4\n", "", func(c ppo.Config) bool { return c.Gamma == 0.9 && c.Epochs == 4 && c.ClipRange == 0.2 }},
		{"json", `{"clip_range": 0.1, "target_kl": 0.02}`, "", func(c ppo.Config) bool { return c.ClipRange == 0.1 && c.TargetKL == 0.02 }},
		{"unknown field", "gama: 0.9\n", "gama", nil},
		{"bad gamma", "gamma: 1.5\n", "gamma", nil},
		{"bad minibatch", "minibatch_size: 1\n", "minibatch_size", nil},
		{"bad adam eps", "adam_eps: 0\n", "adam_eps", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodePPOConfig(strings.NewReader(tc.doc))
			if tc.wantErr != "" {
				if !errors.Is(err, ppo.ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want ErrConfig naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("got %+v, %v", c, err)
			}
		})
	}
}

func TestServiceConfigValidateNamesTheField(t *testing.T) {
	cases := []struct {
		field  string
		mutate func(c *ServiceConfig)
	}{
		{"run", func(c *ServiceConfig) { c.Run = "a b" }},
		{"mode", func(c *ServiceConfig) { c.Mode = "batch" }},
		{"max_policy_lag", func(c *ServiceConfig) { c.MaxPolicyLag = -1 }},
		{"min_actors", func(c *ServiceConfig) { c.MinActors = 0 }},
		{"steps_per_update", func(c *ServiceConfig) { c.TotalSteps = 10 }},
		{"checkpoint_every", func(c *ServiceConfig) { c.CheckpointEvery = 0 }},
		{"hidden", func(c *ServiceConfig) { c.Hidden = []int{8, 0} }},
		{"batch_wait", func(c *ServiceConfig) { c.BatchWait = -time.Second }},
		{"stall_timeout", func(c *ServiceConfig) { c.StallTimeout = -time.Second }},
		{"max_actors", func(c *ServiceConfig) { c.MaxActors = 0 }},
		{"join_rate", func(c *ServiceConfig) { c.JoinRate = 0 }},
		{"join_burst", func(c *ServiceConfig) { c.JoinBurst = 0 }},
		{"ppo", func(c *ServiceConfig) { c.PPO.Epochs = 0 }},
	}
	if err := DefaultServiceConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for _, tc := range cases {
		c := DefaultServiceConfig()
		tc.mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v, want an error naming it", tc.field, err)
		}
	}
}

func TestEnvSpecValidate(t *testing.T) {
	cases := []struct {
		name string
		spec EnvSpec
		ok   bool
	}{
		{"plain", EnvSpec{ObsSize: 4, NumActions: 2}, true},
		{"named", EnvSpec{ObsSize: 2, NumActions: 3, ActionNames: []string{"a", "b", "c"}, ObsNames: []string{"x", "y"}}, true},
		{"one action", EnvSpec{ObsSize: 4, NumActions: 1}, false},
		{"no observation", EnvSpec{ObsSize: 0, NumActions: 2}, false},
		{"too many actions", EnvSpec{ObsSize: 1, NumActions: protocol.DefaultLimits().MaxActions + 1}, false},
		{"names short", EnvSpec{ObsSize: 2, NumActions: 3, ActionNames: []string{"a"}}, false},
		{"obs names long", EnvSpec{ObsSize: 1, NumActions: 2, ObsNames: []string{"x", "y"}}, false},
	}
	for _, tc := range cases {
		if err := tc.spec.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
