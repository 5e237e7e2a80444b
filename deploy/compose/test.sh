#!/usr/bin/env bash
# make compose-test: runs deploy/compose/docker-compose.yml for real.
#
# This machine's Docker engine cannot pull images, so the test builds
# podmedic:local FROM scratch from the host binary (Dockerfile.local) and
# docker-compose.test.yml swaps the official NATS image for `podmedic nats`.
# It brings up NATS, the learner and 3 actors, then checks through the
# learner's metrics on a free 127.0.0.1 port: 3 actors connected and env
# steps rising; scaled to 5 actors; one actor killed and training going on;
# the learner restarted and resumed from its checkpoint volume at the same
# policy version; /v1/policy pulled and evaluated with `podmedic evaluate`.
# Everything is torn down on exit, also on failure or timeout.
#
# Environment: PODMEDIC_BIN (default bin/podmedic, static), COMPOSE_TEST_LIMIT
# (overall seconds, default 600), COMPOSE_TEST_KEEP_IMAGE=0 removes
# podmedic:local afterwards.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${PODMEDIC_BIN:-$root/bin/podmedic}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
limit="${COMPOSE_TEST_LIMIT:-600}"
project="podmedic-ct-$$"
run="ct$$"
work="$(mktemp -d)"
step="setup"
ok=0
# fd 9 is the original stderr: traps may run while a command's output is
# redirected to a log file, and their messages must still reach the user.
exec 9>&2

say() { printf 'compose-test: %s\n' "$*" >&9; }
fail() {
	say "FAIL ($step): $*"
	exit 1
}

# --- compose binary: prefer the v2 plugin, fall back to docker-compose ---
compose=()
if docker compose version >/dev/null 2>&1; then
	compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
	compose=(docker-compose)
else
	fail "neither 'docker compose' nor 'docker-compose' is installed"
fi
dc() {
	timeout 180 "${compose[@]}" -p "$project" -f "$here/docker-compose.yml" -f "$here/docker-compose.test.yml" "$@"
}

watchdog=""
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	exec 1>&9 2>&9
	if [[ -n "$watchdog" ]]; then
		kill "$watchdog" 2>/dev/null || true
		wait "$watchdog" 2>/dev/null || true
	fi
	if [[ $ok -ne 1 ]]; then
		say "containers:"
		dc ps -a >&2 || true
		for svc in nats learner actor; do
			say "last log lines of $svc:"
			dc logs --no-color --tail=60 "$svc" >&2 || true
		done
	fi
	say "tearing down project $project"
	dc down -v --remove-orphans -t 10 >/dev/null 2>&1 || say "WARNING: down failed; remove containers of project $project by hand"
	if [[ "${COMPOSE_TEST_KEEP_IMAGE:-1}" == 0 ]]; then
		docker rmi podmedic:local >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
	if [[ $ok -eq 1 ]]; then
		say "PASS in ${SECONDS}s"
	else
		say "FAILED after ${SECONDS}s"
		[[ $status -ne 0 ]] || status=1
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT
trap 'fail "overall time limit of ${limit}s exceeded"' TERM

# The watchdog signals this shell when the time is up; the TERM trap fails
# the test at the next command boundary (every command below is bounded).
(
	pid=""
	trap '[[ -z "$pid" ]] || kill "$pid" 2>/dev/null; exit 0' TERM
	sleep "$limit" &
	pid=$!
	wait "$pid"
	kill -TERM $$ 2>/dev/null
) &
watchdog=$!

# --- checks that need nothing running ---
[[ -x "$bin" ]] || fail "no podmedic binary at $bin (run make build, or set PODMEDIC_BIN)"
if command -v file >/dev/null 2>&1 && file -L "$bin" | grep -q 'dynamically linked'; then
	fail "$bin is dynamically linked; the scratch image needs CGO_ENABLED=0 (make build)"
fi
"$bin" healthcheck -h >/dev/null 2>&1 || fail "$bin has no healthcheck command (the learner's container healthcheck needs it)"
command -v curl >/dev/null 2>&1 || fail "curl is needed on the host"
docker info >/dev/null 2>&1 || fail "no Docker engine reachable (docker info failed)"

