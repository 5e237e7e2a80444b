package main

import (
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// newRegistry returns a process's own metrics registry (never the global
// one) with the Go runtime and process collectors, so that dashboards can
// show memory and CPU next to training metrics.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// newLogger builds the structured logger of one command.
func newLogger(name, level string, w io.Writer) (hclog.Logger, error) {
	lv := hclog.LevelFromString(level)
	if lv == hclog.NoLevel {
		return nil, flagError{fmt.Errorf("--log-level: want trace, debug, info, warn or error, got %q", level)}
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: lv, Output: w}), nil
}
