// Package jsstore keeps a training run's durable state in NATS JetStream,
// so that it outlives any one host:
//
//   - Policies: an object store bucket of policy snapshots (the last K
//     versions plus the best by score), each with its version, learner
//     epoch, score and metrics as metadata; what `podmedic policy` and
//     `podmedic evaluate --policy nats` read while no learner runs.
//   - Checkpoints: an object store bucket of learner checkpoints. A reader
//     only ever sees a whole checkpoint: its metadata (with the SHA-256
//     digest and a CRC-32C of the bytes) is published after the last
//     chunk, and both sums are verified on every read.
//   - Lease: a key in a key-value bucket whose TTL is the lease's. The
//     active learner created it (Create fails while it exists) and renews it
//     by compare-and-set on its revision; when it stops renewing, the key
//     expires and a standby's Create succeeds. The revision of that Create
//     is the new holder's epoch, so epochs rise with every takeover.
//
// Elector campaigns for the lease and runs a caller's function while it is
// held; Uploader stores snapshots from a goroutine of the caller's, so
// that a slow store never holds up training.
//
// Buckets are named after the run (podmedic-<run>-policies, -checkpoints,
// -lease) and replicated 3 times on a cluster, once on a single server.
// The package stores bytes: it never decodes snapshots or checkpoints, and
// it starts no goroutine except Elector.Run's renewer, which Run waits for.
package jsstore
