package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"podmedic/protocol"
)

// runWatch prints every weights broadcast of a run as a subscriber sees
// it (time, learner epoch, policy version) and ends with a summary: which
// epochs published, in order, and how often an older epoch's weights came
// after a newer one's (a regression: two learners publishing at once). It
// can also check that its credentials may not publish weights.
func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watch", "watch [--run NAME] [--duration D] [--try-publish] [--nats-url URL,...]\n\n"+
		"Prints one line per weights broadcast of the run (time, epoch, version, bytes), then\n"+
		"a summary line: messages, epochs in order of first appearance, epoch regressions\n"+
		"(an older epoch's weights after a newer one's), undecodable messages.", stderr)
	var nf natsFlags
	nf.register(fs)
	run := fs.String("run", "default", "run name")
	duration := fs.Duration("duration", 0, "stop after this long; 0 watches until interrupted")
	quiet := fs.Bool("quiet", false, "print the summary only")
	tryPublish := fs.Bool("try-publish", false, "first publish a message on the weights subject with these credentials, and report whether the server refused it")
	if err := nf.parse(fs, args); err != nil {
		return err
	}
	subj, err := protocol.NewSubjects(*run)
	if err != nil {
		return flagError{fmt.Errorf("watch: --run: %w", err)}
	}
	if *duration < 0 {
		return flagError{fmt.Errorf("watch: --duration: want >= 0, got %s", *duration)}
	}
	log, err := newLogger("watch", "warn", stderr)
	if err != nil {
		return err
	}
	var w weightsWatch
	denied := make(chan error, 1)
	nc, err := nf.connect("podmedic-watch", log, nil)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) {
			select {
			case denied <- err:
			default:
			}
			return
		}
		log.Warn("nats async error", "error", err)
	})
	lim := protocol.SnapshotLimits()
	// The subscription's callbacks run on nats.go's goroutine, the rest of
	// this function on the caller's: out serialises their writes, and once
	// it is closed a late callback prints nothing after the summary.
	out := &closingWriter{w: stdout}
	sub, err := nc.Subscribe(subj.Weights, func(m *nats.Msg) {
		line := w.observe(m.Data, lim, time.Now())
		if !*quiet {
			out.println(line)
		}
	})
	if err != nil {
		return fmt.Errorf("watch: subscribe %s: %w", subj.Weights, err)
	}
	defer sub.Unsubscribe()
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		return fmt.Errorf("watch: subscribe %s at %s: %w", subj.Weights, nf.url, err)
	}
	refused := -1
	if *tryPublish {
		if err := nc.Publish(subj.Weights, []byte("not weights: podmedic watch --try-publish")); err != nil {
			return fmt.Errorf("watch: publish: %w", err)
		}
		_ = nc.FlushTimeout(2 * time.Second)
		select {
		case err := <-denied:
			refused = 1
			out.println(fmt.Sprintf("watch: publish to %s refused: %v", subj.Weights, err))
		case <-time.After(2 * time.Second):
			refused = 0
			out.println(fmt.Sprintf("watch: publish to %s accepted", subj.Weights))
		case <-ctx.Done():
		}
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	<-ctx.Done()
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		log.Warn("unsubscribe", "error", err)
	}
	out.println(w.summary(refused))
	out.close()
	return nil
}

// closingWriter serialises lines from several goroutines onto one writer
// and drops those that come after close.
type closingWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (c *closingWriter) println(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		fmt.Fprintln(c.w, line)
	}
}

func (c *closingWriter) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// weightsWatch is what a subscriber saw of one run's weights.
type weightsWatch struct {
	mu          sync.Mutex
	messages    int
	undecodable int
	regressions int
	epochs      []uint64 // in order of first appearance
	newest      uint64   // highest epoch seen
}

// observe books one message and returns its line.
func (w *weightsWatch) observe(data []byte, lim protocol.Limits, now time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages++
	ts := now.Format("15:04:05.000")
	wt, err := protocol.DecodeWeights(data, lim)
	if err != nil {
		w.undecodable++
		return fmt.Sprintf("%s undecodable bytes=%d: %v", ts, len(data), err)
	}
	mark := ""
	if !slices.Contains(w.epochs, wt.Epoch) {
		w.epochs = append(w.epochs, wt.Epoch)
	}
	if wt.Epoch < w.newest {
		w.regressions++
		mark = " REGRESSION"
	}
	w.newest = max(w.newest, wt.Epoch)
	return fmt.Sprintf("%s epoch=%d version=%d bytes=%d%s", ts, wt.Epoch, wt.Version, len(data), mark)
}

// summary is the last line: key=value pairs a script can read.
func (w *weightsWatch) summary(refused int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	es := make([]string, len(w.epochs))
	for i, e := range w.epochs {
		es[i] = fmt.Sprint(e)
	}
	s := fmt.Sprintf("watch summary: messages=%d epochs=%s regressions=%d undecodable=%d",
		w.messages, strings.Join(es, ","), w.regressions, w.undecodable)
	if refused >= 0 {
		s += fmt.Sprintf(" publish_refused=%d", refused)
	}
	return s
}
