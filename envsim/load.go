package envsim

import "math"

// workloadRate returns the offered request rate of the current step.
func (c *Cluster) workloadRate() float64 {
	w := &c.sc.Workload
	t := float64(c.step)
	rate := w.BaseRPS * c.cfg.LoadScale
	if w.DailyAmplitude > 0 {
		rate *= 1 + w.DailyAmplitude*math.Sin(2*math.Pi*(t/float64(w.DailyPeriodSteps)+c.dailyPhase))
	}
	for k, fc := range w.FlashCrowds {
		s := c.flashStart[k]
		if c.step < s || c.step >= s+fc.Duration {
			continue
		}
		d, f := c.step-s, 1.0
		switch {
		case fc.RampSteps > 0 && d < fc.RampSteps:
			f = float64(d+1) / float64(fc.RampSteps)
		case fc.RampSteps > 0 && d >= fc.Duration-fc.RampSteps:
			f = float64(fc.Duration-d) / float64(fc.RampSteps)
		}
		rate *= 1 + (fc.Multiplier-1)*f
	}
	if w.SpikeRate > 0 {
		if c.spikeLeft == 0 && c.rng.Float64() < w.SpikeRate {
			c.spikeLeft = w.SpikeSteps
		}
		if c.spikeLeft > 0 {
			c.spikeLeft--
			rate *= w.SpikeMultiplier
		}
	}
	if w.Noise > 0 {
		rate *= max(0, 1+w.Noise*c.rng.NormFloat64())
	}
	return rate
}

// updateLoad spreads rate over the pods in the Service's endpoints and
// moves every running pod's metrics towards the queueing model's values,
// then applies OOM kills, liveness kills under overload and bad-config
// crashes. A pod on a failed node is still in the endpoints until the node
// is marked NotReady: its share of requests fails, and its metrics are no
// longer scraped (they keep their last values).
//
// Per pod (M/M/1, REFERENCE.md "Load, latency and errors"): utilisation
// rho = rate_i / capacity_eff with capacity_eff = capacity*(1-hog); mean
// latency W = S/(1-rho) (rho capped at 0.99), times up to 4 under memory
// pressure; p95 = delay + W ln 20, capped at the timeout, where the delay
// is injected network latency plus a bad release's latency. Errors:
// excess arrivals above capacity (1-1/rho), timeouts P(T > timeout-delay)
// = exp(-(timeout-delay)/W), network loss, a bad config and a bad
// release, combined as independent failures. CPU = rate_i/capacity + hog,
// capped at the limit (throttling). Memory = base + per-request memory *
// in-flight (Little's law, rate*min(W, timeout)) + leaked + hogged memory.
func (c *Cluster) updateLoad(rate float64) {
	pc := &c.cfg.Pods
	// The pods in the endpoints are the ready ones, which reconcile has
	// just counted per ReplicaSet.
	serving := 0
	for r := range c.nRS {
		serving += c.rsAvail[r]
	}
	perPod := 0.0
	if serving > 0 {
		perPod = rate / float64(serving)
	}
	a := pc.MetricSmoothing
	// Pods under the same load share their timeout probability: memoise
	// the exponential.
	lastArg, lastExp := math.NaN(), 0.0
	for i := range c.pods {
		p := &c.pods[i]
		if p.phase != phaseRunning {
			continue
		}
		if c.lost(p) {
			p.rps = 0
			if c.serving(p) {
				p.rps = perPod
			}
			continue
		}
		t := &c.rs[p.rs].tmpl
		lambda := 0.0
		if c.serving(p) {
			lambda = perPod
			p.served++
		}
		capEff := pc.CapacityRPS * fmax(1-p.hog, 0.01)
		rho := lambda / capEff
		p.util, p.rps = rho, lambda
		cpu := fmin(1, lambda/pc.CapacityRPS+p.hog)
		pressure := (p.mem/pc.MemoryLimitMiB - pc.MemoryPressure) / fmax(1-pc.MemoryPressure, 1e-9)
		gc := 1 + 3*fmin(1, fmax(0, pressure))
		wait := gc * pc.ServiceTimeMs / (1 - fmin(rho, 0.99))
		sat := 0.0
		if rho > 1 {
			sat = 1 - 1/rho
		}
		delay := p.netLatMs + t.latMs
		budget := fmax(pc.TimeoutMs-delay, 0)
		if arg := budget / wait; arg != lastArg {
			lastArg, lastExp = arg, math.Exp(-arg)
		}
		tout := lastExp
		errRate := 1 - (1-sat)*(1-tout)*(1-p.netLoss)*(1-t.badErr)*(1-t.errRate)
		if lambda == 0 {
			errRate = 0
		}
		inflight := lambda * (1 - sat) * fmin(wait, pc.TimeoutMs) / 1000
		p.leaked += t.leakRate * p.leakFactor
		mem := pc.MemoryBaseMiB + pc.MemoryPerInflightMiB*inflight + p.leaked + p.memHog

		p.cpu += a * (cpu - p.cpu)
		p.wait += a * (wait - p.wait)
		p.errRate += a * (errRate - p.errRate)
		p.mem += a * (mem - p.mem)
		p.p95 = fmin(pc.TimeoutMs, delay+p.wait*ln20)

		switch {
		case p.mem >= pc.MemoryLimitMiB:
			c.crash(i, crashOOM)
			continue
		case lambda > 0 && rho >= pc.OverloadCrashUtilization:
			p.overload++
			if p.overload >= pc.OverloadCrashSteps {
				c.crash(i, crashOverload)
				continue
			}
		default:
			p.overload = 0
		}
		if t.badCrash && p.served >= 2 {
			c.crash(i, crashBadConfig)
			continue
		}
		p.degraded = p.notReady || p.p95 > c.cfg.SLO.LatencyP95Ms || p.errRate > c.cfg.SLO.ErrorRate ||
			p.mem > pc.MemoryPressure*pc.MemoryLimitMiB || p.cpu >= 0.95
	}
}

