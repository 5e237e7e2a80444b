package train_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"podmedic/actor"
	"podmedic/envsim"
	"podmedic/learner"
	"podmedic/protocol"
)

// The fault suite (issue 12): each test reproduces one fault against the
// real learner and actors over loopback NATS, asserts on numbers read from
// the learner's /metrics, and logs the measured effect on a line starting
// with "FIGURE" (the README's Reliability section quotes them):
//
//	go test -run TestFault -v ./train/ | grep FIGURE

// metrics is one scrape of a /metrics endpoint.
type metrics []string

// scrape reads the learner's /metrics over HTTP, as Prometheus would.
func (p *learnerProc) scrape(t testing.TB) metrics {
	t.Helper()
	srv := httptest.NewServer(p.svc.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m metrics
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, "#") {
			m = append(m, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// get returns the value of the series of name carrying every label given
// as name, value pairs (0 if there is none).
func (m metrics) get(name string, labels ...string) float64 {
next:
	for _, line := range m {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(line, labels[i]+`="`+labels[i+1]+`"`) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			panic(err)
		}
		return v
	}
	return 0
}

// versionLog records when the learner's version changed.
type versionLog struct {
	mu    sync.Mutex
	times []time.Time
	stop  chan struct{}
	done  chan struct{}
}

// recordVersions polls the learner's version every 2 ms until stopped.
func recordVersions(t testing.TB, l *learnerProc) *versionLog {
	v := &versionLog{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(v.done)
		last := l.version()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-v.stop:
				return
			case now := <-tick.C:
				if cur := l.version(); cur != last {
					last = cur
					v.mu.Lock()
					v.times = append(v.times, now)
					v.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(v.close)
	return v
}

func (v *versionLog) close() {
	select {
	case <-v.stop:
	default:
		close(v.stop)
		<-v.done
	}
}

// window returns the number of version changes in [from, to) and the
// longest time without one there (counting from from and up to to).
func (v *versionLog) window(from, to time.Time) (n int, longest time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	prev := from
	for _, at := range v.times {
		if at.Before(from) || !at.Before(to) {
			continue
		}
		n++
		longest = max(longest, at.Sub(prev))
		prev = at
	}
	return n, max(longest, to.Sub(prev))
}

// figure logs a measured effect for the README.
func figure(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("FIGURE %s: "+format, append([]any{t.Name()}, args...)...)
}

// faultRig is NATS, a learner and its config, for one fault test.
type faultRig struct {
	url  string
	ecfg envsim.Config
	spec learner.EnvSpec
	cfg  learner.ServiceConfig
}

func (r *faultRig) subjGoodbye(t *testing.T) string {
	s, err := protocol.NewSubjects(r.cfg.Run)
	if err != nil {
		t.Fatal(err)
	}
	return s.Goodbye
}

func newRig(t *testing.T, mode protocol.Mode) *faultRig {
	t.Helper()
	port := freePort(t)
	ns := startNATS(t, port)
	t.Cleanup(func() { stopNATS(ns) })
	ecfg := testEnvConfig(t)
	return &faultRig{url: natsURL(port), ecfg: ecfg, spec: testSpec(t, ecfg), cfg: testServiceConfig(mode)}
}

// TestFaultCheckpointDirAllCorrupt: every checkpoint of a run truncated.
// Before: the learner started at version 0 without a word and pruning
// then deleted every new valid checkpoint. Now it refuses to start naming
// each file; --fresh starts over with them moved aside, and the new valid
// checkpoints are the ones kept.
func TestFaultCheckpointDirAllCorrupt(t *testing.T) {
	r := newRig(t, protocol.ModeAsync)
	r.cfg.CheckpointDir = filepath.Join(t.TempDir(), "checkpoints")
	l := startLearner(t, r.url, r.cfg, r.spec)
	startActor(t, r.url, "actor-0", protocol.ModeAsync, 1, r.ecfg)
	waitFor(t, 20*time.Second, "version 4", func() bool { return l.version() >= 4 })
	l.stop(t)
	names, err := learner.DirStore{Dir: r.cfg.CheckpointDir}.List()
	if err != nil || len(names) != r.cfg.KeepCheckpoints {
		t.Fatalf("checkpoints %v, %v; want %d", names, err, r.cfg.KeepCheckpoints)
	}
	for _, n := range names {
		path := filepath.Join(r.cfg.CheckpointDir, n)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, st.Size()/2); err != nil {
			t.Fatal(err)
		}
	}
	nc := connect(t, r.url)
	_, err = learner.NewService(r.cfg, r.spec, nc, prometheus.NewRegistry(), nil)
	if !errors.Is(err, learner.ErrNoValidCheckpoint) {
		t.Fatalf("start on %d corrupt checkpoints: %v, want ErrNoValidCheckpoint", len(names), err)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Fatalf("the refusal does not name %s: %v", n, err)
		}
	}

	r.cfg.Fresh = true
	l2 := startLearner(t, r.url, r.cfg, r.spec)
	if v := l2.version(); v != 0 {
		t.Fatalf("--fresh started at version %d", v)
	}
	var m metrics
	waitFor(t, 20*time.Second, "the fresh run to write and keep 3 checkpoints", func() bool {
		m = l2.scrape(t)
		return m.get("podmedic_learner_checkpoints_total") >= 3 && m.get("podmedic_learner_checkpoints_kept") == float64(r.cfg.KeepCheckpoints)
	})
	aside, err := filepath.Glob(filepath.Join(r.cfg.CheckpointDir, "*.corrupt"))
	if err != nil || len(aside) != len(names) {
		t.Fatalf("%d files moved aside (%v), want %d", len(aside), err, len(names))
	}
	if _, ck, err := learner.LatestCheckpoint(r.cfg.CheckpointDir); err != nil || ck.Version < 3 {
		t.Fatalf("newest valid checkpoint after the fresh start: %v, %v", ck, err)
	}
	figure(t, "refused to start on %d corrupt checkpoints, naming each; --fresh: %d moved aside as *.corrupt, %v new valid kept",
		len(names), len(aside), m.get("podmedic_learner_checkpoints_kept"))
}

// TestFaultNewestCheckpointCorrupt: the newest checkpoint truncated. The
// learner resumes from the one before (losing CheckpointEvery versions),
// names the bad file and counts it; pruning keeps only valid ones.
func TestFaultNewestCheckpointCorrupt(t *testing.T) {
	r := newRig(t, protocol.ModeAsync)
	r.cfg.CheckpointDir = filepath.Join(t.TempDir(), "checkpoints")
	l := startLearner(t, r.url, r.cfg, r.spec)
	startActor(t, r.url, "actor-0", protocol.ModeAsync, 1, r.ecfg)
	waitFor(t, 20*time.Second, "version 5", func() bool { return l.version() >= 5 })
	l.stop(t)
	path, newest, err := learner.LatestCheckpoint(r.cfg.CheckpointDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("PODMDCKP\x01\x00\x00\x00truncated"), 0o600); err != nil {
		t.Fatal(err)
	}
	var log syncLog
	nc := connect(t, r.url)
	reg := prometheus.NewRegistry()
	svc, err := learner.NewService(r.cfg, r.spec, nc, reg, log.logger(hclog.Info))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	l2 := &learnerProc{svc: svc, reg: reg, nc: nc}
	t.Cleanup(func() { l2.stop(t) })
	m := l2.scrape(t)
	resumed := uint64(m.get("podmedic_learner_policy_version"))
	if resumed != newest.Version-uint64(r.cfg.CheckpointEvery) || m.get("podmedic_learner_checkpoints_refused_total") != 1 {
		t.Fatalf("resumed at version %d with %v refused, want %d and 1", resumed,
			m.get("podmedic_learner_checkpoints_refused_total"), newest.Version-1)
	}
	if lines := log.lines("invalid checkpoint moved aside"); len(lines) != 1 || !strings.Contains(lines[0], filepath.Base(path)) {
		t.Fatalf("warning %q, want one naming %s", lines, filepath.Base(path))
	}
	waitFor(t, 20*time.Second, "training to go on", func() bool { return l2.version() >= resumed+4 })
	m = l2.scrape(t)
	if kept := m.get("podmedic_learner_checkpoints_kept"); kept != float64(r.cfg.KeepCheckpoints) {
		t.Fatalf("checkpoints kept %v, want %d", kept, r.cfg.KeepCheckpoints)
	}
	names, _ := learner.DirStore{Dir: r.cfg.CheckpointDir}.List()
	for _, n := range names {
		if _, err := learner.LoadCheckpoint(filepath.Join(r.cfg.CheckpointDir, n)); err != nil {
			t.Fatalf("an invalid checkpoint is kept: %v", err)
		}
	}
	figure(t, "resumed at version %d of %d: %d version(s) lost (checkpoint every %d); bad file named and moved aside; %v valid kept",
		resumed, newest.Version, newest.Version-resumed, r.cfg.CheckpointEvery, m.get("podmedic_learner_checkpoints_kept"))
}

// failingStore is a DirStore whose writes fail (disk full) while fail is set.
type failingStore struct {
	learner.DirStore
	fail atomic.Bool
}

func (f *failingStore) Write(name string, data []byte) error {
	if f.fail.Load() {
		return fmt.Errorf("write %s: %w", name, syscall.ENOSPC)
	}
	return f.DirStore.Write(name, data)
}

// TestFaultCheckpointWriteFails: every checkpoint write fails for 3 s (a
// full disk). Training goes on, each failure is counted, the checkpoints
// written before stay, and once the disk has room the next write catches
// up.
func TestFaultCheckpointWriteFails(t *testing.T) {
	r := newRig(t, protocol.ModeAsync)
	store := &failingStore{DirStore: learner.DirStore{Dir: t.TempDir()}}
	r.cfg.Store = store
	l := startLearner(t, r.url, r.cfg, r.spec)
	startActor(t, r.url, "actor-0", protocol.ModeAsync, 1, r.ecfg)
	waitFor(t, 20*time.Second, "version 3", func() bool { return l.version() >= 3 })
	vlog := recordVersions(t, l)
	store.fail.Store(true)
	// From the first failure on, no write in flight can still succeed.
	errs0 := l.scrape(t).get("podmedic_learner_checkpoint_errors_total")
	waitFor(t, 5*time.Second, "the first failed write", func() bool {
		return l.scrape(t).get("podmedic_learner_checkpoint_errors_total") > errs0
	})
	before := l.scrape(t)
	from := time.Now()
	time.Sleep(3 * time.Second)
	to := time.Now()
	during := l.scrape(t)
	store.fail.Store(false)
	n, longest := vlog.window(from, to)
	errs := during.get("podmedic_learner_checkpoint_errors_total") - before.get("podmedic_learner_checkpoint_errors_total")
	trained := during.get("podmedic_learner_policy_version") - before.get("podmedic_learner_policy_version")
	// One checkpoint per update (checkpoint_every 1), each failing; an
	// update at either scrape may have bumped the version but not yet
	// failed its checkpoint.
	if trained < 3 || errs < trained-1 || errs > trained+1 {
		t.Fatalf("%v versions and %v checkpoint errors in 3 s of failing writes, want >= 3 versions, one error each", trained, errs)
	}
	if during.get("podmedic_learner_checkpoint_version") != before.get("podmedic_learner_checkpoint_version") ||
		during.get("podmedic_learner_checkpoints_kept") != float64(r.cfg.KeepCheckpoints) {
		t.Fatal("the checkpoints written before the failure changed")
	}
	v := l.version()
	waitFor(t, 10*time.Second, "a checkpoint after the disk has room again", func() bool {
		return l.scrape(t).get("podmedic_learner_checkpoint_version") >= float64(v)
	})
	figure(t, "writes failing for 3 s: %d versions trained (longest gap %s), %v errors counted, checkpoints kept %v; caught up at the next update",
		n, longest.Round(time.Millisecond), errs, during.get("podmedic_learner_checkpoints_kept"))
}

// TestFaultPhantomHeartbeats: heartbeats of made-up actors (4 ids beating
// every 100 ms, plus 5,000 at once). Before: each made-up id became a
// member that every async update waited for (4 versions in 20 s instead
// of about 300). Now a heartbeat makes no member: the members stay the
// real two and training keeps its pace.
func TestFaultPhantomHeartbeats(t *testing.T) {
	r := newRig(t, protocol.ModeAsync)
	r.cfg.HeartbeatTimeout = 10 * time.Second // the default: what the fault was measured with
	l := startLearner(t, r.url, r.cfg, r.spec)
	startActor(t, r.url, "actor-0", protocol.ModeAsync, 1, r.ecfg)
	startActor(t, r.url, "actor-1", protocol.ModeAsync, 2, r.ecfg)
	waitFor(t, 20*time.Second, "2 members and version 3", func() bool { return l.members() == 2 && l.version() >= 3 })
	vlog := recordVersions(t, l)
	t0 := time.Now()
	time.Sleep(3 * time.Second)
	t1 := time.Now()
	base, _ := vlog.window(t0, t1)

	nc := connect(t, r.url)
	subj, _ := protocol.NewSubjects(testRun)
	beat := func(id string) {
		data, err := protocol.EncodeHeartbeat(&protocol.Heartbeat{ActorID: id, Incarnation: 1, MemberToken: 1}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Publish(subj.Heartbeat, data); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5000 {
		beat(fmt.Sprintf("phantom-%d", i))
		if i%1000 == 999 { // within the learner's pending limit (4,096 messages)
			waitFor(t, 5*time.Second, "the phantom heartbeats to be handled", func() bool {
				return l.messagesRejected("heartbeat", protocol.ReasonNotMember) >= float64(i+1)
			})
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			for i := range 4 {
				beat(fmt.Sprintf("ghost-%d", i))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	time.Sleep(3 * time.Second)
	t2 := time.Now()
	cancel()
	wg.Wait()
	with, longest := vlog.window(t1, t2)
	m := l.scrape(t)
	rejected := m.get("podmedic_learner_messages_rejected_total", "subject", "heartbeat", "reason", "not_member")
	if m.get("podmedic_learner_actors_connected") != 2 || rejected < 5000 {
		t.Fatalf("members %v with %v phantom heartbeats refused, want 2 and >= 5000", m.get("podmedic_learner_actors_connected"), rejected)
	}
	if with < base/3 || longest > 2*time.Second {
		t.Fatalf("%d versions in 3 s under phantom heartbeats (longest gap %s), %d before", with, longest, base)
	}
	figure(t, "5,000 + 4x30 phantom heartbeats: members stay 2, %v refused (not_member); %d versions in 3 s (%d in the 3 s before), longest gap %s",
		rejected, with, base, longest.Round(time.Millisecond))
}

// TestFaultPhantomHellos: hellos of 2,000 made-up actors. Joins are
// rate-limited (burst 64, 20/s) and the members bounded; a member that
// never sends a rollout holds up no update.
func TestFaultPhantomHellos(t *testing.T) {
	r := newRig(t, protocol.ModeAsync)
	l := startLearner(t, r.url, r.cfg, r.spec)
	startActor(t, r.url, "actor-0", protocol.ModeAsync, 1, r.ecfg)
	waitFor(t, 20*time.Second, "version 3", func() bool { return l.version() >= 3 })
	vlog := recordVersions(t, l)
	nc := connect(t, r.url)
	subj, _ := protocol.NewSubjects(testRun)
	t0 := time.Now()
	for i := range 2000 {
		data, err := protocol.EncodeHello(&protocol.Hello{ActorID: fmt.Sprintf("phantom-%d", i), Incarnation: 1, NumEnvs: 1,
			Horizon: 1, ObsSize: r.spec.ObsSize, NumActions: r.spec.NumActions}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.PublishRequest(subj.Hello, nc.NewRespInbox(), data); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	t1 := time.Now()
	n, longest := vlog.window(t0, t1)
	m := l.scrape(t)
	joined := m.get("podmedic_learner_actors_joined_total") - 1
	limited := m.get("podmedic_learner_messages_rejected_total", "subject", "hello", "reason", "rate_limited")
	if joined > 64+20*t1.Sub(t0).Seconds()+1 || joined+limited < 2000 {
		t.Fatalf("%v phantom joins and %v rate-limited of 2,000 hellos in %s", joined, limited, t1.Sub(t0))
	}
	if n < 3 || longest > 1500*time.Millisecond {
		t.Fatalf("%d versions in 2 s after 2,000 phantom hellos, longest gap %s", n, longest)
	}
	figure(t, "2,000 phantom hellos: %v admitted (burst 64 + 20/s), %v refused rate_limited; %d versions in the next 2 s, longest gap %s",
		joined, limited, n, longest.Round(time.Millisecond))
}

// TestFaultScaleDown: 6 of 8 actors stop. Before: a stopping actor said
// nothing, and async training stalled for the heartbeat timeout (10 s).
// Now a stopping actor says goodbye and leaves at once; one that crashes
// holds each update up at most BatchWait until the heartbeat timeout
// drops it.
func TestFaultScaleDown(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := map[bool]string{false: "goodbye", true: "crash"}[crash]
		t.Run(name, func(t *testing.T) {
			r := newRig(t, protocol.ModeAsync)
			r.cfg.HeartbeatTimeout = 10 * time.Second // the default: what the fault was measured with
			l := startLearner(t, r.url, r.cfg, r.spec)
			var actors []*actorProc
			for i := range 8 {
				actors = append(actors, startActor(t, r.url, fmt.Sprintf("actor-%d", i), protocol.ModeAsync, uint64(i+1), r.ecfg))
			}
			// Each actor must know it is a member (have its hello's reply), or
			// it has no token to say goodbye with.
			waitFor(t, 30*time.Second, "8 members that know it, and version 5", func() bool {
				for _, a := range actors {
					if testutilValue(a.m.Member) != 1 {
						return false
					}
				}
				return l.members() == 8 && l.version() >= 5
			})
			vlog := recordVersions(t, l)
			spy := connect(t, r.url)
			goodbyes, err := spy.SubscribeSync(r.subjGoodbye(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := spy.Flush(); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			var wg sync.WaitGroup
			for _, a := range actors[2:] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if crash {
						a.nc.Close() // gone without a word, as after SIGKILL
					}
					a.stop(t)
				}()
			}
			wg.Wait()
			var left time.Duration
			if !crash {
				for deadline := time.Now().Add(5 * time.Second); l.members() != 2; time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						m := l.scrape(t)
						var gauges []float64
						for _, a := range actors {
							gauges = append(gauges, testutilValue(a.m.Member))
						}
						n, _, _ := goodbyes.Pending()
						var refused []string
						for _, line := range m {
							if strings.Contains(line, `subject="goodbye"`) || strings.Contains(line, `subject="heartbeat"`) {
								refused = append(refused, line)
							}
						}
						t.Fatalf("members %v 5 s after 6 goodbyes (%d seen on the wire): left %v, lost %v, refused %v; actors' member gauges %v",
							m.get("podmedic_learner_actors_connected"), n, m.get("podmedic_learner_actors_left_total"),
							m.get("podmedic_learner_actors_lost_total"), refused, gauges)
					}
				}
				left = time.Since(t0)
			}
			time.Sleep(4 * time.Second)
			t1 := time.Now()
			n, longest := vlog.window(t0, t1)
			m := l.scrape(t)
			if n < 3 {
				t.Fatalf("%d versions in the 4 s after 6 of 8 actors stopped", n)
			}
			if crash {
				if m.get("podmedic_learner_actors_connected") != 8 || longest > r.cfg.BatchWait+time.Second {
					t.Fatalf("crash: %v members (want 8 until the heartbeat timeout), longest gap %s (want <= batch wait + 1 s)",
						m.get("podmedic_learner_actors_connected"), longest)
				}
				figure(t, "6 of 8 actors killed: %d versions in 4 s, longest gap %s (batch wait %s), members dropped after the %s heartbeat timeout",
					n, longest.Round(time.Millisecond), r.cfg.BatchWait, r.cfg.HeartbeatTimeout)
				return
			}
			if m.get("podmedic_learner_actors_left_total") != 6 || m.get("podmedic_learner_actors_lost_total") != 0 || longest > time.Second {
				t.Fatalf("goodbye: %v left, %v lost, longest gap %s", m.get("podmedic_learner_actors_left_total"),
					m.get("podmedic_learner_actors_lost_total"), longest)
			}
			figure(t, "6 of 8 actors stopped: members 8 -> 2 in %s (goodbye), %d versions in 4 s, longest gap %s",
				left.Round(time.Millisecond), n, longest.Round(time.Millisecond))
		})
	}
}

// TestFaultReplayedRollouts: real rollouts captured off the wire and sent
// again: as they were, under another actor id (with and without a hello
// for it), and after their actor left. Before: re-sent under new ids they
// were all trained on. Now every one is refused and counted by reason.
func TestFaultReplayedRollouts(t *testing.T) {
	r := newRig(t, protocol.ModeAsync)
	r.cfg.HeartbeatTimeout = time.Minute // the replayer's hello below must not time out
	l := startLearner(t, r.url, r.cfg, r.spec)
	spy := connect(t, r.url)
	subj, _ := protocol.NewSubjects(testRun)
	captured := make(chan []byte, 64)
	sub, err := spy.Subscribe(subj.Rollouts, func(m *nats.Msg) {
		select {
		case captured <- m.Data:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	a := startActor(t, r.url, "actor-0", protocol.ModeAsync, 1, r.ecfg)
	waitFor(t, 20*time.Second, "5 rollouts captured", func() bool { return len(captured) >= 5 })
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	var replays [][]byte
	for len(replays) < 5 {
		replays = append(replays, <-captured)
	}
	send := func(data []byte) {
		if err := spy.Publish(subj.Rollouts, data); err != nil {
			t.Fatal(err)
		}
	}
	before := l.scrape(t)
	for _, b := range replays {
		send(b)                                                                     // twice
		send(mutate(t, b, func(m map[string]any) { m["actor_id"] = "replayer" }))   // another id
		send(mutate(t, b, func(m map[string]any) { m["actor_id"] = "replayer-2" })) // another id, with a hello below
	}
	joinAs(t, spy, r.spec, "replayer-2", 99)
	for _, b := range replays {
		send(mutate(t, b, func(m map[string]any) { m["actor_id"] = "replayer-2"; m["incarnation"] = 99 }))
	}
	waitFor(t, 5*time.Second, "the replays so far counted", func() bool {
		return l.scrape(t).get("podmedic_learner_rollouts_rejected_total", "reason", "bad_token")-
			before.get("podmedic_learner_rollouts_rejected_total", "reason", "bad_token") == 5
	})
	a.stop(t) // goodbye
	waitFor(t, 5*time.Second, "the actor's goodbye", func() bool {
		return l.scrape(t).get("podmedic_learner_actors_left_total") == 1
	})
	for _, b := range replays {
		send(mutate(t, b, func(m map[string]any) { m["seq"] = 1_000_000 })) // after it left, as a new seq
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"duplicate_seq": 5, "not_member": 15, "bad_token": 5}
	got := map[string]float64{}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		after := l.scrape(t)
		for reason := range want {
			got[reason] = after.get("podmedic_learner_rollouts_rejected_total", "reason", reason) -
				before.get("podmedic_learner_rollouts_rejected_total", "reason", reason)
		}
		// The actor's own last rollouts (up to its max-ahead of 2 in
		// flight) may reach the learner after its goodbye (another
		// subscription) and are refused too.
		if extra := got["not_member"] - want["not_member"]; extra >= 1 && extra <= 2 {
			got["not_member"] -= extra
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replays refused by reason %v, want %v", got, want)
		}
	}
	figure(t, "25 replays of 5 captured rollouts: all refused, by reason %v; 0 trained on", got)
}

// TestFaultRequestFlood: a flood of requests on weights.latest and
// policy.latest from one connection. Before: every malformed request got
// the whole ~119 KB policy. Now malformed ones get nothing and are
// counted, well-formed ones are answered at most at the requester's rate.
func TestFaultRequestFlood(t *testing.T) {
	r := newRig(t, protocol.ModeAsync)
	l := startLearner(t, r.url, r.cfg, r.spec)
	startActor(t, r.url, "actor-0", protocol.ModeAsync, 1, r.ecfg)
	waitFor(t, 20*time.Second, "version 2", func() bool { return l.version() >= 2 })
	nc := connect(t, r.url)
	subj, _ := protocol.NewSubjects(testRun)
	inbox := nc.NewRespInbox()
	var replies, replyBytes atomic.Int64
	sub, err := nc.Subscribe(inbox, func(m *nats.Msg) {
		replies.Add(1)
		replyBytes.Add(int64(len(m.Data)))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	v0 := l.version()
	const each = 1000 // 3,000 requests: within the learner's pending limit (4,096 messages)
	start := time.Now()
	for i := range each {
		for _, s := range []string{subj.WeightsLatest, subj.PolicyLatest} {
			if err := nc.PublishRequest(s, inbox, []byte{0xc1, byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := nc.PublishRequest(subj.PolicyLatest, inbox, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "every request counted", func() bool {
		m := l.scrape(t)
		return m.get("podmedic_learner_messages_rejected_total", "subject", "weights.latest", "reason", "malformed") >= each &&
			m.get("podmedic_learner_messages_rejected_total", "subject", "policy.latest", "reason", "malformed") >= each &&
			m.get("podmedic_learner_messages_rejected_total", "subject", "policy.latest", "reason", "rate_limited")+
				m.get("podmedic_learner_replies_total", "subject", "policy.latest") >= each
	})
	elapsed := time.Since(start)
	time.Sleep(100 * time.Millisecond) // replies in flight
	m := l.scrape(t)
	answered := m.get("podmedic_learner_replies_total", "subject", "policy.latest")
	if limit := 10 + 5*elapsed.Seconds() + 1; answered > limit || float64(replies.Load()) > limit {
		t.Fatalf("%v replies (%d received) to %d well-formed requests in %s, want at most %.0f", answered, replies.Load(), each, elapsed, limit)
	}
	waitFor(t, 10*time.Second, "training to go on", func() bool { return l.version() >= v0+3 })
	policy := len(l.svc.PolicySnapshot())
	figure(t, "%d malformed + %d well-formed requests from one connection in %s: 0 replies to the malformed, %v to the others, %d KB in all (answering all %d: %d MB)",
		2*each, each, elapsed.Round(time.Millisecond), answered, replyBytes.Load()>>10, 3*each, 3*each*policy>>20)
}

// syncLog captures a component's log lines.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncLog) lines(sub string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, line := range strings.Split(s.b.String(), "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return out
}

func (s *syncLog) logger(level hclog.Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: s, Level: level})
}

// runLoggedActor runs an actor of run on url with its log (default level,
// info) in log until the test ends.
func runLoggedActor(t *testing.T, url, run string, ecfg envsim.Config, log *syncLog) *actor.Metrics {
	t.Helper()
	cfg := actor.DefaultConfig()
	cfg.ID, cfg.Run, cfg.Horizon = "actor-x", run, 16
	env, err := envsim.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	m := actor.NewMetrics(prometheus.NewRegistry())
	a, err := actor.New(cfg, []envsim.Env{env}, connect(t, url), m, log.logger(hclog.Info))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("actor: %v", err)
		}
	})
	return m
}

// waitWarning waits up to limit for a warning containing every one of
// subs and returns how long it took.
func waitWarning(t *testing.T, log *syncLog, limit time.Duration, subs ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		for _, line := range log.lines("[WARN]") {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(line, s)
			}
			if all {
				return time.Since(start)
			}
		}
		if time.Since(start) > limit {
			t.Fatalf("no warning naming %q within %s:\n%s", subs, limit, strings.Join(log.lines(""), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFaultWrongRunName: an actor started with another --run than the
// learner's. Before: it retried forever, silent at the default log level.
// Now it warns after 5 s naming the subject nobody answers and the URL.
func TestFaultWrongRunName(t *testing.T) {
	t.Parallel()
	r := newRig(t, protocol.ModeAsync)
	l := startLearner(t, r.url, r.cfg, r.spec)
	var log syncLog
	m := runLoggedActor(t, r.url, "wrong-run", r.ecfg, &log)
	took := waitWarning(t, &log, 10*time.Second, "no learner answers", "podmedic.wrong-run.actors.hello", "127.0.0.1")
	if lm := l.scrape(t); lm.get("podmedic_learner_actors_connected") != 0 || testutilValue(m.Member) != 0 ||
		testutilValue(m.Unanswered.WithLabelValues("actors.hello")) < 3 {
		t.Fatal("the actor of the wrong run joined, or its unanswered hellos were not counted")
	}
	figure(t, "first warning after %s, naming podmedic.wrong-run.actors.hello and the URL", took.Round(100*time.Millisecond))
}

// TestFaultDeadNATSURL: an actor pointed at a NATS URL where nothing
// listens. Before: silent for 11 minutes. Now the failed connection
// attempts are logged at once, and the actor warns after 5 s that no
// learner can answer, both naming the URL.
func TestFaultDeadNATSURL(t *testing.T) {
	t.Parallel()
	url := natsURL(freePort(t)) // nothing listens there
	var log syncLog
	m := actor.NewMetrics(prometheus.NewRegistry())
	cfg := actor.DefaultConfig()
	cfg.ID, cfg.Run, cfg.Horizon = "actor-x", testRun, 16
	env, err := envsim.New(testEnvConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	nc := connect(t, url)
	a, err := actor.New(cfg, []envsim.Env{env}, nc, m, log.logger(hclog.Info))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("actor: %v", err)
		}
	}()
	took := waitWarning(t, &log, 10*time.Second, "not connected to NATS", url)
	figure(t, "first warning after %s, naming %s", took.Round(100*time.Millisecond), url)
}
