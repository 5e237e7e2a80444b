package main

import (
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// timeBreakdown says where the time of a training run went, from the
// process's own metrics: env stepping, inference, PPO updates, and the
// transport (rollout encode+publish on actors, decode+validate on the
// learner). All are wall-clock durations of the parts.
type timeBreakdown struct {
	wall                                 time.Duration
	cpu, env, infer, ppo, encode, decode float64
}

func readBreakdown(g prometheus.Gatherer, wall time.Duration) (timeBreakdown, error) {
	mfs, err := g.Gather()
	if err != nil {
		return timeBreakdown{}, fmt.Errorf("gather metrics: %w", err)
	}
	b := timeBreakdown{wall: wall}
	for _, mf := range mfs {
		var dst *float64
		switch mf.GetName() {
		case "process_cpu_seconds_total":
			dst = &b.cpu
		case "podmedic_actor_env_seconds_total":
			dst = &b.env
		case "podmedic_actor_inference_seconds_total":
			dst = &b.infer
		case "podmedic_actor_publish_seconds_total":
			dst = &b.encode
		case "podmedic_learner_decode_seconds_total":
			dst = &b.decode
		case "podmedic_learner_update_duration_seconds":
			for _, m := range mf.GetMetric() {
				b.ppo += m.GetHistogram().GetSampleSum()
			}
			continue
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			*dst += m.GetCounter().GetValue()
		}
	}
	return b, nil
}

// print writes the learner's and the actors' time by part as shares of
// wall time, and the transport's share of all measured work.
func (b timeBreakdown) print(w io.Writer, actors int) {
	wall := b.wall.Seconds()
	if wall <= 0 || actors < 1 {
		return
	}
	work := b.env + b.infer + b.ppo + b.encode + b.decode
	if work <= 0 {
		return
	}
	aw := wall * float64(actors)
	fmt.Fprintf(w, "time: learner PPO %.1fs (%.0f%% of wall), decode+validate %.2fs (%.1f%%); "+
		"actors env %.1fs (%.0f%%), inference %.1fs (%.0f%%), encode+publish %.2fs (%.1f%%), rest waiting for weights; "+
		"transport is %.1f%% of measured work; process CPU %.1fs\n",
		b.ppo, 100*b.ppo/wall, b.decode, 100*b.decode/wall,
		b.env, 100*b.env/aw, b.infer, 100*b.infer/aw, b.encode, 100*b.encode/aw,
		100*(b.encode+b.decode)/work, b.cpu)
}
