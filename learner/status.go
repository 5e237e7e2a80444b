package learner

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
}

// Status returns the latest summary; safe for concurrent use.
func (s *Service) Status() Status {
	st := *s.status.Load()
	st.Finished = st.Finished || s.stopped.Load()
	return st
}

// setStatus publishes a new summary; the loop calls it.
func (s *Service) setStatus() {
	w := s.metrics.Window.Stats()
	st := &Status{Version: s.upd.Version(), Updates: s.upd.Updates(), EnvSteps: s.envSteps, Actors: s.actors.count(),
		Episodes: w.N, ReturnMean: w.Mean, Finished: s.finished()}
	if wall := s.now().Sub(s.started).Seconds(); wall > 0 {
		st.StepsPerSecond = float64(s.envSteps-s.stepsAtStart) / wall
	}
	s.status.Store(st)
}