step="config"
# The shipped file must be valid for every compose binary on this machine.
for c in "docker compose" "docker-compose"; do
	read -ra cmd <<<"$c"
	if "${cmd[@]}" version >/dev/null 2>&1; then
		"${cmd[@]}" -f "$here/docker-compose.yml" config -q || fail "$c rejects docker-compose.yml"
		"${cmd[@]}" -f "$here/docker-compose.yml" -f "$here/docker-compose.test.yml" config -q || fail "$c rejects the test override"
		say "$c accepts docker-compose.yml"
	fi
done

step="image"
ctx="$work/context"
mkdir -p "$ctx/etc" "$ctx/data"
cp "$bin" "$ctx/podmedic"
echo 'podmedic:x:65532:65532:podmedic:/data:/sbin/nologin' >"$ctx/etc/passwd"
echo 'podmedic:x:65532:' >"$ctx/etc/group"
if [[ -r /etc/ssl/certs/ca-certificates.crt ]]; then
	cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
else
	: >"$ctx/ca-certificates.crt"
fi
old_image="$(docker image inspect -f '{{.Id}}' podmedic:local 2>/dev/null || true)"
DOCKER_BUILDKIT=0 timeout 180 docker build -q -t podmedic:local -f "$here/Dockerfile.local" "$ctx" >/dev/null 2>"$work/build.log" ||
	{ cat "$work/build.log" >&2; fail "docker build of podmedic:local failed"; }
# Drop the previous build, now untagged (no-op while a container uses it).
if [[ -n "$old_image" && "$old_image" != "$(docker image inspect -f '{{.Id}}' podmedic:local)" ]]; then
	docker rmi "$old_image" >/dev/null 2>&1 || true
fi
user="$(docker image inspect -f '{{.Config.User}}' podmedic:local)"
[[ "$user" == "65532:65532" ]] || fail "image user is '$user', want 65532:65532"

# --- free host ports on 127.0.0.1 ---
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
PODMEDIC_LEARNER_PORT="$(free_port)"
PODMEDIC_NATS_PORT="$(free_port)"
PODMEDIC_NATS_MONITOR_PORT="$(free_port)"
export PODMEDIC_LEARNER_PORT PODMEDIC_NATS_PORT PODMEDIC_NATS_MONITOR_PORT
export PODMEDIC_BIND=127.0.0.1 PODMEDIC_RUN="$run" PODMEDIC_ENVS=4 PODMEDIC_HORIZON=32 PODMEDIC_MODE=async PODMEDIC_SCENARIO=mixed PODMEDIC_LOG_LEVEL=info
base="http://127.0.0.1:$PODMEDIC_LEARNER_PORT"

# metric NAME prints the sum of NAME's samples for this run (0 if absent).
metric() {
	curl -fsS --max-time 5 "$base/metrics" 2>/dev/null | awk -v name="$1" -v run="run=\"$run\"" '
		index($0, name "{") == 1 && index($0, run) { sum += $NF; found = 1 }
		END { if (found) printf "%d\n", sum; else print "0" }'
}
# wait_until SECONDS DESCRIPTION COMMAND... retries COMMAND every second.
wait_until() {
	local secs=$1 what=$2
	shift 2
	local end=$((SECONDS + secs))
	until "$@"; do
		((SECONDS < end)) || fail "timed out after ${secs}s waiting for $what"
		sleep 1
	done
}
connected_is() { [[ "$(metric podmedic_learner_actors_connected)" == "$1" ]]; }
steps_above() { (($(metric podmedic_learner_env_steps_consumed_total) > $1)); }
healthy() { curl -fsS --max-time 3 "$base/healthz" >/dev/null 2>&1; }
# steps_rise SECONDS: env steps consumed rise within SECONDS.
steps_rise() {
	local s
	s="$(metric podmedic_learner_env_steps_consumed_total)"
	wait_until "$1" "env steps to rise above $s" steps_above "$s"
	say "  env steps consumed: $s -> $(metric podmedic_learner_env_steps_consumed_total)"
}
actor_ids() {
	docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=actor"
}

