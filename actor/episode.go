package actor

import (
	"podmedic/envsim"
	"podmedic/protocol"
)

// maxRecoveries bounds the recovery times kept per episode (the wire
// limit is protocol.DefaultLimits().MaxRecoveries).
const maxRecoveries = 256

// episode accumulates the summary of one env's running episode. For the
// cluster simulation it also keeps envsim.EpisodeStats, whose incident and
// recovery definition the reward and the evaluation use too.
type episode struct {
	ret     float64
	length  int
	actions []uint32
	cluster bool
	stats   envsim.EpisodeStats
}

func newEpisode(numActions int) episode {
	return episode{actions: make([]uint32, numActions)}
}

// reset starts a new episode of env, which has just been reset.
func (e *episode) reset(env envsim.Env) {
	e.ret, e.length = 0, 0
	clear(e.actions)
	cl, ok := env.(*envsim.Cluster)
	e.cluster = ok
	if ok {
		e.stats.Begin(cl.Info())
	}
}

// step books one step. It must run before the env auto-resets.
func (e *episode) step(env envsim.Env, action int, reward float64) {
	e.ret += reward
	e.length++
	if action >= 0 && action < len(e.actions) {
		e.actions[action]++
	}
	if cl, ok := env.(*envsim.Cluster); ok {
		e.stats.Add(cl.Info())
	}
}

// summary returns the finished episode's wire summary (copying slices).
func (e *episode) summary(terminated bool) protocol.EpisodeSummary {
	s := protocol.EpisodeSummary{
		Return: e.ret, Length: e.length, Terminated: terminated,
		ActionCounts: append([]uint32(nil), e.actions...),
	}
	if !e.cluster {
		return s
	}
	st := &e.stats
	s.Scenario, s.SLOSteps, s.HealthyFraction = st.Scenario, st.SLOSteps, st.HealthyFraction()
	if n := min(len(st.RecoverySteps), maxRecoveries); n > 0 {
		s.RecoverySteps = make([]int32, n)
		for i, r := range st.RecoverySteps[:n] {
			s.RecoverySteps[i] = int32(r)
		}
	}
	return s
}
