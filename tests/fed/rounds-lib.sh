# SPDX-License-Identifier: GPL-2.0
#
# Shared by the round tests (sourced after lib.sh): an aggregator that
# runs rounds on a small model and evaluation set, and nodes training on
# Fashion-MNIST shards.  Skips when the dataset is not installed.

FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
[ -f "$FMNIST/train-images-idx3-ubyte.gz" ] ||
	[ -f "$FMNIST/train-images-idx3-ubyte" ] ||
	skip "no Fashion-MNIST in $FMNIST (dataset-fashion-mnist)"

# The daemons drop privileges: the registry's parent must be writable
# by whichever user they end up as.
mkdir -p "$T/state"
chmod 1777 "$T/state"
REG=$T/state/registry

# The aggregator signs every version it publishes (Ed25519, the format of
# `mcaictl keygen`: PKCS#8 / SubjectPublicKeyInfo PEM); nodes trust its
# public key and keep their history of accepted versions.  The daemons
# read these after dropping privileges: to mcai (runtime/daemon/privdrop.c's
# default) when that account exists, else to nobody.
# gen_signer DIR: DIR/signer.key (0600) and DIR/signer.pub.
gen_signer() {
	mkdir -p "$1"
	openssl genpkey -algorithm ed25519 -out "$1/signer.key" 2>/dev/null ||
		fail "openssl cannot make an Ed25519 key"
	openssl pkey -in "$1/signer.key" -pubout -out "$1/signer.pub" \
		2>/dev/null || fail "openssl pkey -pubout"
	chmod 0600 "$1/signer.key"
	chmod 0755 "$1"
	chmod 0644 "$1/signer.pub"
	if [ "$(id -u)" = 0 ]; then
		local u=nobody
		getent passwd mcai > /dev/null && u=mcai
		chown "$u" "$1/signer.key" "$1/signer.pub" ||
			fail "chown $u"
	fi
}
SIGNER=$T/state/signer
gen_signer "$SIGNER"

# A registry started from scratch is a new federation whose versions
# begin again at 1: the nodes' histories of the previous one would rightly
# refuse them as rollbacks, so each gets its own (as re-provisioned
# gateways would).  A restart on the same registry keeps them.
FED_GEN=0

# start_fed_agg LOG [extra options]
start_fed_agg() {
	local log=$1
	shift
	[ -d "$REG" ] || FED_GEN=$((FED_GEN + 1))
	start_agg "$log" --registry "$REG" --eval "$FMNIST" --eval-limit 1000 \
		--calib 200 --hidden 32 --start-nodes 3 \
		--set "provenance.sign_key=$SIGNER/signer.key" \
		--set rounds.min_clients=2 --set rounds.deadline_ms=30000 \
		--set rounds.lr=0.05 --set rounds.batch=32 "$@"
}

# fed_node ID LOG [extra options]: a training node in the background;
# its pid goes to NODES and LAST_NODE.  The test PKI has two node
# certificates; nodes share them and tell themselves apart by --node-id.
# It trusts TRUST (default: the aggregator's signer.pub) and keeps its
# history in $T/state/hist-GEN-ID; a later --set overrides either.
NODES=()
fed_node() {
	local id=$1 log=$2 n=${1//[!0-9]/} cert
	shift 2
	cert=node$(( ${n:-0} % 2 + 1 ))
	"$MCAID" --role node --connect "127.0.0.1:$PORT" \
		--cert "$P/$cert.crt" --key "$P/$cert.key" --ca "$P/ca.crt" \
		--crl "$P/crl.pem" --node-id "$id" --data "$FMNIST" \
		--set "provenance.trust=${TRUST:-$SIGNER/signer.pub}" \
		--set "provenance.history=$T/state/hist-$FED_GEN-$id" "$@" \
		> "$log" 2>&1 &
	LAST_NODE=$!
	NODES+=("$LAST_NODE")
	PIDS+=("$LAST_NODE")
}

# stop_nodes: SIGTERM every node still running; each must exit 0.
stop_nodes() {
	local p rc
	for p in "${NODES[@]}"; do
		kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p"
		wait "$p"
		rc=$?
		[ $rc -eq 0 ] || fail "node $p exited $rc after SIGTERM"
	done
	NODES=()
}

# restart_fed_agg LOG [extra options]: the aggregator again on the same
# PORT and registry (after a crash), sets AGG.
restart_fed_agg() {
	local log=$1
	shift
	"$MCAID" --role aggregator --listen "127.0.0.1:$PORT" \
		--cert "$P/aggregator.crt" --key "$P/aggregator.key" \
		--ca "$P/ca.crt" --crl "$P/crl.pem" \
		--registry "$REG" --eval "$FMNIST" --eval-limit 1000 \
		--calib 200 --hidden 32 --start-nodes 3 \
		--set "provenance.sign_key=$SIGNER/signer.key" \
		--set rounds.min_clients=2 --set rounds.deadline_ms=30000 \
		--set rounds.lr=0.05 --set rounds.batch=32 "$@" > "$log" 2>&1 &
	AGG=$!
	PIDS+=("$AGG")
	wait_for 10 "the restarted aggregator to log 'ready' on port $PORT" \
		agg_ready "$log" && kill -0 "$AGG" 2>/dev/null ||
		fail "aggregator did not restart"
}

# last_acc LOG: the int8 accuracy of the last round done.
last_acc() {
	grep -o "int8 accuracy [0-9.]*" "$1" | tail -n 1 | awk '{print $3}'
}

# alert_broker TOPIC SECONDS: a mosquitto broker on a free loopback port
# and one subscriber waiting up to SECONDS for the first message on TOPIC
# (into $T/alert); sets MQTT to the node's --set for that broker.  No
# broker in this root: MQTT stays empty, which fails on x86, where the
# guest has mosquitto, and is accepted elsewhere.
alert_broker() {
	local mosq mp

	mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
	MQTT=()
	if ! [ -x "$mosq" ] || ! command -v mosquitto_sub > /dev/null; then
		[ "$(uname -m)" != x86_64 ] || fail "no mosquitto in this guest's root"
		return 0
	fi
	mp=$(free_port)
	printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\nlog_dest file %s\nlog_type all\n' \
		"$mp" "$T/broker.log" > "$T/broker.conf"
	"$mosq" -c "$T/broker.conf" > /dev/null 2>&1 &
	PIDS+=($!)
	mq_listening() { ss -Htln "sport = :$mp" | grep -q .; }
	wait_for 30 "mosquitto to listen on $mp" mq_listening || fail "no broker"
	mosquitto_sub -h 127.0.0.1 -p "$mp" -i drift-sub -q 1 -v \
		-t "$1" -C 1 -W "$2" > "$T/alert" 2> "$T/sub.err" &
	PIDS+=($!)
	subscribed() { grep -q "Sending SUBACK to drift-sub" "$T/broker.log" 2> /dev/null; }
	wait_for 30 "the MQTT subscriber" subscribed || fail "subscriber"
	MQTT=(--set "mqtt.broker=127.0.0.1:$mp")
}
