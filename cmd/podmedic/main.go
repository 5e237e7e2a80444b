// Command podmedic trains reinforcement-learning agents that recover a
// Kubernetes-like service from failures. One binary, one file per
// subcommand; main only maps errors to exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: run parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand by name.
var commands = map[string]command{
	"actor":       {"run an actor process: simulated clusters stepped with the latest policy", runActor},
	"evaluate":    {"compare a policy (file, NATS or HTTP) with the baselines on the scenario suite", runEvaluate},
	"healthcheck": {"probe an HTTP health endpoint (for container healthchecks)", runHealthcheck},
	"learner":     {"run the PPO learner process: trains on actors' rollouts, serves the policy", runLearner},
	"nats":        {"run a standalone NATS server for multi-process runs", runNATS},
	"plot":        {"draw training curves (PNG) from a run directory's progress.csv", runPlot},
	"policy":      {"list or pull a run's policy snapshots from its JetStream store (no learner needed)", runPolicy},
	"train":       {"train a policy in one process: embedded NATS, learner and actors", runTrain},
	"simulate":    {"run one episode of a scenario with a policy and draw its timeline", runSimulate},
	"watch":       {"print a run's weights broadcasts (epoch, version) as a subscriber sees them", runWatch},

	"dashboard-preview": {"draw a run's Grafana dashboard from Prometheus into a PNG, without Grafana", runDashboardPreview},
}

// errUsage marks a usage mistake already reported to the user (exit code 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// A second signal after the first forces exit, like litestream.
		<-ctx.Done()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		fmt.Fprintln(os.Stderr, "podmedic: second interrupt, exiting now")
		os.Exit(130)
	}()
	err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err and maps it to a process exit code: 0 success,
// 2 usage error, 130 interrupted, 1 anything else.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		if err != errUsage {
			fmt.Fprintf(stderr, "podmedic: %v\n", err)
		}
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "podmedic: interrupted")
		return 130
	default:
		fmt.Fprintf(stderr, "podmedic: %v\n", err)
		return 1
	}
}

// Run executes the subcommand named by args[0].
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "podmedic: unknown command %q\n\n", args[0])
		usage(stderr)
		return errUsage
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) && isFlagError(err) {
		return fmt.Errorf("%v (%w: see podmedic %s -h)", err, errUsage, args[0])
	}
	return err
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "podmedic trains RL agents that recover a Kubernetes-like service from failures.")
	fmt.Fprintln(w, "\nUsage: podmedic <command> [flags]   (podmedic <command> -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery flag can also be set through the environment variable shown as [env NAME] in its help.")
}
