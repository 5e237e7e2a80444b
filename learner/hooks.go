package learner

import (
	"time"

	"podmedic/learner/ppo"
	"podmedic/protocol"
)

// Hooks let the program that embeds a service (podmedic/train) follow
// training as it happens. They run on the service's loop goroutine, so no
// update is made while one runs (and, in sync mode, training stays
// reproducible): keep them short or hand work to a goroutine of your own.
// A hook may call Finish, Status and Snapshot; it must not call Close.
type Hooks struct {
	// Episode is called for every episode summary in the rollouts an
	// update consumed, in batch order (in sync mode: by actor id), before
	// that update's Update hook. Episodes of rollouts the learner drops
	// (stale, over the budget) are counted in the metrics only.
	Episode func(EpisodeEvent)
	// Update is called after every update (applied or skipped by the
	// NaN/Inf guard), once its weights are broadcast, its checkpoint (if
	// due) written and its progress row appended.
	Update func(UpdateEvent)
	// Snapshot is called after every weights broadcast (the one Open
	// makes included) with the policy snapshot that went out: what
	// podmedic learner puts into the run's JetStream policy store. It
	// must not block (hand the bytes, which must not be modified, to a
	// goroutine of your own).
	Snapshot func(SnapshotEvent)
}

// SnapshotEvent is one published policy snapshot.
type SnapshotEvent struct {
	// Version and Epoch of the weights.
	Version, Epoch uint64
	// Snapshot is protocol.EncodeSnapshot's bytes (read only).
	Snapshot []byte
	// Score ranks snapshots: the mean return of the last episodes the
	// learner saw (the window of podmedic_episode_return_mean); NaN before
	// the first episode.
	Score float64
	// Metrics: env_steps, updates, and return_mean and episodes once
	// episodes have been seen.
	Metrics map[string]float64
}

// EpisodeEvent is one finished training episode.
type EpisodeEvent struct {
	// Summary is the actor's summary: return, length, terminated,
	// scenario (empty for environments other than the cluster), action
	// counts.
	Summary protocol.EpisodeSummary
	// Actor collected it with policy Version.
	Actor   string
	Version uint64
	// EnvSteps is the global env-step count at the end of the rollout
	// that carried the episode: env steps consumed by earlier updates plus
	// those of this update's rollouts up to and including that one. Its
	// resolution is one rollout (NumEnvs x Horizon steps).
	EnvSteps int64
}

// UpdateEvent describes one update.
type UpdateEvent struct {
	// Update counts updates attempted since the run began (1 for the
	// first; resumed runs continue their count).
	Update int64
	// Version is the policy version after the update.
	Version uint64
	// EnvSteps is the env steps consumed by all updates so far, this one
	// included.
	EnvSteps int64
	// Rollouts and Episodes count what the batch held.
	Rollouts, Episodes int
	// Stats are the PPO diagnostics (Stats.Skipped for a discarded update).
	Stats ppo.UpdateStats
	// Checkpoint is the path of the checkpoint written after this update,
	// or "".
	Checkpoint string
	// Duration is the wall time of the PPO update itself.
	Duration time.Duration
}
