package learner

import (
	"fmt"
	"time"
)

// Status is a consistent summary for /healthz and progress output.
type Status struct {
	Version        uint64  `json:"version"`
	Updates        int64   `json:"updates"`
	EnvSteps       int64   `json:"env_steps"`
	Actors         int     `json:"actors"`
	ReturnMean     float64 `json:"return_mean"`
	Episodes       int     `json:"episodes_in_window"`
	StepsPerSecond float64 `json:"steps_per_second"`
	Finished       bool    `json:"finished"`
	// SecondsSinceUpdate is the time since the last update (or since the
	// service opened, or since actors started sending rollouts after none
	// for the heartbeat timeout, if later).
	SecondsSinceUpdate float64 `json:"seconds_since_update"`
	// Stalled is true when training has not finished, active members
	// (actors that sent a rollout within the heartbeat timeout) are
	// present, and no update happened for ServiceConfig.StallTimeout;
	// StallReason then says so in words.
	Stalled     bool   `json:"stalled"`
	StallReason string `json:"stall_reason,omitempty"`
}

// Status returns the latest summary, with the stall computed now; safe
// for concurrent use.
func (s *Service) Status() Status {
	st := *s.status.Load()
	st.Finished = st.Finished || s.stopped.Load()
	st.Actors = s.members.count()
	now := s.now()
	since := time.Unix(0, max(s.lastUpdate.Load(), s.busySince.Load()))
	idle := now.Sub(since)
	st.SecondsSinceUpdate = idle.Seconds()
	if !st.Finished && s.cfg.StallTimeout > 0 && idle > s.cfg.StallTimeout {
		if active := len(s.members.active(now)); active > 0 {
			st.Stalled = true
			st.StallReason = fmt.Sprintf("no update for %s (stall timeout %s) while %d actors send rollouts, at version %d",
				idle.Round(time.Second), s.cfg.StallTimeout, active, st.Version)
		}
	}
	return st
}

// setStatus publishes a new summary; the loop calls it.
func (s *Service) setStatus() {
	w := s.metrics.Window.Stats()
	st := &Status{Version: s.upd.Version(), Updates: s.upd.Updates(), EnvSteps: s.envSteps, Actors: s.members.count(),
		Episodes: w.N, ReturnMean: w.Mean, Finished: s.finished()}
	if wall := s.now().Sub(s.started).Seconds(); wall > 0 {
		st.StepsPerSecond = float64(s.envSteps-s.stepsAtStart) / wall
	}
	s.status.Store(st)
}