step="up"
say "using ${compose[*]}, project $project, learner on $base"
dc up -d --no-build --scale actor=3 nats learner actor >"$work/up.log" 2>&1 ||
	{ cat "$work/up.log" >&2; fail "compose up failed"; }
wait_until 60 "the learner's /healthz" healthy
wait_until 90 "3 actors connected" connected_is 3
say "3 actors connected"
steps_rise 90

step="scale"
dc up -d --no-build --no-recreate --scale actor=5 actor >"$work/up.log" 2>&1 ||
	{ cat "$work/up.log" >&2; fail "compose up --scale actor=5 failed"; }
[[ "$(actor_ids | wc -l)" -eq 5 ]] || fail "want 5 actor containers, have $(actor_ids | wc -l)"
wait_until 90 "5 actors connected" connected_is 5
say "scaled to 5 actors"
steps_rise 60

step="kill actor"
victim="$(actor_ids | head -n 1)"
docker kill "$victim" >/dev/null || fail "docker kill $victim failed"
wait_until 30 "the learner to drop the killed actor (4 connected)" connected_is 4
say "killed actor ${victim:0:12}, 4 connected"
steps_rise 60

step="restart learner"
before="$(metric podmedic_learner_policy_version)"
((before > 0)) || fail "policy version is $before before the restart: no update happened"
dc restart -t 30 learner >/dev/null 2>&1 || fail "compose restart learner failed"
wait_until 60 "the restarted learner's /healthz" healthy
logs="$(dc logs --no-color learner 2>&1)"
stopped="$(grep -o 'learner stopped at policy version [0-9]*' <<<"$logs" | tail -n 1 | grep -o '[0-9]*$' || true)"
resumed="$(grep 'resumed from checkpoint' <<<"$logs" | tail -n 1 | grep -o 'version=[0-9]*' | head -n 1 | cut -d= -f2 || true)"
[[ -n "$stopped" ]] || fail "the learner did not log a graceful stop ('learner stopped at policy version N')"
[[ -n "$resumed" ]] || fail "the restarted learner did not log 'resumed from checkpoint ... version=N'"
((stopped >= before)) || fail "learner stopped at version $stopped, below $before read before the restart"
((resumed == stopped)) || fail "learner resumed at version $resumed, want $stopped (its version at shutdown)"
now="$(metric podmedic_learner_policy_version)"
((now >= resumed)) || fail "policy version $now after the restart is below the resumed $resumed"
say "learner restarted: stopped at version $stopped, resumed at $resumed (was $before before), now $now"
wait_until 60 "4 actors connected to the restarted learner" connected_is 4
steps_rise 90

step="policy"
curl -fsS --max-time 10 -D "$work/policy.headers" -o "$work/policy.msgpack" "$base/v1/policy" || fail "GET /v1/policy failed"
[[ -s "$work/policy.msgpack" ]] || fail "/v1/policy returned an empty body"
pv="$(tr -d '\r' <"$work/policy.headers" | awk -F': ' 'tolower($1) == "x-podmedic-policy-version" { print $2 }')"
[[ -n "$pv" ]] && ((pv >= resumed)) || fail "/v1/policy version header '$pv', want >= $resumed"
say "pulled policy version $pv ($(wc -c <"$work/policy.msgpack") bytes)"

step="evaluate"
"$bin" evaluate -h >/dev/null 2>&1 || fail "$bin has no evaluate command yet (podmedic evaluate is needed to evaluate the pulled policy)"
# The PODMEDIC_* variables exported for compose would set evaluate's flags too.
(
	for v in $(compgen -e | grep '^PODMEDIC_'); do unset "$v"; done
	exec timeout 300 "$bin" evaluate --policy "$base" --episodes 2 --scenarios pod-kill --bootstrap 200 --out "$work/eval"
) >"$work/eval.log" 2>&1 ||
	{ cat "$work/eval.log" >&2; fail "podmedic evaluate --policy $base failed"; }
[[ -s "$work/eval/report.md" ]] || { cat "$work/eval.log" >&2; fail "podmedic evaluate wrote no report.md"; }
say "evaluated the running learner's policy: report.md of $(wc -c <"$work/eval/report.md") bytes"

step="done"
ok=1
