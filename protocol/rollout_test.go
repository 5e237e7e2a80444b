package protocol

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestRolloutRoundTrip(t *testing.T) {
	cases := []struct {
		name       string
		k, t, d, a int
	}{
		{"one env", 1, 1, 1, 2},
		{"odd bit count", 3, 5, 7, 5},
		{"typical", 8, 128, 20, 9},
		{"wide actions", 2, 4, 3, 300},
	}
	lim := DefaultLimits()
	lim.MaxActions = 1024
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := testRollout(newRNG(uint64(i)), c.k, c.t, c.d, c.a)
			b := mustEncode(t, want)
			got, err := DecodeRollout(b, lim)
			if err != nil {
				t.Fatalf("DecodeRollout: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
			}
			if got.EnvSteps() != c.k*c.t {
				t.Fatalf("EnvSteps %d, want %d", got.EnvSteps(), c.k*c.t)
			}
			again := mustEncode(t, got)
			if !bytes.Equal(again, b) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

func TestRolloutNonTruncatedBootstrapNotSent(t *testing.T) {
	r := testRollout(newRNG(1), 2, 8, 3, 4)
	for i := range r.Truncated {
		r.Terminated[i], r.Truncated[i] = false, i == 5
		r.BootstrapValues[i] = float64(i) + 0.5
	}
	got, err := DecodeRollout(mustEncode(t, r), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got.BootstrapValues {
		want := 0.0
		if i == 5 {
			want = 5.5
		}
		if v != want {
			t.Fatalf("bootstrap[%d] = %g, want %g", i, v, want)
		}
	}
}

// TestRolloutLibraryInterop checks that the vmihailenco/msgpack library
// reads our encoding, and that we read its encoding of the same content in
// whatever key order and integer widths it picks, with unknown keys added.
func TestRolloutLibraryInterop(t *testing.T) {
	want := testRollout(newRNG(2), 4, 16, 5, 6)
	b := mustEncode(t, want)
	viaLib, err := msgpack.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(viaLib, b) {
		t.Fatal("msgpack.Marshal differs from EncodeRollout")
	}
	m := asMap(t, b)
	if m["v"] != int8(SchemaVersion) && m["v"] != uint8(SchemaVersion) {
		t.Fatalf("v = %#v", m["v"])
	}
	if obs, ok := m["obs"].([]byte); !ok || len(obs) != 4*len(want.Obs) {
		t.Fatalf("obs is %T of the wrong size", m["obs"])
	}
	m["future_field"] = map[string]any{"nested": []any{1, "x", 2.5, nil, true}}
	for range 5 { // Go map order differs between runs: try several orders.
		var got Rollout
		if err := msgpack.Unmarshal(fromMap(t, m), &got); err != nil {
			t.Fatalf("decode library encoding: %v", err)
		}
		if !reflect.DeepEqual(&got, want) {
			t.Fatal("library-encoded rollout decodes differently")
		}
	}
}

func TestDecodeRolloutIntoReuses(t *testing.T) {
	src := testRollout(newRNG(3), 8, 128, 20, 9)
	b := mustEncode(t, src)
	var r Rollout
	lim := DefaultLimits()
	if err := DecodeRolloutInto(&r, b, lim); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := DecodeRolloutInto(&r, b, lim); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("steady-state DecodeRolloutInto allocates %v times, want 0", allocs)
	}
	if !reflect.DeepEqual(&r, src) {
		t.Fatal("reused decode differs")
	}
	// A smaller rollout into the same value must not keep stale data.
	small := testRollout(newRNG(4), 1, 2, 20, 9)
	small.Episodes = nil
	if err := DecodeRolloutInto(&r, mustEncode(t, small), lim); err != nil {
		t.Fatal(err)
	}
	if len(r.Obs) != 40 || len(r.Episodes) != 0 || r.Seq != small.Seq {
		t.Fatalf("stale fields after reuse: obs %d episodes %d", len(r.Obs), len(r.Episodes))
	}
}

// TestDecodeRolloutAllocsBounded: decoding into a fresh value (what
// DecodeRollout does) allocates the value, its actor id, its 9 per-step
// arrays, the 2 statistics arrays and the episode slice (14), plus 3 per
// episode (scenario, recovery steps, action counts), whatever the size:
// never one allocation per element.
func TestDecodeRolloutAllocsBounded(t *testing.T) {
	lim := DefaultLimits()
	for _, s := range []struct{ k, t, d, a int }{{1, 2, 3, 4}, {8, 64, 40, 16}, {64, 256, 20, 9}} {
		r := testRollout(newRNG(11), s.k, s.t, s.d, s.a)
		data := mustEncode(t, r)
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := DecodeRollout(data, lim); err != nil {
				t.Fatal(err)
			}
		})
		if want := float64(14 + 3*len(r.Episodes)); allocs != want {
			t.Fatalf("%dx%dx%d: DecodeRollout allocates %v times, want %v", s.k, s.t, s.d, allocs, want)
		}
	}
}

