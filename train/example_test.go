package train_test

import (
	"context"
	"fmt"
	"log"

	"podmedic/envsim"
	"podmedic/train"
	"podmedic/train/classic"
)

// Training an environment that is not the cluster simulation: a pendulum
// swing-up (train/classic) with five torques, two actors of four
// environments over the embedded NATS server, evaluated every five
// updates on environments of its own and stopped once the mean
// evaluation return reaches -200. A random policy scores about -1200
// (TestPendulumRandomReturn); this run stops after 25 updates (51,200 env
// steps), in 3 to 10 seconds on 2 cores (about three times that with the
// race detector).
func ExampleRun() {
	cfg := train.DefaultConfig()
	cfg.Learner.Run = "pendulum"
	cfg.Actors, cfg.EnvsPerActor, cfg.Horizon = 2, 4, 256
	cfg.Learner.TotalSteps = 100_000
	cfg.Learner.PPO.Gamma, cfg.Learner.PPO.LearningRate = 0.9, 2e-3
	cfg.Learner.PPO.Epochs, cfg.Learner.PPO.MinibatchSize, cfg.Learner.PPO.EntCoef = 10, 256, 0
	newEnv := func(int) (envsim.Env, error) { return classic.NewPendulum(), nil }
	res, err := train.Run(context.Background(), cfg, newEnv, train.Callbacks{
		Eval: &train.Eval{NewEnv: newEnv, Episodes: 10, Every: 5, StopAtReturn: new(-200.0)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stopped by:", res.StopReason)
	fmt.Println("best mean evaluation return above -400:", res.Best().MeanReturn > -400)
	// Output:
	// stopped by: return threshold
	// best mean evaluation return above -400: true
}
