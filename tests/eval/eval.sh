#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make eval`: federated learning on real data, as separate processes.
# One aggregator and NODES (20) mcaid nodes on loopback TLS train the
# Fashion-MNIST MLP (784-HIDDEN-10, the shipped model's shape) from the
# same initial weights: ROUNDS (30) rounds of FedAvg, a fraction 0.5 of
# the nodes per round, LOCAL_EPOCHS (2) local epochs each, first on IID
# shards, then on a Dirichlet(0.5) label split.  During round KILL_AT
# (10) of each run, 30 % of the nodes are killed (SIGKILL): the round
# must complete with the others and accuracy keep rising.  Every round's
# int8 test accuracy (the published blob through the verifier and the
# engine, all 10,000 test images) is printed next to the centralised
# baseline: mcai-train on the whole training set for the same number of
# sample passes (rounds x fraction x local epochs), quantised the same
# way.
#
# Two local epochs, not one: on IID shards a FedAvg round moves the model
# about as far as one node's local run (averaging ten cancels their
# noise, not their length), so 30 rounds of one epoch train like 30 x 94
# steps of centralised SGD: train loss 0.32 at the end, as mcai-train's
# after 3 epochs, and 2.3 points under the 15-epoch baseline.  A larger
# local rate or a smaller batch only makes the local runs noisier
# (worse); a second epoch doubles the steps, and the baseline gets the
# matching 30 epochs.  For the same reason the server takes a longer
# step than the plain average while the nodes agree, 2 falling along a
# cosine to 1 by the last round (strategy.server_step 2,
# server_step_final 1): a constant 2 also helped IID but left the
# Dirichlet split swinging until the end.  Measurements:
# tests/eval/results.txt, section 3.
#
# Environment: MCAID, MCAI_TRAIN (binaries), NODES, ROUNDS, HIDDEN,
# LOCAL_EPOCHS, SERVER_STEP, SERVER_STEP_FINAL, KILL_AT, MIN (rounds.min_clients, 5), FMNIST
# (dataset dir), SPLITS ("iid dirichlet:0.5"), OUT (a file that gets the
# results as well).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAID=${MCAID:-$ROOT/build/mcaid}
MCAI_TRAIN=${MCAI_TRAIN:-$ROOT/build/mcai-train}
NODES=${NODES:-20}
ROUNDS=${ROUNDS:-30}
HIDDEN=${HIDDEN:-128}
LOCAL_EPOCHS=${LOCAL_EPOCHS:-2}
SERVER_STEP=${SERVER_STEP:-2}
SERVER_STEP_FINAL=${SERVER_STEP_FINAL:-1}
KILL_AT=${KILL_AT:-10}
MIN=${MIN:-5}
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
SPLITS=${SPLITS:-iid dirichlet:0.5}
OUT=${OUT:-/dev/null}
FRACTION=0.5

say() { echo "$*" | tee -a "$OUT"; }
die() { echo "eval: $*" >&2; exit 1; }

[ -x "$MCAID" ] || die "$MCAID not built"
[ -x "$MCAI_TRAIN" ] || die "$MCAI_TRAIN not built"
[ -f "$FMNIST/train-images-idx3-ubyte.gz" ] ||
	die "no Fashion-MNIST in $FMNIST (apt install dataset-fashion-mnist)"
