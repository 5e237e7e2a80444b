package preview

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
)

// formatValue writes v in a Grafana unit, the way Grafana's value
// formatters do for the units the dashboard uses: "short" scales by 1000
// with K, Mil, Bil, Tri; "s" picks ns to hours; "bytes" uses IEC (KiB);
// "Bps" uses SI bytes per second (kB/s); "percentunit" shows a share as a
// percentage. decimals < 0 picks a precision from the magnitude. Other
// units are printed after the number.
func formatValue(v float64, unit string, decimals int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 0):
		if v > 0 {
			return "+Inf"
		}
		return "-Inf"
	}
	switch unit {
	case "", "short", "none":
		return scaled(v, 1000, []string{"", " K", " Mil", " Bil", " Tri"}, decimals)
	case "percentunit":
		return number(100*v, decimals) + "%"
	case "bytes":
		return scaled(v, 1024, []string{" B", " KiB", " MiB", " GiB", " TiB"}, decimals)
	case "Bps":
		return scaled(v, 1000, []string{" B/s", " kB/s", " MB/s", " GB/s", " TB/s"}, decimals)
	case "s":
		return seconds(v, decimals)
	default:
		return number(v, decimals) + " " + unit
	}
}

// scaled divides v by base until it is below base and appends the
// matching suffix.
func scaled(v, base float64, suffixes []string, decimals int) string {
	i := 0
	for math.Abs(v) >= base && i < len(suffixes)-1 {
		v /= base
		i++
	}
	return number(v, decimals) + suffixes[i]
}

// seconds writes a duration in seconds with Grafana's "s" unit steps.
func seconds(v float64, decimals int) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return number(0, decimals) + " s"
	case a < 1e-6:
		return number(v*1e9, decimals) + " ns"
	case a < 1e-3:
		return number(v*1e6, decimals) + " µs"
	case a < 1:
		return number(v*1e3, decimals) + " ms"
	case a < 60:
		return number(v, decimals) + " s"
	case a < 3600:
		return number(v/60, decimals) + " min"
	default:
		return number(v/3600, decimals) + " hour"
	}
}

// number writes v with decimals places, or (decimals < 0) with three
// significant digits and no trailing zeros.
func number(v float64, decimals int) string {
	if decimals >= 0 {
		return strconv.FormatFloat(v, 'f', decimals, 64)
	}
	if v == 0 {
		return "0"
	}
	digits := max(0, 2-int(math.Floor(math.Log10(math.Abs(v)))))
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// unitTicks labels gonum's default ticks in a Grafana unit.
type unitTicks struct{ unit string }

func (u unitTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = formatValue(ticks[i].Value, u.unit, -1)
		}
	}
	return ticks
}

// timeTicks puts about five labelled ticks on a time axis of Unix seconds
// at round clock times (10 s, 30 s, 1 min, 5 min, ...), in UTC.
type timeTicks struct{}

var tickSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	span := time.Duration((hi - lo) * float64(time.Second))
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 6 {
			step = s
			break
		}
	}
	layout := "15:04"
	if step < time.Minute {
		layout = "15:04:05"
	}
	st := step.Seconds()
	var ticks []plot.Tick
	for v := math.Ceil(lo/st) * st; v <= hi; v += st {
		ticks = append(ticks, plot.Tick{Value: v, Label: time.Unix(int64(v), 0).UTC().Format(layout)})
	}
	return ticks
}

// durationLabel writes d compactly for the image header: 30m, 2h30m,
// 45s, 1m30s.
func durationLabel(d time.Duration) string {
	d = d.Round(time.Second)
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	return b.String()
}

// panelKey names a panel uniquely for reports: titles repeat across rows
// (the Overview's "Env steps/s" stat and the throughput row's graph).
func panelKey(row, title string) string {
	if row == "" {
		return title
	}
	return fmt.Sprintf("%s / %s", row, title)
}
