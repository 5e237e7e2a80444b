package main

import (
	"os"
	"path/filepath"
	"testing"

	"podmedic/envsim"
)

func TestEnvConfigScenarioPrecedence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	modeOnly := write("mode.yaml", "action_mode: per-pod\n")
	withScenario := write("sc.yaml", "scenario:\n  base: pod-kill\n")
	tests := []struct {
		name     string
		flags    envFlags
		explicit bool
		want     string
	}{
		{"no file: the flag's default", envFlags{scenario: envsim.MixedScenarioName}, false, envsim.MixedScenarioName},
		{"file without a scenario keeps the command's", envFlags{scenario: envsim.MixedScenarioName, envConfig: modeOnly}, false, envsim.MixedScenarioName},
		{"file's scenario wins over the default", envFlags{scenario: envsim.MixedScenarioName, envConfig: withScenario}, false, "pod-kill"},
		{"an explicit flag wins over the file", envFlags{scenario: "no-fault", envConfig: withScenario}, true, "no-fault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.flags.config(tt.explicit)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Scenario.Name != tt.want {
				t.Fatalf("scenario %q, want %q", cfg.Scenario.Name, tt.want)
			}
		})
	}
	cfg, _ := (&envFlags{scenario: envsim.MixedScenarioName, envConfig: modeOnly}).config(false)
	if cfg.ActionMode != envsim.ActionModePerPod {
		t.Fatal("the file's action mode was lost")
	}
}
