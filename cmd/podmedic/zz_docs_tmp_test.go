package main

import (
	"bytes"
	"context"
	"testing"
)

func TestTmpDocs(t *testing.T) {
	for _, a := range [][]string{
		{"--scenario", "pod-kill", "--policy", "hpa", "--seed", "3", "--out", "/tmp/doc-pod-kill"},
		{"--scenario", "memory-leak-oom", "--policy", "heuristic", "--seed", "2", "--out", "/tmp/doc-leak"},
		{"--scenario", "memory-leak-oom", "--policy", "noop", "--seed", "2", "--out", "/tmp/doc-leak-noop"},
	} {
		var o, e bytes.Buffer
		if err := runSimulate(context.Background(), a, &o, &e); err != nil {
			t.Fatal(err)
		}
		t.Log(o.String())
	}
}