func TestAppendRolloutNoAllocs(t *testing.T) {
	r := testRollout(newRNG(5), 8, 128, 20, 9)
	buf := make([]byte, 0, 1<<20)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := AppendRollout(buf[:0], r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendRollout allocates %v times, want 0", allocs)
	}
}

func TestEncodeRolloutTooLarge(t *testing.T) {
	r := testRollout(newRNG(6), 8, 128, 20, 9)
	_, err := EncodeRollout(r, 1<<16)
	var se *SizeError
	if !errorsAs(err, &se) || se.Limit != 1<<16 || se.Size <= 1<<16 {
		t.Fatalf("err = %v, want *SizeError with sizes", err)
	}
	if ReasonOf(err) != ReasonTooLarge || !strings.Contains(err.Error(), "max_payload") {
		t.Fatalf("err %q: reason %s", err, ReasonOf(err))
	}
	lim := DefaultLimits()
	lim.MaxPayload = 1 << 16
	_, err = DecodeRollout(mustEncode(t, r), lim)
	wantReason(t, err, ReasonTooLarge)
}

// TestDecodeRolloutRejects covers every rejection reason. Each case edits
// a valid rollout's generic msgpack map (or its bytes).
func TestDecodeRolloutRejects(t *testing.T) {
	base := testRollout(newRNG(7), 4, 8, 3, 5)
	valid := mustEncode(t, base)
	n := base.EnvSteps()
	firstTrunc := -1
	for i, tr := range base.Truncated {
		if tr {
			firstTrunc = i
			break
		}
	}
	if firstTrunc < 0 {
		t.Fatal("test rollout has no truncated step")
	}
	episode := func(m map[string]any) map[string]any { return m["episodes"].([]any)[0].(map[string]any) }
	cases := []struct {
		name   string
		edit   func(m map[string]any)
		raw    func() []byte // used instead of edit when set
		reason Reason
	}{
		{"random bytes", nil, func() []byte { return []byte("\xc1\x00garbage") }, ReasonMalformed},
		{"empty", nil, func() []byte { return nil }, ReasonMalformed},
		{"truncated msgpack", nil, func() []byte { return valid[:len(valid)/2] }, ReasonMalformed},
		{"trailing bytes", nil, func() []byte { return append(append([]byte(nil), valid...), 0) }, ReasonMalformed},
		{"not a map", nil, func() []byte {
			return wire(t, func(e *msgpack.Encoder) error { return e.Encode([]int{1, 2, 3}) })
		}, ReasonMalformed},
		{"huge bin header", nil, func() []byte {
			return wire(t, func(e *msgpack.Encoder) error {
				return errors.Join(e.EncodeMapLen(1), e.EncodeString("obs"), e.EncodeBytesLen(math.MaxUint32))
			})
		}, ReasonMalformed},
		{"huge map header", nil, func() []byte {
			return wire(t, func(e *msgpack.Encoder) error {
				return errors.Join(e.EncodeMapLen(math.MaxUint32), e.EncodeString("v"), e.EncodeUint(1))
			})
		}, ReasonMalformed},
		{"huge episodes header", func(m map[string]any) {
			m["episodes"] = msgpack.RawMessage(wire(t, func(e *msgpack.Encoder) error {
				return e.EncodeArrayLen(math.MaxUint32)
			}))
		}, nil, ReasonMalformed},
		{"deep nesting", nil, func() []byte { return nested(t, "x", 100) }, ReasonMalformed},
		{"episode length over int64", func(m map[string]any) { episode(m)["length"] = uint64(math.MaxUint64) }, nil, ReasonMalformed},
		{"seq wrong type", func(m map[string]any) { m["seq"] = "one" }, nil, ReasonMalformed},
		{"negative seq", func(m map[string]any) { m["seq"] = -1 }, nil, ReasonMalformed},
		{"wrong schema version", func(m map[string]any) { m["v"] = 3 }, nil, ReasonSchemaVersion},
		{"schema version 1 (no member token)", func(m map[string]any) { m["v"] = 1; delete(m, "member_token") }, nil, ReasonSchemaVersion},
		{"missing member token", func(m map[string]any) { delete(m, "member_token") }, nil, ReasonBadID},
		{"missing schema version", func(m map[string]any) { delete(m, "v") }, nil, ReasonSchemaVersion},
		{"zero envs", func(m map[string]any) { m["num_envs"] = 0 }, nil, ReasonShape},
		{"one action", func(m map[string]any) { m["num_actions"] = 1 }, nil, ReasonShape},
		{"too many envs", func(m map[string]any) { m["num_envs"] = 1 << 20 }, nil, ReasonTooLarge},
		{"horizon over limit", func(m map[string]any) { m["horizon"] = 5000 }, nil, ReasonTooLarge},
		{"obs too short", func(m map[string]any) { m["obs"] = m["obs"].([]byte)[4:] }, nil, ReasonShape},
		{"obs missing", func(m map[string]any) { delete(m, "obs") }, nil, ReasonShape},
		{"wrong obs size", func(m map[string]any) { m["obs_size"] = 4 }, nil, ReasonShape},
		{"last values short", func(m map[string]any) { m["last_values"] = m["last_values"].([]byte)[8:] }, nil, ReasonShape},
		{"bootstrap count", func(m map[string]any) { m["bootstrap_values"] = []byte{} }, nil, ReasonShape},
		{"terminated bitset short", func(m map[string]any) { m["terminated"] = []byte{} }, nil, ReasonShape},
		{"stats mean length", func(m map[string]any) {
			m["obs_stats"].(map[string]any)["mean"] = make([]byte, 16)
		}, nil, ReasonShape},
		{"action counts length", func(m map[string]any) { episode(m)["action_counts"] = []any{1} }, nil, ReasonShape},
		{"obs NaN", func(m map[string]any) { m["obs"] = putF32(m["obs"].([]byte), 17, float32(math.NaN())) }, nil, ReasonNonFinite},
		{"obs Inf", func(m map[string]any) { m["obs"] = putF32(m["obs"].([]byte), 0, float32(math.Inf(-1))) }, nil, ReasonNonFinite},
		{"log prob NaN", func(m map[string]any) { m["log_probs"] = putF64(m["log_probs"].([]byte), 3, math.NaN()) }, nil, ReasonNonFinite},
		{"value Inf", func(m map[string]any) { m["values"] = putF64(m["values"].([]byte), n-1, math.Inf(1)) }, nil, ReasonNonFinite},
		{"reward NaN", func(m map[string]any) { m["rewards"] = putF64(m["rewards"].([]byte), 2, math.NaN()) }, nil, ReasonNonFinite},
		{"bootstrap NaN", func(m map[string]any) { m["bootstrap_values"] = putF64(m["bootstrap_values"].([]byte), 0, math.NaN()) }, nil, ReasonNonFinite},
		{"last value NaN", func(m map[string]any) { m["last_values"] = putF64(m["last_values"].([]byte), 1, math.NaN()) }, nil, ReasonNonFinite},
		{"stats mean Inf", func(m map[string]any) {
			s := m["obs_stats"].(map[string]any)
			s["mean"] = putF64(s["mean"].([]byte), 0, math.Inf(1))
		}, nil, ReasonNonFinite},
		{"stats count NaN", func(m map[string]any) { m["obs_stats"].(map[string]any)["count"] = math.NaN() }, nil, ReasonNonFinite},
		{"episode return NaN", func(m map[string]any) { episode(m)["return"] = math.NaN() }, nil, ReasonNonFinite},
		{"action out of range", func(m map[string]any) {
			a := append([]byte(nil), m["actions"].([]byte)...)
			a[6] = 5
			m["actions"] = a
		}, nil, ReasonActionRange},
		{"log prob positive", func(m map[string]any) { m["log_probs"] = putF64(m["log_probs"].([]byte), 1, 0.5) }, nil, ReasonBadValue},
		{"reward huge", func(m map[string]any) { m["rewards"] = putF64(m["rewards"].([]byte), 1, 1e12) }, nil, ReasonBadValue},
		{"terminated and truncated", func(m map[string]any) {
			b := append([]byte(nil), m["terminated"].([]byte)...)
			b[firstTrunc/8] |= 1 << (firstTrunc % 8)
			m["terminated"] = b
		}, nil, ReasonBadValue},
		{"negative M2", func(m map[string]any) {
			s := m["obs_stats"].(map[string]any)
			s["m2"] = putF64(s["m2"].([]byte), 2, -1)
		}, nil, ReasonBadValue},
		{"zero seq", func(m map[string]any) { m["seq"] = 0 }, nil, ReasonBadValue},
		{"episode length zero", func(m map[string]any) { episode(m)["length"] = 0 }, nil, ReasonBadValue},
		{"slo steps over length", func(m map[string]any) { episode(m)["slo_steps"] = 1 << 20 }, nil, ReasonBadValue},
		{"healthy fraction over 1", func(m map[string]any) { episode(m)["healthy_fraction"] = 1.5 }, nil, ReasonBadValue},
		{"empty actor id", func(m map[string]any) { m["actor_id"] = "" }, nil, ReasonBadID},
		{"actor id with space", func(m map[string]any) { m["actor_id"] = "actor 1" }, nil, ReasonBadID},
		{"actor id too long", func(m map[string]any) { m["actor_id"] = strings.Repeat("a", 129) }, nil, ReasonBadID},
		{"zero incarnation", func(m map[string]any) { m["incarnation"] = 0 }, nil, ReasonBadID},
		{"too many episodes", func(m map[string]any) {
			eps := make([]any, DefaultLimits().MaxEpisodes+1)
			for i := range eps {
				eps[i] = nil
			}
			m["episodes"] = eps
		}, nil, ReasonTooLarge},
	}
	lim := DefaultLimits()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var data []byte
			if c.raw != nil {
				data = c.raw()
			} else {
				m := asMap(t, valid)
				c.edit(m)
				data = fromMap(t, m)
			}
			r, err := DecodeRollout(data, lim)
			if r != nil {
				t.Fatal("DecodeRollout returned a rollout with an error")
			}
			wantReason(t, err, c.reason)
			if ReasonOf(err) != c.reason {
				t.Fatalf("ReasonOf = %s", ReasonOf(err))
			}
		})
	}
}

