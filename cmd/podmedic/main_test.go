package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"podmedic/protocol"
)

func TestRunExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		msg  string
	}{
		{"no command", nil, nil, 2, "Usage"},
		{"help", []string{"--help"}, nil, 0, "Commands"},
		{"unknown command", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"bad flag", []string{"train", "--bogus"}, nil, 2, "bogus"},
		{"bad flag value", []string{"train", "--mode", "sideways"}, nil, 2, "mode"},
		{"bad environment value", []string{"train"}, map[string]string{"PODMEDIC_ACTORS": "many"}, 2, "PODMEDIC_ACTORS"},
		{"stray argument", []string{"train", "oops"}, nil, 2, `unexpected argument "oops"`},
		{"unknown scenario", []string{"train", "--scenario", "no-such-scenario"}, nil, 2, "neither a built-in scenario"},
		{"subcommand help", []string{"train", "-h"}, nil, 0, "PODMEDIC_STEPS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			err := Run(context.Background(), c.args, &out, &errOut)
			code := exitCode(err, &errOut)
			if code != c.code {
				t.Fatalf("exit code %d, want %d (stdout %q, stderr %q)", code, c.code, out.String(), errOut.String())
			}
			if all := out.String() + errOut.String(); !strings.Contains(all, c.msg) {
				t.Fatalf("output does not mention %q:\n%s", c.msg, all)
			}
		})
	}
}

func TestFlagsFromEnvironmentLoseToCommandLine(t *testing.T) {
	t.Setenv("PODMEDIC_EPOCHS", "3")
	t.Setenv("PODMEDIC_LR", "0.001")
	var lf learnerFlags
	fs := newFlagSet("x", "x", &bytes.Buffer{})
	lf.register(fs, "r", protocol.ModeAsync)
	if err := parseFlags(fs, []string{"--epochs", "5"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := lf.config(setFlags(fs), 2048)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PPO.Epochs != 5 || cfg.PPO.LearningRate != 0.001 {
		t.Fatalf("epochs %d lr %v, want 5 (flag) and 0.001 (environment)", cfg.PPO.Epochs, cfg.PPO.LearningRate)
	}
}
