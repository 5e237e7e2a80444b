#!/usr/bin/env bash
# Makes what the secured NATS cluster of docker-compose.yml needs, in
# deploy/compose/secrets/ (or the directory given; never committed):
#
#   ca.pem, ca-key.pem          a private certificate authority
#   server.pem, server-key.pem  the NATS nodes' certificate, for clients and
#                               for the routes between nodes (mutual TLS);
#                               names nats-1, nats-2, nats-3, localhost,
#                               127.0.0.1
#   nats.env                    the users' passwords, for the servers
#   actor.env, learner.env, evaluator.env
#                               PODMEDIC_NATS_USER/PASSWORD of each role
#
# Usage: deploy/compose/gen-secrets.sh [DIR] [--force]
# Existing files are kept unless --force. Needs openssl (Debian: openssl).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
dir="$here/secrets"
force=0
for a in "$@"; do
	case "$a" in
	--force) force=1 ;;
	-h | --help)
		sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) dir="$a" ;;
	esac
done
command -v openssl >/dev/null || {
	echo "gen-secrets: openssl is needed (apt-get install openssl)" >&2
	exit 1
}
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
if [[ -e ca.pem && $force -eq 0 ]]; then
	echo "gen-secrets: $dir already holds secrets; --force makes new ones" >&2
	exit 0
fi
umask 077
days="${PODMEDIC_CERT_DAYS:-825}"
names="${PODMEDIC_NATS_NAMES:-nats-1,nats-2,nats-3,localhost}"
san=""
IFS=, read -ra hosts <<<"$names"
for h in "${hosts[@]}"; do san+="DNS:$h,"; done
san+="IP:127.0.0.1"

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
	-keyout ca-key.pem -out ca.pem -subj "/CN=podmedic NATS CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -keyout server-key.pem -out server.csr \
	-subj "/CN=podmedic NATS" 2>/dev/null
cat >server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$san
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days "$days" -sha256 \
	-extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
# The certificates are public; the keys stay readable by their owner only.
chmod 644 ca.pem server.pem

pw() { openssl rand -hex 24; }
actor="$(pw)" learner="$(pw)" evaluator="$(pw)"
cat >nats.env <<ENV
NATS_ACTOR_PASSWORD=$actor
NATS_LEARNER_PASSWORD=$learner
NATS_EVALUATOR_PASSWORD=$evaluator
ENV
printf 'PODMEDIC_NATS_USER=actor\nPODMEDIC_NATS_PASSWORD=%s\n' "$actor" >actor.env
printf 'PODMEDIC_NATS_USER=learner\nPODMEDIC_NATS_PASSWORD=%s\n' "$learner" >learner.env
printf 'PODMEDIC_NATS_USER=evaluator\nPODMEDIC_NATS_PASSWORD=%s\n' "$evaluator" >evaluator.env
echo "gen-secrets: wrote CA, server certificate ($san) and passwords of actor, learner, evaluator to $dir"
