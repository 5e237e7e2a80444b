package actor

import (
	"podmedic/envsim"
	"podmedic/protocol"
)

// maxRecoveries bounds the recovery times kept per episode (the wire
// limit is protocol.DefaultLimits().MaxRecoveries).
const maxRecoveries = 256

// episode accumulates the summary of one env's running episode.
type episode struct {
	ret        float64
	length     int
	actions    []uint32
	sloSteps   int
	healthy    float64
	scenario   string
	incidentAt int // step index where the open incident began, or -1
	recoveries []int32
}

func newEpisode(numActions int) episode {
	return episode{actions: make([]uint32, numActions), incidentAt: -1}
}

func (e *episode) reset() {
	e.ret, e.length, e.sloSteps, e.healthy, e.scenario, e.incidentAt = 0, 0, 0, 0, "", -1
	clear(e.actions)
	e.recoveries = e.recoveries[:0]
}

// step books one step. For the cluster simulation it also reads the
// step's info: SLO, health, and time from the start of an incident (a
// failure) to full recovery. It must run before the env auto-resets.
func (e *episode) step(env envsim.Env, action int, reward float64) {
	i := e.length
	e.ret += reward
	e.length++
	if action >= 0 && action < len(e.actions) {
		e.actions[action]++
	}
	cl, ok := env.(*envsim.Cluster)
	if !ok {
		return
	}
	info := cl.Info()
	e.scenario = info.Scenario
	if info.SLOMet {
		e.sloSteps++
	}
	if info.Replicas > 0 {
		e.healthy += float64(info.Healthy) / float64(info.Replicas)
	}
	if info.IncidentOpen && e.incidentAt < 0 {
		e.incidentAt = i
	}
	if e.incidentAt >= 0 && info.HasEvent(envsim.EventRecovered) {
		if len(e.recoveries) < maxRecoveries {
			e.recoveries = append(e.recoveries, int32(i-e.incidentAt))
		}
		e.incidentAt = -1
	}
}

// summary returns the finished episode's wire summary (copying slices).
func (e *episode) summary(terminated bool) protocol.EpisodeSummary {
	s := protocol.EpisodeSummary{
		Return: e.ret, Length: e.length, Scenario: e.scenario, Terminated: terminated,
		ActionCounts: append([]uint32(nil), e.actions...),
		SLOSteps:     e.sloSteps,
	}
	if len(e.recoveries) > 0 {
		s.RecoverySteps = append([]int32(nil), e.recoveries...)
	}
	if e.length > 0 {
		s.HealthyFraction = min(1, e.healthy/float64(e.length))
	}
	return s
}
