package protocol

import (
	"reflect"
	"strings"
	"testing"
)

func testHello() *Hello {
	return &Hello{V: SchemaVersion, ActorID: "podmedic-actor-3", Incarnation: 0xdeadbeef, NumEnvs: 8,
		Horizon: 128, ObsSize: 20, NumActions: 9, Scenario: "mixed", Hostname: "host-a", Version: "v0.1.0",
		StartedUnixNano: -5}
}

func testHeartbeat() *Heartbeat {
	return &Heartbeat{V: SchemaVersion, ActorID: "a1", Incarnation: 1 << 63, MemberToken: 99, Seq: 42, WeightsVersion: 7,
		EnvSteps: 1 << 40, UnixNano: 1_700_000_000_000_000_000}
}

func TestActorMessagesRoundTrip(t *testing.T) {
	lim := DefaultLimits()
	t.Run("hello", func(t *testing.T) {
		want := testHello()
		b, err := EncodeHello(want, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeHello(b, lim)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, err %v", got, err)
		}
	})
	t.Run("heartbeat", func(t *testing.T) {
		want := testHeartbeat()
		b, err := EncodeHeartbeat(want, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeHeartbeat(b, lim)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, err %v", got, err)
		}
	})
	t.Run("weights request", func(t *testing.T) {
		want := &WeightsRequest{V: SchemaVersion, ActorID: "a1", HaveVersion: 3}
		b, err := EncodeWeightsRequest(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeWeightsRequest(b, lim)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, err %v", got, err)
		}
	})
	t.Run("empty weights request", func(t *testing.T) {
		got, err := DecodeWeightsRequest(nil, lim)
		if err != nil || *got != (WeightsRequest{V: SchemaVersion}) {
			t.Fatalf("got %+v, err %v", got, err)
		}
	})
}

func TestActorMessagesReject(t *testing.T) {
	lim := DefaultLimits()
	hello := func(edit func(m map[string]any)) func() error {
		return func() error {
			b, err := EncodeHello(testHello(), 0)
			if err != nil {
				return err
			}
			m := asMap(t, b)
			edit(m)
			_, err = DecodeHello(fromMap(t, m), lim)
			return err
		}
	}
	heartbeat := func(edit func(m map[string]any)) func() error {
		return func() error {
			b, err := EncodeHeartbeat(testHeartbeat(), 0)
			if err != nil {
				return err
			}
			m := asMap(t, b)
			edit(m)
			_, err = DecodeHeartbeat(fromMap(t, m), lim)
			return err
		}
	}
	cases := []struct {
		name   string
		run    func() error
		reason Reason
	}{
		{"hello garbage", func() error { _, err := DecodeHello([]byte("\xc1"), lim); return err }, ReasonMalformed},
		{"hello version", hello(func(m map[string]any) { m["v"] = 3 }), ReasonSchemaVersion},
		{"hello of schema version 1", hello(func(m map[string]any) { m["v"] = 1 }), ReasonSchemaVersion},
		{"hello no version", hello(func(m map[string]any) { delete(m, "v") }), ReasonSchemaVersion},
		{"hello bad id", hello(func(m map[string]any) { m["actor_id"] = "a\nb" }), ReasonBadID},
		{"hello zero incarnation", hello(func(m map[string]any) { m["incarnation"] = 0 }), ReasonBadID},
		{"hello huge envs", hello(func(m map[string]any) { m["num_envs"] = 1 << 30 }), ReasonTooLarge},
		{"hello zero obs", hello(func(m map[string]any) { m["obs_size"] = 0 }), ReasonShape},
		{"hello long hostname", hello(func(m map[string]any) { m["hostname"] = strings.Repeat("h", 2000) }), ReasonTooLarge},
		{"hello bad utf8", hello(func(m map[string]any) { m["scenario"] = "\xff\xfe" }), ReasonBadValue},
		{"hello trailing", func() error {
			b, _ := EncodeHello(testHello(), 0)
			_, err := DecodeHello(append(b, 1), lim)
			return err
		}, ReasonMalformed},
		{"heartbeat truncated", func() error {
			b, _ := EncodeHeartbeat(testHeartbeat(), 0)
			_, err := DecodeHeartbeat(b[:len(b)-1], lim)
			return err
		}, ReasonMalformed},
		{"heartbeat version", heartbeat(func(m map[string]any) { m["v"] = 0 }), ReasonSchemaVersion},
		{"heartbeat of schema version 1", heartbeat(func(m map[string]any) { m["v"] = 1; delete(m, "member_token") }), ReasonSchemaVersion},
		{"heartbeat without token", heartbeat(func(m map[string]any) { delete(m, "member_token") }), ReasonBadID},
		{"heartbeat bad id", heartbeat(func(m map[string]any) { m["actor_id"] = "" }), ReasonBadID},
		{"heartbeat wrong type", heartbeat(func(m map[string]any) { m["seq"] = 1.5 }), ReasonMalformed},
		{"weights request bad id", func() error {
			_, err := DecodeWeightsRequest(fromMap(t, map[string]any{"v": 1, "actor_id": "x y"}), lim)
			return err
		}, ReasonBadID},
		{"weights request version", func() error {
			_, err := DecodeWeightsRequest(fromMap(t, map[string]any{"v": 3}), lim)
			return err
		}, ReasonSchemaVersion},
		{"hello encode invalid", func() error { _, err := EncodeHello(&Hello{V: SchemaVersion}, 0); return err }, ReasonBadID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantReason(t, c.run(), c.reason) })
	}
}

