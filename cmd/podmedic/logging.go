package main

import (
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"
)

// newLogger builds the structured logger of one command.
func newLogger(name, level string, w io.Writer) (hclog.Logger, error) {
	lv := hclog.LevelFromString(level)
	if lv == hclog.NoLevel {
		return nil, flagError{fmt.Errorf("--log-level: want trace, debug, info, warn or error, got %q", level)}
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: lv, Output: w}), nil
}