// TestDecodeRolloutHugeDeclaredArrays checks that declared dimensions are
// checked against the payload before anything is allocated.
func TestDecodeRolloutHugeDeclaredArrays(t *testing.T) {
	m := asMap(t, mustEncode(t, testRollout(newRNG(8), 2, 2, 2, 3)))
	lim := DefaultLimits()
	m["num_envs"], m["horizon"], m["obs_size"] = lim.MaxEnvs, lim.MaxHorizon, lim.MaxObsSize
	data := fromMap(t, m)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := DecodeRollout(data, lim)
	runtime.ReadMemStats(&after)
	wantReason(t, err, ReasonShape)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Fatalf("rejecting a %d-byte message allocated %d bytes", len(data), got)
	}
}

func TestRolloutValidateInMemory(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(r *Rollout)
		reason Reason
	}{
		{"obs NaN", func(r *Rollout) { r.Obs[3] = float32(math.NaN()) }, ReasonNonFinite},
		{"bootstrap Inf where truncated", func(r *Rollout) {
			r.Terminated[0], r.Truncated[0], r.BootstrapValues[0] = false, true, math.Inf(1)
		}, ReasonNonFinite},
		{"negative action", func(r *Rollout) { r.Actions[0] = -1 }, ReasonActionRange},
		{"action too big for a byte", func(r *Rollout) { r.Actions[0] = 256 }, ReasonActionRange},
		{"short actions", func(r *Rollout) { r.Actions = r.Actions[1:] }, ReasonShape},
		{"wrong version", func(r *Rollout) { r.V = 3 }, ReasonSchemaVersion},
		{"version 1", func(r *Rollout) { r.V = 1 }, ReasonSchemaVersion},
		{"zero member token", func(r *Rollout) { r.MemberToken = 0 }, ReasonBadID},
		{"action counts sum", func(r *Rollout) { r.Episodes[0].ActionCounts[0]++ }, ReasonBadValue},
		{"recovery over length", func(r *Rollout) { r.Episodes[0].RecoverySteps[0] = int32(r.Episodes[0].Length + 1) }, ReasonBadValue},
		{"scenario not UTF-8", func(r *Rollout) { r.Episodes[0].Scenario = "\xff" }, ReasonBadValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := testRollout(newRNG(9), 4, 8, 3, 5)
			c.edit(r)
			wantReason(t, r.Validate(DefaultLimits()), c.reason)
			_, err := EncodeRollout(r, 0)
			wantReason(t, err, c.reason)
		})
	}
	// Garbage in bootstrap entries that are not truncated is not sent.
	r := testRollout(newRNG(9), 4, 8, 3, 5)
	for i, tr := range r.Truncated {
		if !tr {
			r.BootstrapValues[i] = math.NaN()
		}
	}
	if err := r.Validate(DefaultLimits()); err != nil {
		t.Fatalf("NaN in untransmitted bootstrap entries rejected: %v", err)
	}
}

func TestRolloutCheckShape(t *testing.T) {
	r := testRollout(newRNG(10), 4, 8, 3, 5)
	cases := []struct {
		name string
		want Shape
		ok   bool
	}{
		{"matches", Shape{ObsSize: 3, NumActions: 5}, true},
		{"zero checks nothing", Shape{}, true},
		{"full match", Shape{ObsSize: 3, NumActions: 5, NumEnvs: 4, Horizon: 8}, true},
		{"obs size", Shape{ObsSize: 4, NumActions: 5}, false},
		{"actions", Shape{ObsSize: 3, NumActions: 6}, false},
		{"envs", Shape{NumEnvs: 2}, false},
		{"horizon", Shape{Horizon: 16}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.CheckShape(c.want)
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantReason(t, err, ReasonShape)
		})
	}
}
