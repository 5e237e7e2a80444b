package envsim

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// TraceStep is one recorded step of a Trace.
type TraceStep struct {
	Step        int
	TimeSeconds float64
	RequestRate float64
	// Replicas, Ready and per-state counts as in StepInfo.
	Replicas, Ready, Healthy, Degraded, Crashed, Starting int
	AvgCPU, AvgMemory                                     float64
	LatencyP95Ms, ErrorRate                               float64
	// Action is the action index, ActionName its name; Invalid says why it
	// did nothing.
	Action     int
	ActionName string
	Invalid    InvalidReason
	Needless   bool
	Reward     float64
	// FaultActive and SLOMet copy the StepInfo flags.
	FaultActive, SLOMet bool
	// Events are copied from the step's info.
	Events []Event
	// Pods is the state of every pod slot.
	Pods []PodState
}

// Trace records an episode step by step for CSV export and timelines. It
// allocates per step and is meant for the simulate command and
// evaluation, not for training.
type Trace struct {
	// Scenario and Policy name what was run; Seed the episode seed.
	Scenario, Policy string
	Seed             uint64
	// Steps holds step 0 (after Reset) and every recorded Step.
	Steps []TraceStep
	names []string
	buf   []PodStatus
}

// NewTrace returns an empty trace for episodes of c.
func NewTrace(c *Cluster, policy string, seed uint64) *Trace {
	return &Trace{Policy: policy, Seed: seed, names: c.ActionSpec().Names}
}

// Record appends the state after c's last Reset or Step.
func (t *Trace) Record(c *Cluster) {
	in := c.Info()
	t.Scenario = in.Scenario
	s := TraceStep{
		Step: in.Step, TimeSeconds: in.TimeSeconds, RequestRate: in.RequestRate,
		Replicas: in.Replicas, Ready: in.Ready, Healthy: in.Healthy, Degraded: in.Degraded,
		Crashed: in.Crashed, Starting: in.Starting, AvgCPU: in.AvgCPU, AvgMemory: in.AvgMemory,
		LatencyP95Ms: in.LatencyP95Ms, ErrorRate: in.ErrorRate, Action: in.Action,
		Invalid: in.Invalid, Needless: in.Needless, Reward: in.Reward,
		FaultActive: in.FaultActive, SLOMet: in.SLOMet,
		Events: append([]Event(nil), in.Events...),
	}
	if in.Step > 0 && in.Action >= 0 && in.Action < len(t.names) {
		s.ActionName = t.names[in.Action]
	}
	t.buf = c.PodStatuses(t.buf)
	s.Pods = make([]PodState, len(t.buf))
	for i, p := range t.buf {
		s.Pods[i] = p.State
	}
	t.Steps = append(t.Steps, s)
}

// Return sums the recorded rewards.
func (t *Trace) Return() float64 {
	sum := 0.0
	for _, s := range t.Steps {
		sum += s.Reward
	}
	return sum
}

// WriteCSV writes one row per step: the metrics, the action, events as
// "kind:pod:fault" joined by ';' and one column per pod slot with its
// state name.
func (t *Trace) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"step", "time_s", "request_rate", "replicas", "ready", "healthy", "degraded",
		"crashed", "starting", "avg_cpu", "avg_memory", "latency_p95_ms", "error_rate", "slo_met",
		"fault_active", "action", "action_valid", "needless", "reward", "events"}
	slots := 0
	if len(t.Steps) > 0 {
		slots = len(t.Steps[0].Pods)
	}
	for i := range slots {
		header = append(header, fmt.Sprintf("pod%d", i))
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write trace csv: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	row := make([]string, 0, len(header))
	for _, s := range t.Steps {
		ev := make([]string, len(s.Events))
		for i, e := range s.Events {
			ev[i] = fmt.Sprintf("%s:%d:%s", e.Kind, e.Pod, e.Fault)
		}
		row = append(row[:0], strconv.Itoa(s.Step), f(s.TimeSeconds), f(s.RequestRate),
			strconv.Itoa(s.Replicas), strconv.Itoa(s.Ready), strconv.Itoa(s.Healthy),
			strconv.Itoa(s.Degraded), strconv.Itoa(s.Crashed), strconv.Itoa(s.Starting),
			f(s.AvgCPU), f(s.AvgMemory), f(s.LatencyP95Ms), f(s.ErrorRate),
			strconv.FormatBool(s.SLOMet), strconv.FormatBool(s.FaultActive), s.ActionName,
			strconv.FormatBool(s.Invalid == ValidAction), strconv.FormatBool(s.Needless), f(s.Reward),
			strings.Join(ev, ";"))
		for _, p := range s.Pods {
			row = append(row, p.String())
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write trace csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write trace csv: %w", err)
	}
	return nil
}