// rhoSLO is the utilisation at which a pod's p95 latency reaches the SLO
// in the queueing model, 1 - S ln 20 / SLO: what "enough capacity" means.
func (c *Cluster) rhoSLO() float64 {
	return min(1, max(0.05, 1-c.cfg.Pods.ServiceTimeMs*ln20/c.cfg.SLO.LatencyP95Ms))
}

// aggregate fills the counts and service metrics of info from the pods.
// Counts are what the API shows (observedState). Request-level metrics
// cover the pods that served this step, a pod on a failed node failing
// all of its requests at the timeout; the p95 of the mixture solves
// sum_i share_i * exp(-(L-delay_i)/W_i) = 0.05.
func (c *Cluster) aggregate(rate float64) {
	in := &c.info
	pc := &c.cfg.Pods
	in.RequestRate = rate
	in.Desired = c.desired
	c.pending = 0
	var cpuSum, memSum, errSum, meanSum float64
	running, ready, served, healthyServing := 0, 0, 0, 0
	ob := &c.obsAgg
	*ob = obsAggregates{}
	for i := range c.pods {
		p := &c.pods[i]
		if !p.live() {
			if p.phase == phaseTerminating {
				c.pending++
			}
			continue
		}
		in.Replicas++
		upd := int(p.rs) == c.cur
		if upd {
			in.Updated++
		}
		ob.restarts = max(ob.restarts, p.restarts)
		if p.lastOOM {
			ob.oom++
		}
		if c.lost(p) {
			in.Lost++
		}
		st := c.observedState(p)
		switch st {
		case PodStarting:
			in.Starting++
			c.pending++
		case PodHealthy:
			in.Healthy++
		case PodDegraded:
			in.Degraded++
		case PodCrashed:
			in.Crashed++
		case PodDrained:
			in.Drained++
		}
		if c.ready(p) {
			ready++
			if st == PodHealthy && !c.lost(p) {
				healthyServing++
			}
		}
		if p.phase == phaseCrashed && upd {
			ob.crashedUpd++
		}
		if p.phase != phaseRunning {
			continue
		}
		running++
		memSum += p.mem
		ob.cpuMax, ob.memMax = fmax(ob.cpuMax, p.cpu), fmax(ob.memMax, p.mem)
		ob.latMax, ob.errMax = fmax(ob.latMax, p.p95), fmax(ob.errMax, p.errRate)
		rdy := c.ready(p)
		if rdy {
			cpuSum += p.cpu
			if upd {
				ob.servingUpd++
				ob.errUpd += p.errRate
			}
		}
		if p.rps > 0 {
			d := c.delay(p)
			c.mixDelay[served], c.mixWait[served] = d, p.wait
			served++
			if c.lost(p) {
				errSum++
				meanSum += pc.TimeoutMs
			} else {
				errSum += p.errRate
				meanSum += fmin(pc.TimeoutMs, d+p.wait)
			}
		}
	}
	if ob.servingUpd > 0 {
		ob.errUpd /= float64(ob.servingUpd)
	}
	in.Ready, in.Serving = ready, ready
	in.NodesNotReady = c.nodesNotReady()
	in.RolloutSteps = c.step - c.rolloutAt
	if ready > 0 {
		in.AvgCPU = cpuSum / float64(ready)
	}
	if running > 0 {
		in.AvgMemory = memSum / float64(running) / pc.MemoryLimitMiB
	}
	if served == 0 {
		in.ErrorRate, in.LatencyP95Ms, in.LatencyMeanMs = 1, pc.TimeoutMs, pc.TimeoutMs
		if rate == 0 {
			in.ErrorRate = 0
		}
	} else {
		in.ErrorRate = errSum / float64(served)
		in.LatencyMeanMs = meanSum / float64(served)
		in.LatencyP95Ms = c.mixtureP95(c.mixDelay[:served], c.mixWait[:served])
	}
	in.AllHealthy = in.Healthy == in.Replicas
	in.SLOMet = served > 0 && in.LatencyP95Ms <= c.cfg.SLO.LatencyP95Ms && in.ErrorRate <= c.cfg.SLO.ErrorRate
	in.CapacityOK = float64(healthyServing)*pc.CapacityRPS*c.rhoSLO() >= rate
	in.Symptom = (rate > 0 && !in.SLOMet) || in.Crashed > 0 || in.Degraded > 0 || in.Drained > 0
	if in.Symptom {
		c.lastSymptom = c.step
	}
}