func TestMemberMessages(t *testing.T) {
	lim := DefaultLimits()
	for _, want := range []*MemberReply{
		{V: SchemaVersion, Accepted: true, MemberToken: 1 << 62, Epoch: 3},
		{V: SchemaVersion, Reason: string(ReasonMembersFull), RetryAfterMillis: 2000, Epoch: 3},
	} {
		b, err := EncodeMemberReply(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeMemberReply(b, lim)
		if err != nil || *got != *want {
			t.Fatalf("member reply %+v: got %+v, err %v", want, got, err)
		}
	}
	bye := &Goodbye{V: SchemaVersion, ActorID: "a-1", Incarnation: 2, MemberToken: 3, Seq: 4}
	b, err := EncodeGoodbye(bye)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeGoodbye(b, lim); err != nil || *got != *bye {
		t.Fatalf("goodbye: got %+v, err %v", got, err)
	}
	reply := func(m map[string]any) func() error {
		return func() error { _, err := DecodeMemberReply(fromMap(t, m), lim); return err }
	}
	goodbye := func(edit func(m map[string]any)) func() error {
		return func() error {
			m := asMap(t, b)
			edit(m)
			_, err := DecodeGoodbye(fromMap(t, m), lim)
			return err
		}
	}
	cases := []struct {
		name   string
		run    func() error
		reason Reason
	}{
		{"reply accepted without token", reply(map[string]any{"v": SchemaVersion, "accepted": true}), ReasonBadID},
		{"reply refused with a token", reply(map[string]any{"v": SchemaVersion, "member_token": 5, "reason": "x"}), ReasonBadValue},
		{"reply refused without reason", reply(map[string]any{"v": SchemaVersion}), ReasonBadValue},
		{"reply reason with a newline", reply(map[string]any{"v": SchemaVersion, "reason": "a\nb"}), ReasonBadValue},
		{"reply version 1", reply(map[string]any{"v": 1, "accepted": true, "member_token": 1}), ReasonSchemaVersion},
		{"reply garbage", func() error { _, err := DecodeMemberReply([]byte{0x92, 1, 2}, lim); return err }, ReasonMalformed},
		{"goodbye no token", goodbye(func(m map[string]any) { m["member_token"] = 0 }), ReasonBadID},
		{"goodbye no incarnation", goodbye(func(m map[string]any) { delete(m, "incarnation") }), ReasonBadID},
		{"goodbye bad id", goodbye(func(m map[string]any) { m["actor_id"] = "" }), ReasonBadID},
		{"goodbye version", goodbye(func(m map[string]any) { m["v"] = 1 }), ReasonSchemaVersion},
		{"goodbye trailing", func() error { _, err := DecodeGoodbye(append(append([]byte(nil), b...), 0), lim); return err }, ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantReason(t, c.run(), c.reason) })
	}
}
