// Package classic holds small classic-control tasks written for podmedic:
// environments of a few lines that any RL library learns in seconds, used
// to show and test that podmedic/train trains an environment that is not
// the cluster simulation. Like envsim they are pure: no goroutines, no
// I/O, no clock, randomness only from Reset's seed.
package classic

import (
	"math"
	"math/rand/v2"
)

// Pendulum is the inverted-pendulum swing-up of Gymnasium's Pendulum-v1
// with the torque discretised: a pole hangs from a pivot, starts at a
// random angle and speed, and must be swung up and held upright with a
// motor too weak to lift it directly. Each step lasts 0.05 s and costs
// angle^2 + 0.1*speed^2 + 0.001*torque^2 (angle in radians from upright,
// in [-pi, pi]); the reward is minus the cost, so it lies in [-16.3, 0].
// The episode never terminates: it is truncated after MaxSteps steps,
// which makes the task a test of bootstrapping on truncation.
//
// Observation: cos(angle), sin(angle), angular speed (rad/s, in [-8, 8]).
// Actions: torque -2, -1, 0, +1, +2 N·m.
type Pendulum struct {
	// MaxSteps is the episode length (Gymnasium's 200 by default).
	MaxSteps int

	theta, speed float64
	t            int
}

// Pendulum constants, as in Gymnasium's Pendulum-v1.
const (
	pendulumMaxSpeed  = 8.0
	pendulumMaxTorque = 2.0
	pendulumDT        = 0.05
	pendulumG         = 10.0
	pendulumMass      = 1.0
	pendulumLength    = 1.0
)

// pendulumTorques are the torques of the discrete actions.
var pendulumTorques = [...]float64{-2, -1, 0, 1, 2}

// NewPendulum returns a pendulum with 200-step episodes.
func NewPendulum() *Pendulum { return &Pendulum{MaxSteps: 200} }

// ObservationSize is 3: cos and sin of the angle, and the speed.
func (p *Pendulum) ObservationSize() int { return 3 }

// NumActions is 5 torques.
func (p *Pendulum) NumActions() int { return len(pendulumTorques) }

// Reset starts at an angle uniform in [-pi, pi] and a speed uniform in
// [-1, 1].
func (p *Pendulum) Reset(seed uint64, obs []float32) {
	rng := rand.New(rand.NewPCG(seed, 0x70656e64756c756d))
	p.theta = math.Pi * (2*rng.Float64() - 1)
	p.speed = 2*rng.Float64() - 1
	p.t = 0
	p.observe(obs)
}

// Step applies the torque of action for one 0.05 s step. An action out of
// range applies no torque.
func (p *Pendulum) Step(action int, obs []float32) (reward float64, terminated, truncated bool) {
	u := 0.0
	if action >= 0 && action < len(pendulumTorques) {
		u = pendulumTorques[action]
	}
	u = math.Max(-pendulumMaxTorque, math.Min(u, pendulumMaxTorque))
	a := angleNormalize(p.theta)
	cost := a*a + 0.1*p.speed*p.speed + 0.001*u*u
	speed := p.speed + (3*pendulumG/(2*pendulumLength)*math.Sin(p.theta)+3/(pendulumMass*pendulumLength*pendulumLength)*u)*pendulumDT
	p.speed = math.Max(-pendulumMaxSpeed, math.Min(speed, pendulumMaxSpeed))
	p.theta += p.speed * pendulumDT
	p.t++
	p.observe(obs)
	return -cost, false, p.t >= p.MaxSteps
}

func (p *Pendulum) observe(obs []float32) {
	obs[0] = float32(math.Cos(p.theta))
	obs[1] = float32(math.Sin(p.theta))
	obs[2] = float32(p.speed)
}

// angleNormalize maps x to [-pi, pi).
func angleNormalize(x float64) float64 {
	return math.Mod(math.Mod(x+math.Pi, 2*math.Pi)+2*math.Pi, 2*math.Pi) - math.Pi
}
