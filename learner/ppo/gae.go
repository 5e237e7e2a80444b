package ppo

// GAE writes generalised advantage estimates (Schulman et al. 2016) and
// returns (advantages + values) for seg into adv and ret (len seg.Len()).
//
// The value after step (t,k) is 0 if the episode terminated there, the
// bootstrap value of the final observation if it was truncated (a time
// limit is not the end of the task), else V(t+1,k), or LastValues[k] at the
// segment's end. The recursion is cut at every episode end.
func GAE(seg *Segment, gamma, lambda float64, adv, ret []float64) {
	K, T := seg.NumEnvs, seg.Horizon
	for k := 0; k < K; k++ {
		last := 0.0
		for t := T - 1; t >= 0; t-- {
			i := t*K + k
			var next float64
			switch {
			case seg.Terminated[i]:
				next = 0
			case seg.Truncated[i]:
				next = seg.BootstrapValues[i]
			case t < T-1:
				next = seg.Values[i+K]
			default:
				next = seg.LastValues[k]
			}
			delta := seg.Rewards[i] + gamma*next - seg.Values[i]
			if seg.Terminated[i] || seg.Truncated[i] {
				last = delta
			} else {
				last = delta + gamma*lambda*last
			}
			adv[i] = last
			ret[i] = last + seg.Values[i]
		}
	}
}
