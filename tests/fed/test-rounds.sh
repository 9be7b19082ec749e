#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Federated learning end to end: an aggregator and three nodes, separate
# processes over loopback TLS, run three rounds of FedAvg on a small
# Fashion-MNIST subset (IID shards).  Every round is published in the
# registry with its int8 test accuracy, and every node ends on the last
# version.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

start_fed_agg "$T/agg.log" --set rounds.count=3
for i in 1 2 3; do
	fed_node "node$i" "$T/node$i.log" --shard "$((i - 1))/3 iid limit=3000"
done
wait_log "$T/agg.log" "federation complete" 50 ||
	fail "3 rounds did not complete"
for i in 1 2 3; do
	wait_log "$T/node$i.log" "model 'fmnist' version 4 " 10 ||
		fail "node$i did not get version 4"
done
stop_nodes
stop_agg "$T/agg.log"
for i in 1 2 3; do
	sanitizer_clean "$T/node$i.log"
done
for v in 1 2 3 4; do
	[ -f "$REG/v0000000$v.blob" ] || fail "version $v not in the registry"
done
grep -q "^round 3$" "$REG/state" || fail "registry state: $(cat "$REG/state")"
grep -q '"version":4' "$REG/status.json" || fail "status.json not updated"
acc=$(grep -o "round [0-9] done.*int8 accuracy [0-9.]*" "$T/agg.log" |
	sed 's/round \([0-9]\) done.*int8 accuracy \([0-9.]*\)/\1:\2/' | tr '\n' ' ')
echo "int8 accuracy per round: $acc"
last=$(grep -o "int8 accuracy [0-9.]*" "$T/agg.log" | tail -n 1 | awk '{print $3}')
awk -v a="$last" 'BEGIN { exit !(a > 0.55) }' ||
	fail "accuracy after 3 rounds is $last"
pass "3 nodes, 3 rounds of FedAvg, versions 1-4 in the registry, int8 accuracy per round $acc"
