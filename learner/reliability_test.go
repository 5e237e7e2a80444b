package learner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"podmedic/learner"
	"podmedic/protocol"
)

// logBuffer collects a service's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log lines containing s.
func (l *logBuffer) lines(s string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

func (l *logBuffer) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: l, Level: hclog.Info})
}

// metric reads one series (labels as name=value pairs) from reg.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// writeCheckpoints writes valid checkpoints of versions vs into dir, made
// by a learner of testConfig's network trained on the stand-in actor.
func writeCheckpoints(t *testing.T, dir string, vs ...uint64) {
	t.Helper()
	lnc, anc := startServer(t)
	cfg := testConfig()
	cfg.CheckpointDir, cfg.CheckpointEvery, cfg.KeepCheckpoints = t.TempDir(), 1, 100
	svc := openService(t, cfg, lnc, prometheus.NewRegistry(), nil)
	train(t, svc, anc, vs[len(vs)-1])
	if err := svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		data, err := os.ReadFile(filepath.Join(cfg.CheckpointDir, learner.CheckpointName(v)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, learner.CheckpointName(v)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func openService(t *testing.T, cfg learner.ServiceConfig, nc *nats.Conn, reg *prometheus.Registry, log hclog.Logger) *learner.Service {
	t.Helper()
	svc, err := learner.NewService(cfg, testSpec, nc, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	return svc
}

// train joins as the stand-in actor (a new incarnation each call) and
// feeds it rollouts until the service reaches version until.
func train(t *testing.T, svc *learner.Service, nc *nats.Conn, until uint64) {
	t.Helper()
	inc := uint64(time.Now().UnixNano())
	tok := hello(t, nc, "a", inc).MemberToken
	epoch := latest(t, nc).Epoch
	deadline := time.Now().Add(20 * time.Second)
	for seq := uint64(1); svc.Status().Version < until; seq++ {
		if time.Now().After(deadline) {
			t.Fatalf("stuck at version %d, want %d", svc.Status().Version, until)
		}
		v := svc.Status().Version
		r := rollout(tok, seq, v, epoch)
		r.Incarnation = inc
		publish(t, nc, r)
		for w := time.Now().Add(5 * time.Second); svc.Status().Version == v && time.Now().Before(w); {
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func corrupt(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
}

func ckptConfig(dir string) learner.ServiceConfig {
	c := testConfig()
	c.CheckpointDir, c.CheckpointEvery, c.KeepCheckpoints = dir, 1, 2
	return c
}

// TestAllCheckpointsCorruptRefusesToStart: a directory whose checkpoints
// are all broken is not silently taken for an empty one. NewService
// refuses, naming every file and its reason, and moves nothing, so the
// next start refuses again; Fresh starts over and moves them aside.
func TestAllCheckpointsCorruptRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	writeCheckpoints(t, dir, 2, 3)
	for _, v := range []uint64{2, 3} {
		corrupt(t, filepath.Join(dir, learner.CheckpointName(v)))
	}
	if err := os.WriteFile(filepath.Join(dir, learner.CheckpointName(9)), []byte("{\"not\": \"a checkpoint\"}"), 0o600); err != nil {
		t.Fatal(err)
	}
	lnc, _ := startServer(t)
	for try := range 2 {
		_, err := learner.NewService(ckptConfig(dir), testSpec, lnc, prometheus.NewRegistry(), nil)
		var nv *learner.NoValidCheckpointError
		if !errors.Is(err, learner.ErrNoValidCheckpoint) || !errors.As(err, &nv) || len(nv.Refused) != 3 {
			t.Fatalf("start %d: err %v, want ErrNoValidCheckpoint naming 3 files", try, err)
		}
		for _, v := range []uint64{2, 3, 9} {
			if !strings.Contains(err.Error(), learner.CheckpointName(v)) {
				t.Fatalf("error does not name %s: %v", learner.CheckpointName(v), err)
			}
		}
		if !errors.Is(nv.Refused[0].Err, learner.ErrForeign) || !errors.Is(nv.Refused[1].Err, learner.ErrCorrupt) {
			t.Fatalf("reasons %v, %v; want foreign, corrupt", nv.Refused[0].Err, nv.Refused[1].Err)
		}
		if _, err := os.Stat(filepath.Join(dir, learner.CheckpointName(3))); err != nil {
			t.Fatalf("a refused start moved the files: %v", err)
		}
	}

	var log logBuffer
	cfg := ckptConfig(dir)
	cfg.Fresh = true
	reg := prometheus.NewRegistry()
	svc := openService(t, cfg, lnc, reg, log.logger())
	if v := svc.Status().Version; v != 0 {
		t.Fatalf("fresh start at version %d", v)
	}
	for _, v := range []uint64{2, 3, 9} {
		if _, err := os.Stat(filepath.Join(dir, learner.CheckpointName(v)+".corrupt")); err != nil {
			t.Fatalf("fresh start did not move %s aside: %v", learner.CheckpointName(v), err)
		}
	}
	if n := len(log.lines("moved aside")); n != 3 {
		t.Fatalf("%d lines about files moved aside, want 3:\n%s", n, log.String())
	}
}

// TestNewestCheckpointCorrupt: the learner resumes from the newest valid
// checkpoint, names the broken newer one in a warning, moves it aside and
// counts it; pruning then keeps only valid checkpoints.
func TestNewestCheckpointCorrupt(t *testing.T) {
	dir := t.TempDir()
	writeCheckpoints(t, dir, 3, 4, 5)
	corrupt(t, filepath.Join(dir, learner.CheckpointName(5)))
	lnc, anc := startServer(t)
	var log logBuffer
	reg := prometheus.NewRegistry()
	svc := openService(t, ckptConfig(dir), lnc, reg, log.logger())
	if v := svc.Status().Version; v != 4 {
		t.Fatalf("resumed at version %d, want 4 (the newest valid)", v)
	}
	warn := log.lines("invalid checkpoint moved aside")
	if len(warn) != 1 || !strings.Contains(warn[0], learner.CheckpointName(5)) || !strings.Contains(warn[0], "[WARN]") ||
		!strings.Contains(warn[0], "corrupt") {
		t.Fatalf("warning lines %q, want one naming %s and the reason", warn, learner.CheckpointName(5))
	}
	if got := metric(t, reg, "podmedic_learner_checkpoints_refused_total"); got != 1 {
		t.Fatalf("checkpoints refused %v, want 1", got)
	}
	// Pruning on start kept the newest 2 valid (4 and 3).
	if got := metric(t, reg, "podmedic_learner_checkpoints_kept"); got != 2 {
		t.Fatalf("checkpoints kept %v, want 2", got)
	}
	train(t, svc, anc, 6)
	names, err := learner.DirStore{Dir: dir}.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{learner.CheckpointName(5), learner.CheckpointName(6)}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("checkpoints %v after versions 5 and 6 were written, want %v", names, want)
	}
	for _, n := range names {
		if _, err := learner.LoadCheckpoint(filepath.Join(dir, n)); err != nil {
			t.Fatalf("kept an invalid checkpoint: %v", err)
		}
	}
}

// failingStore is a DirStore whose writes fail while fail is set, as on a
// full disk.
type failingStore struct {
	learner.DirStore
	fail   atomic.Bool
	writes atomic.Int64
}

func (f *failingStore) Write(name string, data []byte) error {
	f.writes.Add(1)
	if f.fail.Load() {
		return fmt.Errorf("write %s: %w", name, syscall.ENOSPC)
	}
	return f.DirStore.Write(name, data)
}

// TestFailedCheckpointWrite: while writes fail training goes on, every
// failure is counted, one line is logged for them all, the checkpoints
// written before stay, and shutdown reports the last verified one.
func TestFailedCheckpointWrite(t *testing.T) {
	dir := t.TempDir()
	store := &failingStore{DirStore: learner.DirStore{Dir: dir, SnapshotPath: filepath.Join(t.TempDir(), "policy.snapshot")}}
	cfg := ckptConfig("")
	cfg.Store = store
	lnc, anc := startServer(t)
	var log logBuffer
	reg := prometheus.NewRegistry()
	svc := openService(t, cfg, lnc, reg, log.logger())
	train(t, svc, anc, 2)
	before, _ := svc.LastCheckpoint()
	if before.Version != 2 {
		t.Fatalf("last checkpoint %+v, want version 2", before)
	}
	store.fail.Store(true)
	train(t, svc, anc, 12)
	if got := metric(t, reg, "podmedic_learner_checkpoint_errors_total"); got != 10 {
		t.Fatalf("checkpoint errors %v after 10 failed writes, want 10", got)
	}
	if n := len(log.lines("checkpoint failed")); n != 1 {
		t.Fatalf("%d log lines for 10 failed checkpoints within a minute, want 1:\n%s", n, log.String())
	}
	if after, _ := svc.LastCheckpoint(); after != before {
		t.Fatalf("last checkpoint %+v, want still %+v", after, before)
	}
	if _, ck, err := learner.LatestCheckpoint(dir); err != nil || ck.Version != 2 {
		t.Fatalf("newest checkpoint on disk: %v, %v; want version 2 kept", ck, err)
	}
	if err := svc.Close(context.Background()); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Close with a failing store: %v, want the write error", err)
	}
	store.fail.Store(false)
	if got := metric(t, reg, "podmedic_learner_checkpoint_version"); got != 2 {
		t.Fatalf("checkpoint version gauge %v, want 2", got)
	}
	// The snapshot was written at every checkpoint even while those
	// failed: it is the latest policy.
	w, err := protocol.ReadSnapshotFile(store.SnapshotPath)
	if err != nil || w.Version != 12 {
		t.Fatalf("snapshot file: %v, %v; want version 12", w, err)
	}
}

// TestReadOnlyCheckpointDir: the same with a directory the process may not
// write (root ignores permissions, so it skips there).
func TestReadOnlyCheckpointDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only directories; TestFailedCheckpointWrite covers the failure")
	}
	dir := t.TempDir()
	lnc, anc := startServer(t)
	reg := prometheus.NewRegistry()
	svc := openService(t, ckptConfig(dir), lnc, reg, nil)
	train(t, svc, anc, 1)
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	train(t, svc, anc, 4)
	if got := metric(t, reg, "podmedic_learner_checkpoint_errors_total"); got != 3 {
		t.Fatalf("checkpoint errors %v, want 3", got)
	}
	if _, ck, err := learner.LatestCheckpoint(dir); err != nil || ck.Version != 1 {
		t.Fatalf("newest checkpoint %v, %v; want version 1", ck, err)
	}
}

// TestMembershipNeedsAHello: heartbeats and rollouts of actors that never
// said hello make no member; a goodbye leaves at once; a member's rollout
// re-sent under another id, or twice, is refused by reason.
func TestMembershipNeedsAHello(t *testing.T) {
	lnc, anc := startServer(t)
	reg := prometheus.NewRegistry()
	cfg := testConfig()
	cfg.Mode = protocol.ModeAsync
	svc := openService(t, cfg, lnc, reg, nil)
	subj, _ := protocol.NewSubjects("t")
	hb, err := protocol.EncodeHeartbeat(&protocol.Heartbeat{ActorID: "phantom", Incarnation: 1, MemberToken: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := anc.Request(subj.Heartbeat, hb, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := protocol.DecodeMemberReply(msg.Data, protocol.DefaultLimits()); err != nil || m.Accepted || m.Reason != "not_member" {
		t.Fatalf("reply to a phantom heartbeat: %+v, %v", m, err)
	}
	epoch := latest(t, anc).Epoch
	publish(t, anc, rollout(1, 1, 0, epoch))
	waitMetric(t, reg, "podmedic_learner_rollouts_rejected_total", 1, "reason", "not_member")
	if n := svc.Status().Actors; n != 0 {
		t.Fatalf("%d members without a hello", n)
	}

	tok := join(t, anc)
	if n := svc.Status().Actors; n != 1 {
		t.Fatalf("%d members after a hello", n)
	}
	r := rollout(tok, 1, 0, epoch)
	publish(t, anc, r)
	publish(t, anc, r) // the same bytes again
	waitMetric(t, reg, "podmedic_learner_rollouts_rejected_total", 1, "reason", "duplicate_seq")
	replay := rollout(tok, 2, 0, epoch)
	replay.ActorID = "b"
	publish(t, anc, replay)
	waitMetric(t, reg, "podmedic_learner_rollouts_rejected_total", 2, "reason", "not_member")
	hello(t, anc, "b", 1)
	publish(t, anc, replay) // b is a member now, but this is a's token
	waitMetric(t, reg, "podmedic_learner_rollouts_rejected_total", 1, "reason", "bad_token")

	bye, err := protocol.EncodeGoodbye(&protocol.Goodbye{ActorID: "a", Incarnation: 1, MemberToken: tok, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := anc.Publish(subj.Goodbye, bye); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, reg, "podmedic_learner_actors_left_total", 1)
	if n := svc.Status().Actors; n != 1 {
		t.Fatalf("%d members after a's goodbye, want 1 (b)", n)
	}
	publish(t, anc, rollout(tok, 3, 0, epoch))
	waitMetric(t, reg, "podmedic_learner_rollouts_rejected_total", 3, "reason", "not_member")
}

func waitMetric(t *testing.T, reg *prometheus.Registry, name string, want float64, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, reg, name, labels...) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, labels, metric(t, reg, name, labels...), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLatestRequestsCheckedFirst: malformed requests get no reply and are
// counted; well-formed ones are answered up to the requester's burst.
func TestLatestRequestsCheckedFirst(t *testing.T) {
	lnc, anc := startServer(t)
	reg := prometheus.NewRegistry()
	openService(t, testConfig(), lnc, reg, nil)
	subj, _ := protocol.NewSubjects("t")
	inbox := anc.NewRespInbox()
	replies := make(chan *nats.Msg, 1000)
	sub, err := anc.ChanSubscribe(inbox, replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for range 100 {
		if err := anc.PublishRequest(subj.WeightsLatest, inbox, []byte("\xc1garbage")); err != nil {
			t.Fatal(err)
		}
	}
	waitMetric(t, reg, "podmedic_learner_messages_rejected_total", 100, "subject", "weights.latest", "reason", "malformed")
	if err := anc.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if len(replies) != 0 {
		t.Fatalf("%d replies to malformed requests, want 0", len(replies))
	}
	for range 100 {
		if err := anc.PublishRequest(subj.PolicyLatest, inbox, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitMetric(t, reg, "podmedic_learner_messages_rejected_total", 90, "subject", "policy.latest", "reason", "rate_limited")
	waitMetric(t, reg, "podmedic_learner_replies_total", 10, "subject", "policy.latest")
	if got := metric(t, reg, "podmedic_learner_replies_total", "subject", "policy.latest"); got != 10 {
		t.Fatalf("%v replies to 100 requests at once from one connection, want the burst of 10", got)
	}
}

// TestHealthzReportsStall: actors sending rollouts and no update for the
// stall timeout make /healthz answer 503 with the reason.
func TestHealthzReportsStall(t *testing.T) {
	lnc, anc := startServer(t)
	cfg := testConfig()
	cfg.StallTimeout = 300 * time.Millisecond
	svc := openService(t, cfg, lnc, prometheus.NewRegistry(), nil)
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	get := func() (int, map[string]any) {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	time.Sleep(400 * time.Millisecond)
	if code, body := get(); code != 200 {
		t.Fatalf("healthz %d %v without members, want 200 (nothing to train on is not a stall)", code, body)
	}
	tok := join(t, anc)
	time.Sleep(400 * time.Millisecond)
	if code, body := get(); code != 200 {
		t.Fatalf("healthz %d %v with a member that sends nothing, want 200 (nothing to train on is not a stall)", code, body)
	}
	// Rollouts of another learner epoch: the actor is active, but nothing
	// can be trained on (as with a bug that refuses every rollout).
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for seq := uint64(1); ; seq++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			publish(t, anc, rollout(tok, seq, 0, 12345))
		}
	}()
	defer func() { close(stop); <-sent }()
	if code, _ := get(); code != 200 {
		t.Fatalf("healthz %d as soon as the actor sends, want 200", code)
	}
	time.Sleep(400 * time.Millisecond)
	code, body := get()
	if code != http.StatusServiceUnavailable || body["stalled"] != true || !strings.Contains(fmt.Sprint(body["unhealthy"]), "no update for") {
		t.Fatalf("healthz %d %v after 0.4 s without an update with a member, want 503 stalled", code, body)
	}
}

// TestPolicyIsOneSnapshotFormat: /v1/policy, policy.latest and the
// snapshot file written at a checkpoint are the same bytes, which
// protocol.ReadSnapshotFile (what evaluate --policy FILE uses) reads.
func TestPolicyIsOneSnapshotFormat(t *testing.T) {
	lnc, anc := startServer(t)
	cfg := ckptConfig(t.TempDir())
	cfg.SnapshotPath = filepath.Join(t.TempDir(), "policy.snapshot")
	svc := openService(t, cfg, lnc, prometheus.NewRegistry(), nil)
	train(t, svc, anc, 1)
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/policy")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := protocol.NewSubjects("t")
	msg, err := anc.Request(subj.PolicyLatest, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(cfg.SnapshotPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, msg.Data) || !bytes.Equal(body, file) {
		t.Fatalf("/v1/policy (%d bytes), policy.latest (%d) and the snapshot file (%d) differ", len(body), len(msg.Data), len(file))
	}
	saved := filepath.Join(t.TempDir(), "saved.snapshot")
	if err := os.WriteFile(saved, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if w, err := protocol.ReadSnapshotFile(saved); err != nil || w.Version != 1 {
		t.Fatalf("the saved /v1/policy body as a snapshot file: %v, %v", w, err)
	}
}

// flippingStore returns, while flip is set, every checkpoint it reads
// with one byte changed: a store that does not keep what it was given.
type flippingStore struct {
	learner.DirStore
	flip atomic.Bool
}

func (f *flippingStore) Read(name string) ([]byte, error) {
	data, err := f.DirStore.Read(name)
	if err == nil && f.flip.Load() && len(data) > 100 {
		data = bytes.Clone(data)
		data[len(data)/2] ^= 0x10
	}
	return data, err
}

// TestCheckpointVerifiedByTheBytes: a checkpoint counts as written only
// when what is read back is what was written, also after the first
// (which is decoded back as well): a store that changes one byte fails
// every write, the last good checkpoint stays the last one, and nothing
// a prune reads through it counts as kept.
func TestCheckpointVerifiedByTheBytes(t *testing.T) {
	dir := t.TempDir()
	store := &flippingStore{DirStore: learner.DirStore{Dir: dir, SnapshotPath: filepath.Join(t.TempDir(), "policy.snapshot")}}
	cfg := ckptConfig("")
	cfg.Store = store
	lnc, anc := startServer(t)
	reg := prometheus.NewRegistry()
	svc := openService(t, cfg, lnc, reg, nil)
	train(t, svc, anc, 3)
	if got := metric(t, reg, "podmedic_learner_checkpoints_kept"); got != 2 {
		t.Fatalf("checkpoints kept %v, want 2", got)
	}
	store.flip.Store(true)
	train(t, svc, anc, 4)
	if got := metric(t, reg, "podmedic_learner_checkpoint_errors_total"); got != 1 {
		t.Fatalf("checkpoint errors %v after a write read back changed, want 1", got)
	}
	if last, _ := svc.LastCheckpoint(); last.Version != 3 {
		t.Fatalf("last checkpoint %+v, want still version 3", last)
	}
	store.flip.Store(false)
	if err := svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ck, err := learner.LatestCheckpoint(dir); err != nil || ck.Version != 4 {
		t.Fatalf("newest checkpoint on disk after Close: %v, %v; want version 4", ck, err)
	}
}

// TestPruneRereadsKeptCheckpoints: a checkpoint this service wrote and
// verified that is damaged on disk afterwards (same length, one byte
// changed) is found by the next prune and set aside, not kept.
func TestPruneRereadsKeptCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cfg := ckptConfig(dir)
	cfg.KeepCheckpoints = 3
	lnc, anc := startServer(t)
	reg := prometheus.NewRegistry()
	svc := openService(t, cfg, lnc, reg, nil)
	train(t, svc, anc, 2)
	path := filepath.Join(dir, learner.CheckpointName(1))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x10
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	train(t, svc, anc, 3)
	if got := metric(t, reg, "podmedic_learner_checkpoints_kept"); got != 2 {
		t.Fatalf("checkpoints kept %v with version 1 damaged, want 2 (versions 2 and 3)", got)
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Fatalf("damaged checkpoint not set aside: %v", err)
	}
}
