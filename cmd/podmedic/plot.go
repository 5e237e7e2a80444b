package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"podmedic/eval"
)

// runPlot draws training curves from RUN_DIR/progress.csv into RUN_DIR
// (or --out).
func runPlot(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plot", "plot RUN_DIR [--out DIR]\n\n"+
		"Draws training curves (return, episode length, PPO diagnostics, throughput)\n"+
		"from RUN_DIR/progress.csv as PNG files in RUN_DIR or --out.", stderr)
	out := fs.String("out", "", "output directory (default RUN_DIR)")
	if err := parseFlags(fs, reorderPlotArgs(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return flagError{errors.New("plot: want exactly one RUN_DIR argument")}
	}
	dir := fs.Arg(0)
	if *out == "" {
		*out = dir
	}
	paths, err := eval.WriteCurves(filepath.Join(dir, "progress.csv"), *out)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// reorderPlotArgs moves the positional RUN_DIR behind the flags, so that
// both `plot DIR --out X` and `plot --out X DIR` work (package flag stops
// at the first positional argument).
func reorderPlotArgs(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			if (a == "--out" || a == "-out") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(append(flags, "--"), pos...)
}
