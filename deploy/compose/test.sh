#!/usr/bin/env bash
# make compose-test: runs deploy/compose/docker-compose.yml for real, with
# the failures a scaled-out deployment must survive.
#
# This machine's Docker engine cannot pull images, so the test builds
# podmedic:local FROM scratch from the host binary (Dockerfile.local) and
# docker-compose.test.yml runs `podmedic nats --config` on the shipped NATS
# node config in place of the official image. It makes fresh secrets with
# gen-secrets.sh (TLS everywhere, a user per role) and brings up 3 NATS
# nodes, 2 learners and 4 actors on the project's private network. Then,
# asserting on numbers from the learners' /metrics, the policy store and a
# subscriber's view of the weights (podmedic watch), never on logs:
#
#   security   an actor's credentials cannot publish weights
#   nats       a NATS node is killed: training goes on, 4 actors stay members
#   kill       the active learner is killed and its volume deleted: the
#              standby takes over, resumed at the newest checkpoint (at most
#              one checkpoint interval of updates lost); the recreated
#              learner stands by
#   partition  the active learner is cut off the network: the other takes
#              over, the cut-off one fences itself and comes back as standby
#   actor      an actor is cut off for 20 s: the learner drops it, it comes
#              back, and the rollouts it made while cut off (stale weights,
#              a lapsed membership) are refused and counted
#   store      both learners stopped: the newest policy is listed, pulled
#              and evaluated from the store
#   epochs     the subscriber saw the epochs only rise: never two learners
#              publishing at once
#
# Everything is torn down on exit, also on failure or timeout. The figures
# (takeover seconds, updates lost) are printed at the end.
#
# Environment: PODMEDIC_BIN (default bin/podmedic, static), COMPOSE_TEST_LIMIT
# (overall seconds, default 900), COMPOSE_TEST_KEEP_IMAGE=0 removes
# podmedic:local afterwards.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${PODMEDIC_BIN:-$root/bin/podmedic}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
limit="${COMPOSE_TEST_LIMIT:-900}"
project="podmedic-ct-$$"
run="ct$$"
work="$(mktemp -d)"
step="setup"
ok=0
watcher=""
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
	if [[ -n "$watcher" ]]; then
		kill "$watcher" 2>/dev/null || true
		wait "$watcher" 2>/dev/null || true
	fi
	if [[ $ok -ne 1 ]]; then
		say "containers:"
		dc ps -a >&2 || true
		for svc in nats-1 nats-2 nats-3 learner-1 learner-2 actor; do
			say "last log lines of $svc:"
			dc logs --no-color --tail=40 "$svc" >&2 || true
		done
		[[ -s "$work/watch.log" ]] && { say "weights seen:"; tail -n 20 "$work/watch.log" >&2; }
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
for c in healthcheck watch policy; do
	"$bin" "$c" -h >/dev/null 2>&1 || fail "$bin has no $c command"
done
command -v curl >/dev/null 2>&1 || fail "curl is needed on the host"
command -v openssl >/dev/null 2>&1 || fail "openssl is needed on the host (gen-secrets.sh)"
docker info >/dev/null 2>&1 || fail "no Docker engine reachable (docker info failed)"

