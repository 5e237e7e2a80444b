#!/usr/bin/env bash
# Learner memory under overload: two actors flood the learner (--max-ahead
# 1000 disables their backpressure) for DURATION seconds while the learner's
# RSS and peak RSS (VmHWM) are sampled every 20 s. Everything listens on
# 127.0.0.1 and stops by itself.
# Usage: scripts/soak-memory.sh [DURATION_SECONDS=600] [OUT_DIR=runs/soak]
set -euo pipefail
dur=${1:-600}
out=${2:-runs/soak}
bin=${PODMEDIC_BIN:-bin/podmedic}
rm -rf "$out" && mkdir -p "$out"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
"$bin" nats --nats-port 15222 --nats-http-port 0 >"$out/nats.log" 2>&1 & pids+=($!)
sleep 1
"$bin" learner --nats-url nats://127.0.0.1:15222 --run soak --dir "$out/data" --http 127.0.0.1:18081 --log-level warn >"$out/learner.log" 2>&1 &
lp=$!
pids+=($lp)
sleep 1
for i in 1 2; do
	"$bin" actor --nats-url nats://127.0.0.1:15222 --run soak --id flood$i --envs 16 --max-ahead 1000 --log-level error >"$out/actor$i.log" 2>&1 & pids+=($!)
done
echo "seconds rss_kib peak_rss_kib rollouts_received rejected_queue_full" | tee "$out/rss.txt"
end=$((SECONDS + dur))
while ((SECONDS < end)); do
	m=$(curl -s 127.0.0.1:18081/metrics)
	recv=$(awk '/^podmedic_learner_rollouts_received_total/ {print $2}' <<<"$m")
	full=$(awk '/^podmedic_learner_rollouts_rejected_total\{reason="queue_full"/ {print $2}' <<<"$m")
	echo "$SECONDS $(awk '/VmRSS/ {r=$2} /VmHWM/ {h=$2} END {print r, h}' /proc/$lp/status) ${recv:-0} ${full:-0}" | tee -a "$out/rss.txt"
	sleep 20
done
kill -INT "$lp"
wait "$lp" || true
