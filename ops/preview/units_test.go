package preview

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v        float64
		unit     string
		decimals int
		want     string
	}{
		{40363, "short", 0, "40 K"},
		{40363, "short", -1, "40.4 K"},
		{2807808, "short", 0, "3 Mil"},
		{19.26, "short", 1, "19.3"},
		{0.00123, "short", -1, "0.00123"},
		{-12.5, "", -1, "-12.5"},
		{0, "short", -1, "0"},
		{0.875, "percentunit", -1, "87.5%"},
		{1, "percentunit", 0, "100%"},
		{1536, "bytes", -1, "1.5 KiB"},
		{44.3 * 1024 * 1024, "bytes", -1, "44.3 MiB"},
		{2500, "Bps", -1, "2.5 kB/s"},
		{6.2e6, "Bps", -1, "6.2 MB/s"},
		{0.075, "s", -1, "75 ms"},
		{2.5, "s", -1, "2.5 s"},
		{90, "s", -1, "1.5 min"},
		{4e-5, "s", -1, "40 µs"},
		{3, "versions", -1, "3 versions"},
		{math.NaN(), "short", 0, "NaN"},
		{math.Inf(1), "short", 0, "+Inf"},
	}
	for _, tc := range tests {
		if got := formatValue(tc.v, tc.unit, tc.decimals); got != tc.want {
			t.Errorf("formatValue(%v, %q, %d) = %q, want %q", tc.v, tc.unit, tc.decimals, got, tc.want)
		}
	}
}

func TestDurationLabel(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Minute: "30m", 20 * time.Second: "20s", 90 * time.Second: "1m30s",
		2*time.Hour + 30*time.Minute: "2h30m", 0: "0s", 1500 * time.Millisecond: "2s",
	} {
		if got := durationLabel(d); got != want {
			t.Errorf("durationLabel(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestTimeTicks: labelled ticks fall on round clock times inside the
// range, about five of them.
func TestTimeTicks(t *testing.T) {
	start := float64(time.Date(2025, 3, 1, 12, 0, 7, 0, time.UTC).Unix())
	for _, tc := range []struct {
		span  time.Duration
		first string
	}{{2 * time.Minute, "12:00:30"}, {30 * time.Minute, "12:05"}, {6 * time.Hour, "13:00"}} {
		ticks := timeTicks{}.Ticks(start, start+tc.span.Seconds())
		if len(ticks) < 3 || len(ticks) > 7 {
			t.Errorf("%v: %d ticks, want 3 to 7", tc.span, len(ticks))
			continue
		}
		if ticks[0].Label != tc.first {
			t.Errorf("%v: first tick %q, want %q", tc.span, ticks[0].Label, tc.first)
		}
		for _, tk := range ticks {
			if tk.Value < start || tk.Value > start+tc.span.Seconds() {
				t.Errorf("%v: tick %v outside the range", tc.span, tk)
			}
		}
	}
}

func TestUnitTicksLabelInUnit(t *testing.T) {
	for _, tk := range (unitTicks{unit: "bytes"}).Ticks(0, 4<<20) {
		if tk.Label != "" && tk.Value != 0 && !strings.HasSuffix(tk.Label, "MiB") {
			t.Errorf("tick %v: label %q, want MiB", tk.Value, tk.Label)
		}
	}
}
