package actor

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"podmedic/envsim"
	"podmedic/internal/policywire"
	"podmedic/policy"
	"podmedic/protocol"
)

// TestMain fails the package if any test leaves a goroutine behind: Run
// must stop its heartbeats and subscriptions when its context ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testRun = "t"

// tickEnv is a small environment: observation (step, 1), reward = action,
// truncated after 5 steps, terminated when action 2 is taken at step 3.
type tickEnv struct{ t int }

func (e *tickEnv) ObservationSize() int { return 2 }
func (e *tickEnv) NumActions() int      { return 3 }

func (e *tickEnv) Reset(_ uint64, obs []float32) {
	e.t = 0
	obs[0], obs[1] = 0, 1
}

func (e *tickEnv) Step(action int, obs []float32) (float64, bool, bool) {
	e.t++
	obs[0], obs[1] = float32(e.t), 1
	return float64(action), action == 2 && e.t == 3, e.t == 5
}

func tickEnvs(n int) []envsim.Env {
	envs := make([]envsim.Env, n)
	for i := range envs {
		envs[i] = &tickEnv{}
	}
	return envs
}

// testConfig is an actor of run "t" with short timings.
func testConfig(mode protocol.Mode) Config {
	c := DefaultConfig()
	c.ID, c.Run, c.Mode, c.Horizon, c.Seed = "actor-0", testRun, mode, 8, 3
	return c
}

// weights returns encoded weights of version and epoch for tickEnv.
func weights(t testing.TB, version, epoch uint64) []byte {
	t.Helper()
	arch := policy.Arch{ObsSize: 2, NumActions: 3, Hidden: []int{4}, Activation: policy.ActivationTanh}
	net, err := policy.New(arch, rand.New(rand.NewPCG(version, epoch)))
	if err != nil {
		t.Fatal(err)
	}
	w := &protocol.Weights{Version: version, Epoch: epoch, Run: testRun,
		Arch:   protocol.Arch{ObsSize: 2, NumActions: 3, Hidden: arch.Hidden, Activation: arch.Activation},
		Params: net.Params(), Norm: policywire.Norm(policy.NewNormalizer(2).Snapshot())}
	data, err := protocol.EncodeWeights(w, 0)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// message is one published message and when it was sent.
type message struct {
	subject string
	data    []byte
	at      time.Time
}

// memConn is an in-memory conn: it records what the actor publishes and
// requests, answers hellos (accepting, token 42, unless member is set) and
// heartbeats like a learner that knows the actor, answers weights.latest
// with latest (no responders while nil), and delivers broadcasts to the
// actor's subscription synchronously. Inside a synctest bubble every wait
// of the actor runs on the fake clock.
type memConn struct {
	mu        sync.Mutex
	connected bool
	latest    []byte
	// member, if set, answers hellos and heartbeats: nil means no
	// learner on those subjects (no responders).
	member    func(subject string) *protocol.MemberReply
	subs      map[string]func([]byte)
	published []message
	requests  []message
}

func newMemConn() *memConn {
	return &memConn{connected: true, subs: map[string]func([]byte){}, member: acceptAll}
}

// acceptAll answers like a learner that accepts every actor.
func acceptAll(string) *protocol.MemberReply {
	return &protocol.MemberReply{Accepted: true, MemberToken: 42, Epoch: 1}
}

func (c *memConn) Publish(subject string, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.published = append(c.published, message{subject, append([]byte(nil), data...), time.Now()})
	return nil
}

func (c *memConn) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, message{subject, append([]byte(nil), data...), time.Now()})
	s, _ := protocol.NewSubjects(testRun)
	switch subject {
	case s.Hello, s.Heartbeat:
		if c.member == nil {
			return nil, nats.ErrNoResponders
		}
		return protocol.EncodeMemberReply(c.member(subject))
	case s.WeightsLatest:
		if c.latest == nil {
			return nil, nats.ErrNoResponders
		}
		return c.latest, ctx.Err()
	}
	return nil, nats.ErrNoResponders
}

func (c *memConn) Flush(time.Duration) error { return nil }

func (c *memConn) URL() string { return "nats://mem:4222" }

func (c *memConn) setMember(f func(subject string) *protocol.MemberReply) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.member = f
}

func (c *memConn) Subscribe(subject string, handle func([]byte)) (func() error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs[subject] = handle
	return func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs, subject)
		return nil
	}, nil
}

func (c *memConn) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

func (c *memConn) MaxPayload() int64 { return 8 << 20 }

func (c *memConn) setLatest(data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latest = data
}

func (c *memConn) setConnected(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connected = up
}

// broadcast delivers data to the subscriber of subject, as the learner's
// weights broadcast would.
func (c *memConn) broadcast(subject string, data []byte) {
	c.mu.Lock()
	h := c.subs[subject]
	c.mu.Unlock()
	if h != nil {
		h(data)
	}
}

// sent returns the messages published on subject so far.
func (c *memConn) sent(subject string) []message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []message
	for _, m := range c.published {
		if m.subject == subject {
			out = append(out, m)
		}
	}
	return out
}

// requestTimes returns when subject was requested (weights.latest if
// subject is empty).
func (c *memConn) requestTimes(subject ...string) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	want := subjectsOrLatest(subject)
	var out []time.Time
	for _, m := range c.requests {
		if m.subject == want {
			out = append(out, m.at)
		}
	}
	return out
}

// requested returns the requests made on subject.
func (c *memConn) requested(subject string) []message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []message
	for _, m := range c.requests {
		if m.subject == subject {
			out = append(out, m)
		}
	}
	return out
}

func subjectsOrLatest(subject []string) string {
	if len(subject) > 0 {
		return subject[0]
	}
	s, _ := protocol.NewSubjects(testRun)
	return s.WeightsLatest
}

// rollouts decodes the rollouts published so far.
func (c *memConn) rollouts(t *testing.T) []*protocol.Rollout {
	t.Helper()
	var out []*protocol.Rollout
	for _, m := range c.sent(subjects(t).Rollouts) {
		r, err := protocol.DecodeRollout(m.data, protocol.DefaultLimits())
		if err != nil {
			t.Fatalf("actor published an invalid rollout: %v", err)
		}
		out = append(out, r)
	}
	return out
}

func subjects(t testing.TB) protocol.Subjects {
	t.Helper()
	s, err := protocol.NewSubjects(testRun)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// running is an actor whose Run goroutine the test stops.
type running struct {
	a      *Actor
	m      *Metrics
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg Config, c conn, envs int) *running {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	a, err := newActor(cfg, tickEnvs(envs), c, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{a: a, m: m, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	return r
}

// stop cancels Run and checks that it returned cleanly.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("Run returned %v after cancellation, want nil", err)
	}
}
