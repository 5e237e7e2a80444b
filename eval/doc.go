// Package eval compares a trained policy with the baselines on the
// scenario suite: it runs paired episodes (every policy sees the same
// seeds), measures each episode (return, time to recover, SLO attainment,
// availability, cost, actions), summarises them with bootstrap confidence
// intervals and paired differences, and writes reports: Markdown, CSV,
// PNG charts, a policy analysis and behaviour timelines.
//
// The evaluation core is pure and single-threaded: no goroutines, no
// clock, no global RNG. Only the report writers perform I/O. Evaluation
// seeds come from a hashed namespace disjoint from training's
// envsim.EpisodeSeed, so a policy is never scored on episodes it trained
// on.
package eval
