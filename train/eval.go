package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"podmedic/envsim"
	"podmedic/policy"
)

// evaluator plays evaluation episodes with a policy snapshot and applies
// the stop rules. The learner's loop goroutine owns it.
type evaluator struct {
	cfg  Eval
	envs []envsim.Env
	obs  []float32

	results   []EvalResult
	best      float64
	sinceBest int // evaluations since the best one
}

// newEvaluator builds the evaluation environments and checks that they fit
// the training environments' shape.
func newEvaluator(cfg Eval, obsSize, numActions int) (*evaluator, error) {
	e := &evaluator{cfg: cfg, obs: make([]float32, obsSize), best: math.Inf(-1)}
	for i := 0; i < cfg.Envs; i++ {
		env, err := cfg.NewEnv(i)
		if err != nil {
			return nil, fmt.Errorf("train: eval env %d: %w", i, err)
		}
		if env == nil {
			return nil, fmt.Errorf("train: eval env %d: factory returned nil", i)
		}
		if env.ObservationSize() != obsSize || env.NumActions() != numActions {
			return nil, fmt.Errorf("%w: eval env %d has %d observations and %d actions, the training envs %d and %d",
				ErrConfig, i, env.ObservationSize(), env.NumActions(), obsSize, numActions)
		}
		e.envs = append(e.envs, env)
	}
	return e, nil
}

// due reports whether an evaluation follows update n.
func (e *evaluator) due(n int64) bool { return n%int64(e.cfg.Every) == 0 }

// evaluate plays the configured episodes with snap and records the
// result, marking it Best if it is the best so far.
func (e *evaluator) evaluate(snap policy.Snapshot, update int64, envSteps int64) (EvalResult, error) {
	var rng *rand.Rand
	if e.cfg.Stochastic {
		rng = rand.New(rand.NewPCG(e.cfg.Seed, 0x2545f4914f6cdd1d))
	}
	agent, err := policy.NewAgent(snap, !e.cfg.Stochastic, rng)
	if err != nil {
		return EvalResult{}, fmt.Errorf("train: evaluate: %w", err)
	}
	res := EvalResult{Update: update, Version: snap.Version, EnvSteps: envSteps,
		Returns: make([]float64, e.cfg.Episodes), Lengths: make([]int, e.cfg.Episodes)}
	for j := range e.cfg.Episodes {
		k := j % len(e.envs)
		res.Returns[j], res.Lengths[j] = e.play(agent, e.envs[k], envsim.EpisodeSeed(e.cfg.Seed, k, uint64(j/len(e.envs))))
	}
	res.MeanReturn, res.StdReturn = meanStd(res.Returns)
	for _, l := range res.Lengths {
		res.MeanLength += float64(l)
	}
	res.MeanLength /= float64(len(res.Lengths))
	if res.MeanReturn > e.best+e.cfg.MinDelta || len(e.results) == 0 {
		e.sinceBest = 0
	} else {
		e.sinceBest++
	}
	if res.MeanReturn > e.best {
		e.best, res.Best = res.MeanReturn, true
	}
	e.results = append(e.results, res)
	return res, nil
}

// play runs one episode and returns its return and length.
func (e *evaluator) play(agent policy.Policy, env envsim.Env, seed uint64) (float64, int) {
	agent.Reset()
	env.Reset(seed, e.obs)
	ret := 0.0
	for t := 1; ; t++ {
		r, term, trunc := env.Step(agent.Act(e.obs), e.obs)
		ret += r
		if term || trunc || t >= e.cfg.MaxSteps {
			return ret, t
		}
	}
}

// stop applies the stop rules to the latest evaluation.
func (e *evaluator) stop(res EvalResult) StopReason {
	switch {
	case e.cfg.StopAtReturn != nil && res.MeanReturn >= *e.cfg.StopAtReturn:
		return StopReturnThreshold
	case e.cfg.Patience > 0 && e.sinceBest >= e.cfg.Patience:
		return StopPlateau
	}
	return ""
}

func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}
