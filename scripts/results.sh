#!/usr/bin/env bash
# Rebuilds the README's results: trains make run's configuration with three
# seeds (seed 1 is make run itself) and evaluates the three policies
# together against the baselines on the training suite and the held-out
# conditions (20 paired episodes per scenario), writing docs/eval.
#
#   scripts/results.sh            # aggregate actions (make run's mode)
#   MODE=per-pod scripts/results.sh   # the per-pod action space, into runs/per-pod-*
#
# Takes a few minutes on 2 cores. Sync mode is reproducible: the same code
# and seeds give bitwise the same policies and the same report.
set -euo pipefail
cd "$(dirname "$0")/.."
make build >/dev/null
mode="${MODE:-aggregate}"
out="${OUT:-docs/eval}"
args=()
prefix=runs/seed
if [ "$mode" = per-pod ]; then
	cfg=$(mktemp)
	trap 'rm -f "$cfg"' EXIT
	echo "action_mode: per-pod" >"$cfg"
	args=(--env-config "$cfg")
	prefix=runs/per-pod-seed
	out="${OUT:-docs/eval-per-pod}"
fi
snaps=()
for seed in 1 2 3; do
	dir="$prefix-$seed"
	rm -rf "$dir"
	echo "results: training seed $seed into $dir"
	bin/podmedic train --seed "$seed" --out "$dir" --eval-episodes 0 --http "" "${args[@]}"
	snaps+=("$dir/policy.snapshot")
done
echo "results: evaluating into $out"
rm -rf "$out"
bin/podmedic evaluate --policy "$(IFS=,; echo "${snaps[*]}")" --out "$out" "${args[@]}"
