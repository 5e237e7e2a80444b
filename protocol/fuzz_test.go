package protocol

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// checkDecodeError fails unless err is a *DecodeError with a known reason.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) || de.Reason.Sentinel() == nil {
		t.Fatalf("error %v (%T) is not a *DecodeError with a known reason", err, err)
	}
}

// fuzzLimits keep the fuzzers' allocations small.
func fuzzLimits() Limits {
	l := DefaultLimits()
	l.MaxPayload = 1 << 20
	return l
}

func FuzzDecodeRollout(f *testing.F) {
	f.Add(mustEncode(f, testRollout(newRNG(1), 2, 3, 4, 5)))
	f.Add(mustEncode(f, testRollout(newRNG(2), 1, 9, 1, 2)))
	r := testRollout(newRNG(3), 3, 2, 2, 300)
	r.Episodes = nil
	f.Add(mustEncode(f, r))
	v1, err := msgpack.Marshal(map[string]int{"v": SchemaVersion})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v1)
	// Seeds for what the library-based decoder handles on its own: unknown
	// values of every kind (ext, nested, bin), nesting at the skip bound,
	// signed and unsigned 64-bit integers where small ones are expected.
	f.Add(withUnknownKeys(f, mustEncode(f, testRollout(newRNG(5), 1, 2, 3, 4))))
	f.Add(nested(f, "x", maxSkipDepth))
	f.Add(nested(f, "x", maxSkipDepth+1))
	m := asMap(f, mustEncode(f, testRollout(newRNG(6), 1, 1, 1, 2)))
	m["seq"], m["incarnation"] = int64(-1), uint64(math.MaxUint64)
	f.Add(fromMap(f, m))
	lim := fuzzLimits()
	lim.MaxActions = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeRollout(data, lim)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		b, err := EncodeRollout(got, 0)
		if err != nil {
			t.Fatalf("re-encode a decoded rollout: %v", err)
		}
		again, err := DecodeRollout(b, lim)
		if err != nil {
			t.Fatalf("decode a re-encoded rollout: %v", err)
		}
		if !reflect.DeepEqual(again, got) {
			t.Fatal("decode(encode(decode(x))) != decode(x)")
		}
		var reused Rollout
		_ = DecodeRolloutInto(&reused, mustEncode(t, testRollout(newRNG(4), 2, 2, 2, 3)), lim)
		// Reuse keeps capacity, so compare canonical encodings.
		if err := DecodeRolloutInto(&reused, data, lim); err != nil || !bytes.Equal(mustEncode(t, &reused), b) {
			t.Fatalf("DecodeRolloutInto into a used value differs (err %v)", err)
		}
	})
}

func FuzzDecodeWeights(f *testing.F) {
	w := testWeights(newRNG(1), 3, 2)
	w.Params = w.Params[:10]
	b, err := EncodeWeights(w, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(withUnknownKeys(f, b))
	w.Meta, w.Arch.Hidden, w.Run = nil, nil, ""
	if b, err = EncodeWeights(w, 0); err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeWeights(data, lim)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		b, err := EncodeWeights(got, 0)
		if err != nil {
			t.Fatalf("re-encode decoded weights: %v", err)
		}
		again, err := DecodeWeights(b, lim)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("decode(encode(decode(x))) != decode(x) (err %v)", err)
		}
	})
}

func FuzzDecodeHello(f *testing.F) {
	b, err := EncodeHello(testHello(), 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	// The library's struct decoder reads arrays as structs and truncates
	// numbers into narrow fields; the envelope check must refuse both.
	f.Add(withUnknownKeys(f, b))
	f.Add(nested(f, "hostname", maxSkipDepth+1))
	arr, err := msgpack.Marshal([]any{1, "a", 1, 1, 1, 1, 2, "", "", "", 0})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(arr)
	m := asMap(f, b)
	m["v"] = 1 + 1<<16
	f.Add(fromMap(f, m))
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeHello(data, lim)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		b, err := EncodeHello(got, 0)
		if err != nil {
			t.Fatalf("re-encode decoded hello: %v", err)
		}
		again, err := DecodeHello(b, lim)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("decode(encode(decode(x))) != decode(x) (err %v)", err)
		}
	})
}

func FuzzDecodeHeartbeat(f *testing.F) {
	b, err := EncodeHeartbeat(testHeartbeat(), 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(withUnknownKeys(f, b))
	m := asMap(f, b)
	m["incarnation"], m["unix_nano"] = int8(-1), uint64(math.MaxUint64)
	f.Add(fromMap(f, m))
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeHeartbeat(data, lim)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		b, err := EncodeHeartbeat(got, 0)
		if err != nil {
			t.Fatalf("re-encode decoded heartbeat: %v", err)
		}
		again, err := DecodeHeartbeat(b, lim)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("decode(encode(decode(x))) != decode(x) (err %v)", err)
		}
	})
}

func FuzzDecodeWeightsRequest(f *testing.F) {
	b, err := EncodeWeightsRequest(&WeightsRequest{V: SchemaVersion, ActorID: "a", HaveVersion: 4})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add(withUnknownKeys(f, b))
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeWeightsRequest(data, lim)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		b, err := EncodeWeightsRequest(got)
		if err != nil {
			t.Fatalf("re-encode decoded request: %v", err)
		}
		again, err := DecodeWeightsRequest(b, lim)
		if err != nil || *again != *got {
			t.Fatalf("decode(encode(decode(x))) != decode(x) (err %v)", err)
		}
	})
}

func FuzzDecodeMemberReply(f *testing.F) {
	for _, m := range []*MemberReply{
		{Accepted: true, MemberToken: 7, Epoch: 9},
		{Reason: string(ReasonRateLimited), RetryAfterMillis: 1500, Epoch: 9},
	} {
		b, err := EncodeMemberReply(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(withUnknownKeys(f, b))
	}
	f.Add([]byte{})
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeMemberReply(data, lim)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		b, err := EncodeMemberReply(got)
		if err != nil {
			t.Fatalf("re-encode decoded member reply: %v", err)
		}
		again, err := DecodeMemberReply(b, lim)
		if err != nil || *again != *got {
			t.Fatalf("decode(encode(decode(x))) != decode(x) (err %v)", err)
		}
	})
}

func FuzzDecodeGoodbye(f *testing.F) {
	b, err := EncodeGoodbye(&Goodbye{ActorID: "a", Incarnation: 3, MemberToken: 4, Seq: 5})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(withUnknownKeys(f, b))
	m := asMap(f, b)
	m["member_token"] = int8(-1)
	f.Add(fromMap(f, m))
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeGoodbye(data, lim)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		b, err := EncodeGoodbye(got)
		if err != nil {
			t.Fatalf("re-encode decoded goodbye: %v", err)
		}
		again, err := DecodeGoodbye(b, lim)
		if err != nil || *again != *got {
			t.Fatalf("decode(encode(decode(x))) != decode(x) (err %v)", err)
		}
	})
}
