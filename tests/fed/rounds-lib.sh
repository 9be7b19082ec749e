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

# start_fed_agg LOG [extra options]
start_fed_agg() {
	local log=$1
	shift
	start_agg "$log" --registry "$REG" --eval "$FMNIST" --eval-limit 1000 \
		--calib 200 --hidden 32 --start-nodes 3 \
		--set rounds.min_clients=2 --set rounds.deadline_ms=30000 \
		--set rounds.lr=0.05 --set rounds.batch=32 "$@"
}

# fed_node ID LOG [extra options]: a training node, in the foreground.
# The test PKI has two node certificates; nodes share them and tell
# themselves apart by --node-id.
fed_node() {
	local id=$1 n=${1//[!0-9]/}
	shift
	node "node$(( ${n:-0} % 2 + 1 ))" "$@" --node-id "$id" --data "$FMNIST"
}

# stop_nodes: SIGTERM every background node; each must exit 0.
stop_nodes() {
	local p rc
	for p in $(jobs -p); do
		[ "$p" = "$AGG" ] && continue
		kill -TERM "$p" 2>/dev/null
		wait "$p"
		rc=$?
		[ $rc -eq 0 ] || [ $rc -eq 143 ] || fail "a node exited $rc"
	done
}
