package learner

import (
	"math"
	"time"

	"podmedic/learner/ppo"
	"podmedic/protocol"
)

// finished reports that training has ended: the budget is consumed or
// Finish was called.
func (s *Service) finished() bool {
	return s.stopped.Load() || s.cfg.TotalSteps > 0 && s.envSteps >= s.cfg.TotalSteps
}

// totalUpdates is the annealing horizon of the learning rate and clip
// range; without a step budget the schedule is effectively constant.
func (s *Service) totalUpdates() int {
	if s.cfg.TotalSteps == 0 {
		return math.MaxInt32
	}
	return int((s.cfg.TotalSteps + s.cfg.StepsPerUpdate - 1) / s.cfg.StepsPerUpdate)
}

// update runs one PPO update on the assembled batch, then merges the
// batch's observation statistics, bumps the version, broadcasts, writes
// the checkpoint and progress row, and tells the hooks.
func (s *Service) update() {
	batch, next := s.asm.take()
	s.segs = s.segs[:0]
	var steps int64
	for _, r := range batch {
		s.segs = append(s.segs, segmentOf(r))
		steps += int64(r.NumEnvs * r.Horizon)
		s.metrics.PolicyLag.Observe(float64(s.upd.Version() - r.PolicyVersion))
	}
	if s.cfg.TotalSteps > 0 {
		s.upd.SetProgress(float64(s.envSteps) / float64(s.cfg.TotalSteps))
	}
	mode := s.useCores()
	start := time.Now()
	st, err := s.upd.Update(s.segs)
	elapsed := time.Since(start)
	s.cores.observe(mode, elapsed, float64(st.Samples*st.Epochs))
	if err != nil {
		// Segments were validated on receipt, so this is a bug; keep
		// serving the current weights rather than crash.
		s.log.Error("update failed", "error", err, "version", s.upd.Version())
		s.metrics.UpdatesSkipped.WithLabelValues("error").Inc()
		return
	}
	if st.Skipped {
		// Nothing was applied and the version stays; actors in sync mode
		// notice after their sync wait and collect again at this version.
		s.metrics.UpdatesSkipped.WithLabelValues("non_finite").Inc()
		s.log.Warn("update skipped", "reason", st.SkipReason, "version", s.upd.Version())
	}
	// The batch was normalised with the statistics its actors had; the
	// new statistics apply from the next version on, for everyone alike.
	for _, r := range batch {
		if r.ObsStats.Count > 0 {
			s.norm.Merge(r.ObsStats.Count, r.ObsStats.Mean, r.ObsStats.M2)
		}
	}
	stepsBefore := s.envSteps
	s.envSteps += steps
	s.metrics.Updates.Inc()
	s.metrics.StepsConsumed.Add(float64(steps))
	s.metrics.UpdateDuration.Observe(elapsed.Seconds())
	s.metrics.PolicyVersion.Set(float64(s.upd.Version()))
	s.recordPPO(st)
	// Pipelined: the actors' next rollouts that came during the wait,
	// offered again now that the version is the one they were meant for.
	for _, r := range next {
		if !s.finished() {
			s.offer(r)
		}
	}
	if err := s.publishWeights(); err != nil {
		s.log.Error("broadcast weights failed", "error", err, "version", s.upd.Version())
	}
	s.lastUpdate.Store(s.now().UnixNano())
	var ckpt string
	if s.store != nil && s.upd.Updates()%int64(s.cfg.CheckpointEvery) == 0 {
		// A failure is counted and logged by checkpoint; training goes on.
		ckpt, _ = s.checkpoint()
	}
	s.writeProgress(st)
	s.setStatus()
	episodes := s.reportEpisodes(batch, stepsBefore)
	if s.hooks.Update != nil {
		s.hooks.Update(UpdateEvent{Update: s.upd.Updates(), Version: s.upd.Version(), EnvSteps: s.envSteps,
			Rollouts: len(batch), Episodes: episodes, Stats: st, Checkpoint: ckpt, Duration: elapsed})
	}
	// Done closes after the hooks of the last update have run.
	if s.cfg.TotalSteps > 0 && s.envSteps >= s.cfg.TotalSteps {
		s.log.Info("training budget reached", "env_steps", s.envSteps, "version", s.upd.Version())
		s.doneOnce.Do(func() { close(s.done) })
	}
}

// useCores gives the updater the pool or the loop goroutine alone, as the
// core chooser says, and returns the mode chosen. Without a pool (before
// Open) it runs alone.
func (s *Service) useCores() int {
	if s.pool == nil || s.pool.Workers() < 2 {
		return poolMode // the same as alone: measure nothing else
	}
	mode := s.cores.pick()
	if mode == poolMode {
		s.upd.SetExecutor(s.pool)
	} else {
		s.upd.SetExecutor(nil)
	}
	return mode
}

// reportEpisodes calls the Episode hook for the batch's episodes in batch
// order and returns how many there were.
func (s *Service) reportEpisodes(batch []*protocol.Rollout, stepsBefore int64) int {
	n, steps := 0, stepsBefore
	for _, r := range batch {
		steps += int64(r.NumEnvs * r.Horizon)
		n += len(r.Episodes)
		if s.hooks.Episode == nil {
			continue
		}
		for i := range r.Episodes {
			s.hooks.Episode(EpisodeEvent{Summary: r.Episodes[i], Actor: r.ActorID, Version: r.PolicyVersion, EnvSteps: steps})
		}
	}
	return n
}

func (s *Service) recordPPO(st ppo.UpdateStats) {
	for _, kv := range []struct {
		k string
		v float64
	}{
		{"policy_loss", st.PolicyLoss}, {"value_loss", st.ValueLoss}, {"entropy", st.Entropy},
		{"approx_kl", st.ApproxKL}, {"clip_fraction", st.ClipFraction},
		{"explained_variance", st.ExplainedVariance}, {"grad_norm", st.GradNorm},
		{"learning_rate", st.LearningRate},
	} {
		if !math.IsNaN(kv.v) && !math.IsInf(kv.v, 0) {
			s.metrics.PPO.WithLabelValues(kv.k).Set(kv.v)
		}
	}
}

// segmentOf views a validated rollout as a PPO segment without copying.
func segmentOf(r *protocol.Rollout) ppo.Segment {
	return ppo.Segment{
		NumEnvs: r.NumEnvs, Horizon: r.Horizon, Obs: r.Obs, Actions: r.Actions,
		LogProbs: r.LogProbs, Values: r.Values, Rewards: r.Rewards,
		Terminated: r.Terminated, Truncated: r.Truncated,
		BootstrapValues: r.BootstrapValues, LastValues: r.LastValues,
	}
}
