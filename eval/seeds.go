package eval

import "hash/fnv"

// evalNamespace separates evaluation seeds from training seeds: training
// uses envsim.EpisodeSeed(seed, k, n), a SplitMix64 finaliser of a mix of
// (seed, k, n); evaluation feeds a different pre-mix (FNV-1a of
// "podmedic-eval", the scenario name, the seed and the episode) into the
// same finaliser, a bijection, so both families are pseudo-random 64-bit
// values and a collision has probability ~2^-64 per pair (the test checks
// the first 100k training seeds of seeds 1..10 explicitly).
const evalNamespace = "podmedic-eval/v1"

// EvalSeed is the environment seed of evaluation episode i of scenario on
// seed family seed. Every policy evaluated with the same seed family sees
// the same episodes.
func EvalSeed(seed uint64, scenario string, i int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(evalNamespace))
	h.Write([]byte(scenario))
	x := h.Sum64() ^ seed*0xd6e8feb86659fd93 ^ (uint64(i)+1)*0xa0761d6478bd642f
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// policySeq derives the RNG stream of a stochastic policy from its name,
// so random and trained-stochastic draw independent numbers on one seed.
func policySeq(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}