// delay is the fixed latency added to every request of p: injected
// network latency plus a bad release's latency, or the timeout for a pod
// on a failed node (its requests never return).
func (c *Cluster) delay(p *pod) float64 {
	if c.lost(p) {
		return c.cfg.Pods.TimeoutMs
	}
	return p.netLatMs + c.rs[p.rs].tmpl.latMs
}

// mixtureP95 solves for the p95 of the serving pods' exponential latency
// mixture (pod i: fixed delay[i], mean wait[i], an equal share of the
// traffic) with Newton's method from the largest single-pod bound (the
// function is convex and decreasing, so the iterates rise monotonically
// to the root).
func (c *Cluster) mixtureP95(delay, wait []float64) float64 {
	timeout := c.cfg.Pods.TimeoutMs
	n := len(delay)
	share := 1 / float64(n)
	// Fast path: pods that agree on delay and (within 1%) on mean latency
	// form one exponential, whose p95 is delay + W ln 20.
	lo, wMin, wMax, wSum, dSum, d0, same := 0.0, math.Inf(1), 0.0, 0.0, 0.0, delay[0], true
	logShare := math.Log(share / 0.05)
	for i, d := range delay {
		w := wait[i]
		same = same && d == d0
		wMin, wMax, wSum, dSum = fmin(wMin, w), fmax(wMax, w), wSum+w, dSum+d
		lo = fmax(lo, d+w*logShare)
	}
	if same && wMax <= 1.01*wMin {
		return fmin(timeout, d0+wSum/float64(n)*ln20)
	}
	// Start from the p95 of the mean pod: the first Newton step lands at
	// or left of the root (the function is convex), near it, and the
	// iterates rise from there; never start left of the single-pod bound.
	l := fmax(lo, (dSum+wSum*ln20)/float64(n))
	for range 4 {
		f, df := -0.05, 0.0
		for i, d := range delay {
			if l < d {
				f += share
				continue
			}
			e := share * math.Exp(-(l-d)/wait[i])
			f += e
			df -= e / wait[i]
		}
		if f <= 1e-4 { // 0.01% of the requests: far below the noise
			break
		}
		if df == 0 { // every pod's delay exceeds l: jump to the next delay
			next := timeout
			for _, d := range delay {
				if d > l {
					next = fmin(next, d)
				}
			}
			l = next
			continue
		}
		l -= f / df
	}
	return fmin(timeout, l)
}

// fmin and fmax are min and max for values that are never NaN: the
// built-ins order NaN and signed zeros, which costs a dozen instructions
// in the per-pod loops of every step.
func fmin(a, b float64) float64 {
	if a < b {
		return a
	}
	return b
}

func fmax(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}