step="secrets"
secrets="$work/secrets"
bash "$here/gen-secrets.sh" "$secrets" >/dev/null || fail "gen-secrets.sh failed"
export PODMEDIC_SECRETS="$secrets"
# pw ROLE prints the role's password.
pw() { sed -n 's/^PODMEDIC_NATS_PASSWORD=//p' "$secrets/$1.env"; }

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
used_ports=" "
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if [[ "$used_ports" != *" $p "* ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			used_ports+="$p "
			echo "$p"
			return 0
		fi
	done
	return 1
}
PODMEDIC_LEARNER_PORT="$(free_port)"
PODMEDIC_LEARNER2_PORT="$(free_port)"
PODMEDIC_NATS_PORT="$(free_port)"
PODMEDIC_NATS2_PORT="$(free_port)"
PODMEDIC_NATS3_PORT="$(free_port)"
PODMEDIC_NATS_MONITOR_PORT="$(free_port)"
export PODMEDIC_LEARNER_PORT PODMEDIC_LEARNER2_PORT PODMEDIC_NATS_PORT PODMEDIC_NATS2_PORT PODMEDIC_NATS3_PORT PODMEDIC_NATS_MONITOR_PORT
ckpt_every=5
export PODMEDIC_BIND=127.0.0.1 PODMEDIC_RUN="$run" PODMEDIC_ENVS=4 PODMEDIC_HORIZON=32 PODMEDIC_MODE=async \
	PODMEDIC_SCENARIO=mixed PODMEDIC_LOG_LEVEL=info PODMEDIC_CHECKPOINT_EVERY=$ckpt_every PODMEDIC_HEARTBEAT_TIMEOUT=3s
lease_ttl=15
export PODMEDIC_LEASE_TTL=${lease_ttl}s
urls="nats://127.0.0.1:$PODMEDIC_NATS_PORT,nats://127.0.0.1:$PODMEDIC_NATS2_PORT,nats://127.0.0.1:$PODMEDIC_NATS3_PORT"
declare -A base=([learner-1]="http://127.0.0.1:$PODMEDIC_LEARNER_PORT" [learner-2]="http://127.0.0.1:$PODMEDIC_LEARNER2_PORT")

# pm ROLE CMD ARGS... runs the host binary as ROLE against the cluster, with
# none of the PODMEDIC_* variables exported for compose.
pm() {
	local role=$1
	shift
	(
		for v in $(compgen -e | grep '^PODMEDIC_'); do unset "$v"; done
		exec timeout 300 "$bin" "$@" --nats-url "$urls" --nats-tls-ca "$secrets/ca.pem" \
			--nats-user "$role" --nats-password "$(pw "$role")"
	)
}

# metric LEARNER NAME prints the sum of NAME's samples for this run on
# LEARNER's /metrics ("" if it does not answer, 0 if the metric is absent).
metric() {
	curl -fsS --max-time 3 "${base[$1]}/metrics" 2>/dev/null | awk -v name="$2" -v run="run=\"$run\"" '
		index($0, name "{") == 1 && index($0, run) { sum += $NF; found = 1 }
		END { if (found) printf "%d\n", sum; else print "0" }' || true
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
healthy() { curl -fsS --max-time 3 "${base[$1]}/healthz" >/dev/null 2>&1; }
is_active() { [[ "$(metric "$1" podmedic_learner_lease_active)" == 1 ]]; }
other() { if [[ $1 == learner-1 ]]; then echo learner-2; else echo learner-1; fi; }
# active prints the learner that holds the lease, if exactly one does.
active() {
	local a1 a2
	a1="$(metric learner-1 podmedic_learner_lease_active)"
	a2="$(metric learner-2 podmedic_learner_lease_active)"
	if [[ "$a1" == 1 && "$a2" != 1 ]]; then echo learner-1; elif [[ "$a2" == 1 && "$a1" != 1 ]]; then echo learner-2; fi
}
one_active() { [[ -n "$(active)" ]]; }
both_healthy() { healthy learner-1 && healthy learner-2; }
# above LEARNER NAME VALUE: NAME's sum on LEARNER is above VALUE.
above() { local v; v="$(metric "$1" "$2")"; [[ -n "$v" ]] && ((v > $3)); }
connected_is() { [[ "$(metric "$1" podmedic_learner_actors_connected)" == "$2" ]]; }
steps_above() { (($(metric "$1" podmedic_learner_env_steps_consumed_total) > $2)); }
# steps_rise LEARNER SECONDS: env steps consumed rise within SECONDS.
steps_rise() {
	local s
	s="$(metric "$1" podmedic_learner_env_steps_consumed_total)"
	wait_until "$2" "env steps of $1 to rise above $s" steps_above "$1" "$s"
	say "  $1: env steps consumed $s -> $(metric "$1" podmedic_learner_env_steps_consumed_total)"
}
container() { docker ps -aq --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1" | head -n 1; }
actor_ids() {
	docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=actor"
}
# network_of CONTAINER names the (one) network it is on.
network_of() { docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$1" | awk '{print $1}'; }
# volume_of CONTAINER names the volume mounted on its /data.
volume_of() { docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "$1"; }
now_ms() { date +%s%3N; }
# handover OLD NEW prints, from the subscriber's log, the gap between the
# last weights of epoch OLD and the first of epoch NEW in ms, and the
# versions: "GAP_MS OLD_VERSION NEW_VERSION".
handover() {
	awk -v old="epoch=$1" -v new="epoch=$2" '
		function ms(t,  a) { split(t, a, /[:.]/); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }
		$2 == old { to = ms($1); split($3, v, "="); ov = v[2] }
		$2 == new && !tn { tn = ms($1); split($3, v, "="); nv = v[2] }
		END { if (to && tn) { d = tn - to; if (d < 0) d += 86400000; print d, ov, nv } }' "$work/watch.log"
}
# rejected LEARNER prints "reason=count ..." of its rejected rollouts.
rejected() {
	curl -fsS --max-time 3 "${base[$1]}/metrics" 2>/dev/null | awk -v run="run=\"$run\"" '
		index($0, "podmedic_learner_rollouts_rejected_total{") == 1 && index($0, run) && $NF > 0 {
			match($0, /reason="[^"]*"/); printf "%s=%d ", substr($0, RSTART + 8, RLENGTH - 9), $NF }'
}
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
# max_gap FROM SECONDS prints the longest pause in ms between two weights
# broadcasts the subscriber saw in the SECONDS after FROM (HH:MM:SS.mmm).
max_gap() {
	awk -v from="$1" -v secs="$2" '
		function ms(t,  a) { split(t, a, /[:.]/); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }
		BEGIN { f = ms(from) }
		$2 ~ /^epoch=/ { t = ms($1); if (t < f) t += 86400000
			if (t >= f && t <= f + secs * 1000) { if (prev && t - prev > gap) gap = t - prev; prev = t } }
		END { print gap + 0 }' "$work/watch.log"
}

step="up"
say "using ${compose[*]}, project $project, learners on ${base[learner-1]} and ${base[learner-2]}, NATS $urls"
dc up -d --no-build --scale actor=4 nats-1 nats-2 nats-3 learner-1 learner-2 actor >"$work/up.log" 2>&1 ||
	{ cat "$work/up.log" >&2; fail "compose up failed"; }
wait_until 90 "both learners' /healthz" both_healthy
wait_until 90 "exactly one active learner" one_active
act="$(active)"
say "$act holds the lease (epoch $(metric "$act" podmedic_learner_lease_epoch)), $(other "$act") stands by"
routes="$(curl -fsS --max-time 3 "http://127.0.0.1:$PODMEDIC_NATS_MONITOR_PORT/routez" | grep -o '"remote_name": *"nats-[23]"' | sort -u | wc -l)"
((routes == 2)) || fail "nats-1 has routes to $routes of the 2 other nodes"
wait_until 120 "4 actors connected to $act" connected_is "$act" 4
steps_rise "$act" 90

# A subscriber (evaluator credentials) records every weights broadcast.
(
	for v in $(compgen -e | grep '^PODMEDIC_'); do unset "$v"; done
	exec "$bin" watch --run "$run" --nats-url "$urls" --nats-tls-ca "$secrets/ca.pem" \
		--nats-user evaluator --nats-password "$(pw evaluator)"
) >"$work/watch.log" 2>&1 &
watcher=$!

step="security"
pm actor watch --run "$run" --try-publish --duration 1s --quiet >"$work/probe.log" 2>&1 || { cat "$work/probe.log" >&2; fail "watch --try-publish failed"; }
grep -q 'publish_refused=1 *$' "$work/probe.log" || { cat "$work/probe.log" >&2; fail "an actor's credentials published weights"; }
grep -q 'undecodable=0' "$work/probe.log" || fail "the actor's forged weights reached a subscriber"
if pm actor policy list --run "$run" --timeout 5s >"$work/probe2.log" 2>&1; then fail "an actor's credentials read the policy store"; fi
say "an actor's credentials cannot publish weights nor read the store"

step="nats node"
# The worst node to lose: the one leading the lease's stream, so that no
# renewal gets through until the others elect a new leader.
curl -fsS --max-time 3 -o "$work/jsz.json" "http://127.0.0.1:$PODMEDIC_NATS_MONITOR_PORT/jsz?accounts=true&streams=true" ||
	fail "no JetStream report from nats-1's monitoring port"
lease_leader="$(awk -v s="\"KV_podmedic-$run-lease\"" 'index($0, s) { f = 1 } f && /"leader"/ && !done { gsub(/[",]/, "", $2); print $2; done = 1 }' "$work/jsz.json")"
[[ "$lease_leader" == nats-[123] ]] || fail "no leader found for the lease stream (got '$lease_leader')"
epoch_before="$(metric "$act" podmedic_learner_lease_epoch)"
killed_at="$(date +%T.%3N)"
docker kill "$(container "$lease_leader")" >/dev/null || fail "docker kill $lease_leader failed"
say "killed $lease_leader, the leader of the lease's stream"
sleep 5
wait_until 60 "a single active learner after losing $lease_leader" one_active
moved="kept by $act (epoch $epoch_before)"
if [[ "$(active)" != "$act" || "$(metric "$act" podmedic_learner_lease_epoch)" != "$epoch_before" ]]; then
	act="$(active)"
	moved="moved to $act (epoch $(metric "$act" podmedic_learner_lease_epoch))"
fi
steps_rise "$act" 60
wait_until 60 "4 actors connected after losing $lease_leader" connected_is "$act" 4
dc start "$lease_leader" >/dev/null 2>&1 || fail "restart $lease_leader failed"
node_ready() { docker exec "$(container "$lease_leader")" /podmedic healthcheck --quiet --url 'http://127.0.0.1:8222/healthz?js-enabled-only=true' >/dev/null 2>&1; }
wait_until 60 "$lease_leader back with JetStream" node_ready
node_gap_ms="$(max_gap "$killed_at" 30)"
# The store is whole again once the active learner has written a new
# checkpoint: from here on a crash loses at most one interval.
back_ckpt="$(metric "$act" podmedic_learner_checkpoint_version)"
wait_until 60 "a checkpoint of $act after $lease_leader came back" above "$act" podmedic_learner_checkpoint_version "$back_ckpt"
say "training went on with 4 actors; lease $moved; longest pause between weights broadcasts in the 30 s after the kill: $(secs "$node_gap_ms") s; $lease_leader back"

step="kill learner"
sb="$(other "$act")"
wait_until 60 "a checkpoint of $act" above "$act" podmedic_learner_checkpoints_total 0
epoch_before="$(metric "$act" podmedic_learner_lease_epoch)"
takeovers_before="$(metric "$sb" podmedic_learner_lease_takeovers_total)"
victim="$(container "$act")"
volume="$(volume_of "$victim")"
[[ -n "$volume" ]] || fail "$act has no volume on /data"
t0="$(now_ms)"
docker kill "$victim" >/dev/null || fail "docker kill $act failed"
docker rm -f "$victim" >/dev/null
docker volume rm "$volume" >/dev/null || fail "could not delete the volume $volume of $act"
wait_until $((3 * lease_ttl + 30)) "$sb to take over" is_active "$sb"
t1="$(now_ms)"
kill_active_ms=$((t1 - t0))
resumed="$(metric "$sb" podmedic_learner_resumed_version)"
epoch_after="$(metric "$sb" podmedic_learner_lease_epoch)"
((epoch_after > epoch_before)) || fail "epoch $epoch_after after the takeover, want > $epoch_before"
(($(metric "$sb" podmedic_learner_lease_takeovers_total) == takeovers_before + 1)) || fail "$sb counted no takeover"
wait_until 10 "the first weights of epoch $epoch_after" bash -c "grep -q ' epoch=$epoch_after ' '$work/watch.log'"
read -r kill_gap_ms last_old first_new <<<"$(handover "$epoch_before" "$epoch_after")"
((first_new == resumed)) || fail "$sb's first broadcast is version $first_new, it resumed at $resumed"
kill_lost=$((last_old - first_new))
((kill_lost >= 0 && kill_lost <= ckpt_every)) || fail "$kill_lost updates lost (the last weights of $act were version $last_old, $sb resumed at $first_new), more than one checkpoint interval ($ckpt_every)"
say "killed $act and deleted its volume: $sb active $(secs $kill_active_ms) s later (resumed in $(curl -fsS --max-time 3 "${base[$sb]}/metrics" | awk '/^podmedic_learner_resume_seconds\{/ { printf "%.2f", $NF }') s); on the bus, weights of epoch $epoch_before until version $last_old, then $(secs "$kill_gap_ms") s later epoch $epoch_after from version $first_new: $kill_lost updates lost"
act="$sb"
steps_rise "$act" 60
dc up -d --no-build "$(other "$act")" >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "recreating $(other "$act") failed"; }
wait_until 60 "the recreated $(other "$act") to answer" healthy "$(other "$act")"
sleep 2
is_active "$(other "$act")" && fail "the recreated $(other "$act") took the lease from $act"
say "recreated $(other "$act") with an empty volume: it stands by"

step="partition learner"
sb="$(other "$act")"
epoch_before="$(metric "$act" podmedic_learner_lease_epoch)"
network="$(network_of "$(container "$act")")"
t0="$(now_ms)"
docker network disconnect "$network" "$(container "$act")" || fail "docker network disconnect $act failed"
wait_until $((3 * lease_ttl + 30)) "$sb to take over from the partitioned $act" is_active "$sb"
t1="$(now_ms)"
part_active_ms=$((t1 - t0))
epoch_after="$(metric "$sb" podmedic_learner_lease_epoch)"
wait_until 10 "the first weights of epoch $epoch_after" bash -c "grep -q ' epoch=$epoch_after ' '$work/watch.log'"
read -r part_gap_ms last_old first_new <<<"$(handover "$epoch_before" "$epoch_after")"
part_lost=$((last_old - first_new))
((part_lost >= 0 && part_lost <= ckpt_every)) || fail "$part_lost updates lost (last weights of $act version $last_old, $sb resumed at $first_new)"
steps_rise "$sb" 60
# Keep it cut off until NATS has dropped its connections (ping_interval 3 s
# x ping_max 3), then let it back.
left=$((t0 / 1000 + 15 - $(date +%s)))
((left <= 0)) || sleep "$left"
docker network connect --alias "$act" "$network" "$(container "$act")" || fail "docker network connect $act failed"
wait_until 60 "the partitioned $act to answer again" healthy "$act"
fenced() { [[ "$(metric "$act" podmedic_learner_lease_active)" == 0 && $(metric "$act" podmedic_learner_lease_lost_total) -ge 1 ]]; }
wait_until 30 "$act to report itself fenced (lease_active 0, lease_lost_total >= 1)" fenced
say "partitioned $act: $sb active $(secs $part_active_ms) s later; on the bus, epoch $epoch_before until version $last_old, then $(secs "$part_gap_ms") s later epoch $epoch_after from version $first_new: $part_lost updates lost; $act came back fenced (lease_lost_total $(metric "$act" podmedic_learner_lease_lost_total)), standing by"
act="$sb"
wait_until 60 "4 actors connected to $act" connected_is "$act" 4

# The cut-off actor's client notices the silent server within 9 s (its
# pings, cmd/podmedic/natsconn.go) and keeps what it publishes from then on
# in its reconnect buffer; a rollout it sends every SyncWait + WeightsTimeout
# (7 s) while it hears nothing lands there at least once in 20 s. On its
# return those rollouts, made with stale weights under a membership the
# learner dropped after the heartbeat timeout, must be refused and counted.
step="partition actor"
victim="$(actor_ids | head -n 1)"
stale() { metric "$act" podmedic_learner_rollouts_rejected_total; }
lost_before="$(metric "$act" podmedic_learner_actors_lost_total)"
# The same stretch of time without a partition, for comparison.
r0="$(stale)"
sleep 20
base_rejects=$(($(stale) - r0))
r1="$(stale)"
docker network disconnect "$network" "$victim" || fail "docker network disconnect of an actor failed"
sleep 20
docker network connect "$network" "$victim" || fail "docker network connect of the actor failed"
wait_until 30 "$act to drop the cut-off actor" above "$act" podmedic_learner_actors_lost_total "$lost_before"
wait_until 90 "the actor to rejoin (4 connected)" connected_is "$act" 4
sleep 5
part_rejects=$(($(stale) - r1))
((part_rejects > base_rejects)) || fail "rollouts rejected around the actor's partition: $part_rejects, no more than the $base_rejects of a quiet stretch as long"
say "actor ${victim:0:12} cut off for 20 s: dropped by $act and back; rollouts rejected around it $part_rejects (a quiet stretch as long: $base_rejects); all rejections by reason: $(rejected "$act")"
steps_rise "$act" 60

step="store"
last_ver="$(metric "$act" podmedic_learner_policy_version)"
dc stop -t 30 learner-1 learner-2 >/dev/null 2>&1 || fail "compose stop of the learners failed"
pm evaluator policy list --run "$run" >"$work/list.log" 2>&1 || { cat "$work/list.log" >&2; fail "policy list failed with no learner running"; }
stored="$(grep -c '^[0-9]' "$work/list.log" || true)"
((stored >= 1)) || { cat "$work/list.log" >&2; fail "no snapshot listed"; }
pm evaluator policy get --run "$run" --version latest --out "$work/latest.snapshot" >"$work/get.log" 2>&1 ||
	{ cat "$work/get.log" >&2; fail "policy get failed with no learner running"; }
pulled="$(grep -o 'policy version [0-9]*' "$work/get.log" | grep -o '[0-9]*$')"
((pulled >= last_ver)) || fail "pulled version $pulled, below $last_ver the active learner had before it stopped"
pm evaluator evaluate --policy nats --run "$run" --episodes 1 --scenarios pod-kill --policies trained,noop \
	--bootstrap 100 --out "$work/eval" >"$work/eval.log" 2>&1 || { cat "$work/eval.log" >&2; fail "evaluate --policy nats failed with no learner running"; }
[[ -s "$work/eval/report.md" ]] || fail "evaluate wrote no report.md"
say "no learner running: $stored snapshots listed, version $pulled pulled and evaluated from the store"

step="epochs"
kill -INT "$watcher"
wait "$watcher" || true
watcher=""
summary="$(grep 'watch summary:' "$work/watch.log" || true)"
[[ -n "$summary" ]] || { tail "$work/watch.log" >&2; fail "the watcher printed no summary"; }
field() { grep -o "$1=[0-9,]*" <<<"$summary" | cut -d= -f2; }
(($(field messages) > 0)) || fail "the watcher saw no weights: $summary"
(($(field regressions) == 0)) || fail "two learners published at once (an older epoch after a newer one): $summary"
(($(field undecodable) == 0)) || fail "undecodable weights: $summary"
epochs="$(field epochs | tr ',' '\n' | grep -c . || true)"
((epochs >= 3)) || fail "epochs seen: $(field epochs), want at least 3 (start, kill, partition)"
say "a subscriber saw $(field messages) weights messages from epochs $(field epochs), in rising order only"

step="done"
say "figures: NATS node (the lease stream's leader) killed: lease $moved, weights paused at most $(secs "$node_gap_ms") s; learner killed: weights stopped for $(secs "$kill_gap_ms") s, $kill_lost updates lost; learner partitioned: $(secs "$part_gap_ms") s, $part_lost updates lost (lease ttl ${lease_ttl}s, checkpoint every $ckpt_every updates)"
ok=1
