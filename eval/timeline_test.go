package eval

import (
	"bytes"
	"errors"
	"image/png"
	"testing"

	"podmedic/envsim"
)

func recordTrace(t *testing.T, scenario string, steps int) *envsim.Trace {
	t.Helper()
	cfg := envsim.DefaultConfig()
	sc, err := envsim.ScenarioByName(scenario)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scenario, cfg.EpisodeSteps = sc, steps
	c, err := envsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float32, c.ObservationSize())
	c.Reset(4, obs)
	tr := envsim.NewTrace(c, "test", 4)
	tr.Record(c)
	for i := 0; ; i++ {
		a := envsim.ActionNoop
		if i%10 == 5 {
			a = envsim.ActionScaleUp
		}
		_, term, trunc := c.Step(a, obs)
		tr.Record(c)
		if term || trunc {
			return tr
		}
	}
}

func TestWriteTimelinePNG(t *testing.T) {
	tr := recordTrace(t, "pod-kill", 40)
	var buf bytes.Buffer
	if err := WriteTimelinePNG(&buf, tr, "test"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 800 {
		t.Fatalf("image %v too small", b)
	}
	// The health strip paints healthy pods green somewhere.
	found := false
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y && !found; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r>>8 == 60 && g>>8 == 170 && bb>>8 == 80 {
				found = true
				break
			}
		}
	}
	if !found {
		t.Fatal("no healthy-green cell in the health strip")
	}
}

func TestWriteTimelinesSideBySide(t *testing.T) {
	a, b := recordTrace(t, "memory-leak-oom", 30), recordTrace(t, "no-fault", 30)
	var one, two bytes.Buffer
	if err := WriteTimelinePNG(&one, a, "a"); err != nil {
		t.Fatal(err)
	}
	if err := WriteTimelinesPNG(&two, []*envsim.Trace{a, b}, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	i1, _ := png.Decode(&one)
	i2, err := png.Decode(&two)
	if err != nil {
		t.Fatal(err)
	}
	if i2.Bounds().Dx() != 2*i1.Bounds().Dx() {
		t.Fatalf("side-by-side width %d, want twice %d", i2.Bounds().Dx(), i1.Bounds().Dx())
	}
}

func TestWriteTimelineErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTimelinePNG(&buf, &envsim.Trace{}, "empty"); !errors.Is(err, ErrEmptyTrace) {
		t.Fatalf("empty trace: %v", err)
	}
	if err := WriteTimelinesPNG(&buf, nil, []string{"x"}); err == nil {
		t.Fatal("mismatched titles accepted")
	}
}