T=$(mktemp -d /tmp/mcai-eval.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
"$ROOT/tests/fed/mkcerts.sh" "$T/pki" >/dev/null || die "mkcerts.sh failed"
P=$T/pki
mkdir -p "$T/state" && chmod 1777 "$T/state"
# Signed versions, as in production: nodes refuse unsigned models.  The
# daemons read the key after dropping to mcai (or nobody).
S=$T/state/signer
mkdir -p "$S" && chmod 755 "$S"
openssl genpkey -algorithm ed25519 -out "$S/signer.key" 2>/dev/null &&
	openssl pkey -in "$S/signer.key" -pubout -out "$S/signer.pub" \
	2>/dev/null || die "openssl cannot make an Ed25519 key"
chmod 0600 "$S/signer.key"
chmod 0644 "$S/signer.pub"
if [ "$(id -u)" = 0 ]; then
	u=nobody
	getent passwd mcai > /dev/null && u=mcai
	chown "$u" "$S/signer.key"
fi

. "$ROOT/tests/fed/port.sh"

# Sample passes over the training set the federation makes in total.
epochs=$(awk -v r="$ROUNDS" -v f="$FRACTION" -v l="$LOCAL_EPOCHS" 'BEGIN { e = r * f * l; printf "%d", e < 1 ? 1 : e }')
say "== mcai federated evaluation: $NODES nodes, $ROUNDS rounds, fraction $FRACTION, $LOCAL_EPOCHS local epochs, server step $SERVER_STEP$([ "$SERVER_STEP_FINAL" = 0 ] || echo " to $SERVER_STEP_FINAL"), 784-$HIDDEN-10, $(nproc) CPUs, $(date -u +%FT%TZ)"
say "centralised baseline: mcai-train, $epochs epochs over the 60,000 training images ..."
t0=$(date +%s)
"$MCAI_TRAIN" --epochs "$epochs" --hidden "$HIDDEN" --data "$FMNIST" \
	--out "$T/central.mcai" --report "$T/central.txt" 2> "$T/central.log" ||
	die "mcai-train failed: $(tail -n 3 "$T/central.log")"
central=$(sed -n 's/^int8_accuracy=//p' "$T/central.txt")
say "centralised int8 accuracy: $central ($(( $(date +%s) - t0 )) s)"

# SERVER_STEP, SERVER_STEP_FINAL: FedAvg's server step (strategy.server_step,
# strategy.server_step_final): the model moves that many times the nodes'
# mean delta, falling along a cosine to the final step over the rounds
# when one is given.  See tests/eval/results.txt, section 3.
server=(--set "strategy.server_step=$SERVER_STEP")
[ "$SERVER_STEP_FINAL" = 0 ] ||
	server+=(--set "strategy.server_step_final=$SERVER_STEP_FINAL")

run() {
	local split=$1 tag=${1%%:*} port reg log agg i last=0 n t1 killed=0
	port=$(free_port)
	reg=$T/state/$tag
	log=$T/agg-$tag.log
	"$MCAID" --role aggregator --listen "127.0.0.1:$port" \
		--cert "$P/aggregator.crt" --key "$P/aggregator.key" \
		--ca "$P/ca.crt" --crl "$P/crl.pem" --registry "$reg" \
		--eval "$FMNIST" --calib 500 --hidden "$HIDDEN" \
		--start-nodes "$NODES" --set rounds.count="$ROUNDS" \
		--set rounds.fraction="$FRACTION" --set rounds.min_clients="$MIN" \
		--set rounds.deadline_ms=300000 --set rounds.lr=0.05 \
		--set rounds.batch=32 --set rounds.local_epochs="$LOCAL_EPOCHS" \
		"${server[@]}" --set "provenance.sign_key=$S/signer.key" \
		> "$log" 2>&1 &
	agg=$!
	PIDS+=("$agg")
	for ((i = 0; i < 100; i++)); do
		ss -Htln "sport = :$port" | grep -q . && break
		sleep 0.1
	done
	local nodes=()
	for ((i = 0; i < NODES; i++)); do
		"$MCAID" --role node --connect "127.0.0.1:$port" \
			--cert "$P/node$((i % 2 + 1)).crt" \
			--key "$P/node$((i % 2 + 1)).key" --ca "$P/ca.crt" \
			--crl "$P/crl.pem" --node-id "node$i" --data "$FMNIST" \
			--log-level warn --shard "$i/$NODES $split" \
			--set "provenance.trust=$S/signer.pub" \
			--set "provenance.history=$T/state/hist-$tag-$i" \
			> "$T/node-$tag-$i.log" 2>&1 &
		nodes+=($!)
		PIDS+=($!)
		# Killed on purpose later: no job-control notice for it.
		disown $!
	done
	say ""
	say "-- split $split: $NODES nodes --"
	say "round  answered  int8-acc  float-acc  train-loss  seconds   (centralised int8 $central)"
	t1=$(date +%s)
	while :; do
		kill -0 "$agg" 2>/dev/null || die "aggregator died: $(tail -n 5 "$log")"
		if [ $killed -eq 0 ] && grep -q "round $KILL_AT: " "$log"; then
			n=$(( (NODES * 3 + 9) / 10 ))
			for ((i = 0; i < n; i++)); do
				kill -KILL "${nodes[$((i * NODES / n))]}" 2>/dev/null
			done
			killed=$n
			say "   (round $KILL_AT running: killed $n of $NODES nodes)"
		fi
		# Checked before the lines are counted: the last round's is in.
		complete=0
		grep -q "federation complete" "$log" && complete=1
		n=$(grep -c "round [0-9]* done\|round [0-9]* failed" "$log")
		while [ "$last" -lt "$n" ]; do
			last=$((last + 1))
			grep "round [0-9]* done\|round [0-9]* failed" "$log" |
				sed -n "${last}p" | sed -E \
				-e 's/.*round ([0-9]+) done \(([^)]*)\): ([0-9]+) of ([0-9]+) answered \(([0-9]+) dropped.*mean train loss ([0-9.]+) -> version [0-9]+, int8 accuracy ([0-9.]+), float ([0-9.]+), ([0-9.]+) s/\1 \3\/\4 \7 \8 \6 \9 \5/' \
				-e 's/.*round ([0-9]+) failed.*/\1 FAILED/' |
				awk '{ if ($2 == "FAILED") printf "%5s  FAILED\n", $1;
				       else printf "%5s  %8s  %8s  %9s  %10s  %7s%s\n", $1, $2, $3, $4, $5, $6, ($7 > 0 ? "   (" $7 " dropped out)" : "") }' |
				tee -a "$OUT"
		done
		[ $complete -eq 1 ] && break
		sleep 1
	done
	kill -TERM "$agg"
	wait "$agg"
	for p in "${nodes[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	acc=$(grep -o "int8 accuracy [0-9.]*" "$log" | tail -n 1 | awk '{print $3}')
	say "split $split: final int8 accuracy $acc, centralised $central, difference $(awk -v a="$acc" -v c="$central" 'BEGIN { printf "%+.2f points", (a - c) * 100 }'), $(( $(date +%s) - t1 )) s"
	grep -o "stats:.*" "$log" | tail -n 1 | sed 's/^/aggregator /' | tee -a "$OUT" >/dev/null
}

for s in $SPLITS; do
	run "$s"
done
