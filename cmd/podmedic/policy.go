package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"podmedic/internal/atomicfile"
	"podmedic/internal/jsstore"
	"podmedic/protocol"
)

// runPolicy lists and pulls the policy snapshots a run keeps in its
// JetStream object store; it needs no learner running.
func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "policy list|get [--run NAME] [--nats-url URL,...] [--version N|latest|best --out FILE]\n\n" +
		"Lists (list) or pulls (get) the policy snapshots of a run from its JetStream\n" +
		"object store (bucket podmedic-<run>-policies): the last versions the learner\n" +
		"published and the best by score. Works while no learner runs. The file get\n" +
		"writes is a snapshot file that evaluate and simulate read."
	sub := "get" // whose flags are all of them, for -h
	switch {
	case len(args) > 0 && (args[0] == "list" || args[0] == "get"):
		sub, args = args[0], args[1:]
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help"):
	case len(args) == 0 || strings.HasPrefix(args[0], "-"):
		return flagError{errors.New("policy: say list or get (podmedic policy -h)")}
	default:
		return flagError{fmt.Errorf("policy: unknown subcommand %q: want list or get", args[0])}
	}
	fs := newFlagSet("policy "+sub, synopsis, stderr)
	var nf natsFlags
	nf.register(fs)
	run := fs.String("run", "default", "run name")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit for the whole command")
	var version, out *string
	if sub == "get" {
		version = fs.String("version", "latest", "the version to pull: a number, latest or best")
		out = fs.String("out", "", "file to write the snapshot to (required)")
	}
	if err := nf.parse(fs, args); err != nil {
		return err
	}
	if err := protocol.ValidateRunName(*run); err != nil {
		return flagError{fmt.Errorf("policy: --run: %w", err)}
	}
	var want uint64
	if sub == "get" {
		if *out == "" {
			return flagError{errors.New("policy get: --out is required")}
		}
		if *version != "latest" && *version != "best" {
			v, err := strconv.ParseUint(*version, 10, 64)
			if err != nil {
				return flagError{fmt.Errorf("policy get: --version: want a number, latest or best, got %q", *version)}
			}
			want = v
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	store, nc, err := openPolicyStore(ctx, &nf, *run, stderr)
	if err != nil {
		return err
	}
	defer nc.Close()
	if sub == "list" {
		return listPolicies(ctx, store, *run, stdout)
	}
	var data []byte
	var info jsstore.PolicyInfo
	switch *version {
	case "latest":
		data, info, err = store.Latest(ctx)
	case "best":
		data, info, err = store.Best(ctx)
	default:
		data, info, err = store.Get(ctx, want)
	}
	if err != nil {
		return fmt.Errorf("policy get: run %s, version %s: %w", *run, *version, err)
	}
	w, err := protocol.ParseSnapshot(data)
	if err != nil {
		return fmt.Errorf("policy get: stored version %d: %w", info.Version, err)
	}
	if w.Version != info.Version {
		return fmt.Errorf("policy get: stored as version %d, the snapshot says %d", info.Version, w.Version)
	}
	if err := atomicfile.Write(*out, data); err != nil {
		return fmt.Errorf("policy get: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: policy version %d of run %s (%d bytes, epoch %d%s)\n", *out, info.Version, *run, len(data), info.Epoch, scoreText(info))
	return nil
}

// openPolicyStore connects with the NATS flags and opens run's policy
// store for reading.
func openPolicyStore(ctx context.Context, nf *natsFlags, run string, stderr io.Writer) (*jsstore.Policies, *nats.Conn, error) {
	log, err := newLogger("policy", "warn", stderr)
	if err != nil {
		return nil, nil, err
	}
	nc, err := nf.connect("podmedic-policy", log, nil)
	if err != nil {
		return nil, nil, err
	}
	p, err := policyStore(ctx, nc, run)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return p, nc, nil
}

// policyStore opens run's policy store on nc, naming the URL on failure.
func policyStore(ctx context.Context, nc *nats.Conn, run string) (*jsstore.Policies, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	p, err := jsstore.OpenPolicies(ctx, js, run)
	if err != nil {
		return nil, fmt.Errorf("policy store of run %s at %s: %w", run, strings.Join(nc.Servers(), ","), err)
	}
	return p, nil
}

func listPolicies(ctx context.Context, store *jsstore.Policies, run string, stdout io.Writer) error {
	infos, err := store.List(ctx)
	if err != nil {
		return fmt.Errorf("policy list: %w", err)
	}
	if len(infos) == 0 {
		fmt.Fprintf(stdout, "run %s: no policy snapshots stored yet\n", run)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tEPOCH\tSCORE\tBYTES\tSTORED\tMETRICS\t")
	for _, in := range infos {
		score := "-"
		if !math.IsNaN(in.Score) {
			score = strconv.FormatFloat(in.Score, 'f', 2, 64)
			if in.Best {
				score += " (best)"
			}
		}
		var ms []string
		for _, k := range slices.Sorted(maps.Keys(in.Metrics)) {
			ms = append(ms, k+"="+strconv.FormatFloat(in.Metrics[k], 'g', 6, 64))
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%s\t%s\t\n", in.Version, in.Epoch, score, in.Size,
			in.Created.Local().Format(time.DateTime), strings.Join(ms, " "))
	}
	return tw.Flush()
}

func scoreText(in jsstore.PolicyInfo) string {
	if math.IsNaN(in.Score) {
		return ""
	}
	s := fmt.Sprintf(", score %.2f", in.Score)
	if in.Best {
		s += ", the best"
	}
	return s
}

// storedPolicy reads the newest snapshot of run from its policy store;
// ok is false when the run has no store there (no JetStream, or no learner
// ever wrote one), so that the caller can ask a running learner instead.
func storedPolicy(ctx context.Context, nc *nats.Conn, run string) (w *protocol.Weights, ok bool, err error) {
	p, err := policyStore(ctx, nc, run)
	if errors.Is(err, jsstore.ErrNoStore) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	data, info, err := p.Latest(ctx)
	if errors.Is(err, jsstore.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("policy store of run %s: %w", run, err)
	}
	if w, err = protocol.ParseSnapshot(data); err != nil {
		return nil, false, fmt.Errorf("policy store of run %s, version %d: %w", run, info.Version, err)
	}
	return w, true, nil
}
