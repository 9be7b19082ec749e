#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Personalisation in mcaid (runtime/daemon/nodepers.h), three nodes with
# label-skewed shards (Dirichlet 0.1 over 3), four rounds each way:
#
# FedPer: aggregator and nodes set personal.mode = fedper (the head, the
#   last weight layer, is personal).  Every update the aggregator takes
#   carries exactly the shared parameters (784-32-10: 25120 of 25450,
#   never the head's 330); a fourth node left at personal.mode = off
#   sends whole updates and is refused with the reason.  Each node
#   builds, signs with its own key and records a personal version per
#   fleet version (history listed by `mcaictl history`, the blob passes
#   `mcaictl verify` with the node's key and fails with the fleet's);
#   node1 is restarted after round 2: it restores its head from its state
#   file and its personal chain goes on without a fork.  (A fifth node
#   set to fedper in the plain federation below is refused likewise.)
# Ditto: a plain FedAvg federation of the same shards whose nodes keep a
#   personal model (personal.lambda 0.1) beside the global one.
#
# Measured on each node's own label distribution (the test split weighted
# by its shard's label mix) after the same four rounds: each node's FedPer
# personal model scores at least as well as the FedPer global model (its
# body with the head the aggregator never trains), each Ditto personal
# model at least as well as the FedAvg global model beside it, and on
# average over the nodes both personalised models at least as well as
# that FedAvg model (one node's FedPer may trail it after only four
# rounds, node1 missing one of them); the figures are printed.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"
CTL=${MCAICTL:-$ROOT/build/mcaictl}
[ -x "$CTL" ] || skip "$CTL not built"

SHARD="dirichlet:0.1 seed=7 limit=6000"
ROUNDS=4

# pers_node ID LOG MODE [extra]: a node with personal.dir of its run.
pers_node() {
	local id=$1 log=$2 mode=$3 k=${1//[!0-9]/}
	shift 3
	fed_node "$id" "$log" --shard "$((k - 1))/3 $SHARD" \
		--set "personal.mode=$mode" \
		--set "personal.dir=$T/state/pers-$mode-$id" "$@"
}

# last_figures LOG: "personal global" of the last personal version built.
last_figures() {
	grep -o "own data (.*): personal [0-9.]*, global [0-9.]*" "$1" |
		tail -n 1 | sed 's/.*personal \([0-9.]*\), global \([0-9.]*\)/\1 \2/'
}

# ---- FedPer -------------------------------------------------------------
start_fed_agg "$T/agg.log" --set rounds.count=$ROUNDS \
	--set personal.mode=fedper
for i in 1 2 3; do
	pers_node "node$i" "$T/fp$i.log" fedper
	eval "FP$i=$LAST_NODE"
done
# the fourth keeps nothing personal: its whole updates are refused
fed_node node4 "$T/fp4.log" --shard "0/3 iid limit=600"
wait_log "$T/agg.log" "round 2 done" 120 || fail "FedPer: round 2 did not complete"
# node1 restarted: its personal layers come back from personal.dir
kill -TERM "$FP1"
wait "$FP1" || fail "node1 exited $? after SIGTERM"
sanitizer_clean "$T/fp1.log"
pers_node node1 "$T/fp1b.log" fedper
wait_log "$T/agg.log" "federation complete" 180 ||
	fail "FedPer: $ROUNDS rounds did not complete"
wait_log "$T/fp1b.log" "personal: state restored from .*fmnist.state \(fedper" 30 ||
	fail "restarted node1 did not restore its personal state"
last=$((ROUNDS + 1))
for i in 1 2 3; do
	log=$T/fp$i.log
	[ "$i" = 1 ] && log=$T/fp1b.log
	wait_log "$log" "personal: version $last \(fedper, parent [0-9]+\) signed by this node" 60 ||
		fail "node$i built no personal version $last"
done

# What reached the aggregator: the shared parameters, never the head.
carry=$(grep -o "updates carry [0-9]* of the [0-9]* parameters" "$T/agg.log")
shared=$(echo "$carry" | awk '{print $3}')
total=$(echo "$carry" | awk '{print $6}')
[ -n "$shared" ] && [ "$shared" -lt "$total" ] ||
	fail "aggregator did not announce the FedPer split: '$carry'"
n_upd=$(grep -c "fedper update of $shared shared values" "$T/agg.log")
n_any=$(grep -c "fedper update of" "$T/agg.log")
[ "$n_upd" -ge $((ROUNDS * 2)) ] && [ "$n_upd" -eq "$n_any" ] ||
	fail "FedPer updates: $n_upd of $n_any with $shared values"
grep -q "node 'node4': UPDATE refused: personal.mode = fedper, personal.layers = head: an update is the $shared shared parameters, this one has $total" \
	"$T/agg.log" || fail "node4's whole update was not refused with the reason"
grep -q "aggregator error .*an update is the $shared shared parameters" \
	"$T/fp4.log" || fail "node4 was not told why"
for i in 1 2 3; do
	grep -q "round .*: fedper: $shared of $total parameters go out" \
		"$T/fp$i.log" || fail "node$i did not send the shared layers only"
done

# Histories, signatures, and no confusion with the fleet's versions.
for i in 1 2 3; do
	d=$T/state/pers-fedper-node$i
	"$CTL" history --dir "$d/history" --trust "$d/signer.pub" fmnist \
		> "$T/hist$i.txt" || fail "node$i: mcaictl history failed"
	n=$(grep -c " fedper .* ok" "$T/hist$i.txt")
	[ "$n" -ge 3 ] || fail "node$i: $n personal versions in its history: $(cat "$T/hist$i.txt")"
	awk 'NR > 1 { if ($1 <= prev) exit 1; prev = $1 }' "$T/hist$i.txt" ||
		fail "node$i: history not increasing: $(cat "$T/hist$i.txt")"
	blob=$d/fmnist-v$(printf %08u $last).blob
	"$CTL" verify --trust "$d/signer.pub" "$blob" > /dev/null 2>&1 ||
		fail "node$i: its personal version $last does not verify with its key"
	"$CTL" verify --trust "$SIGNER/signer.pub" "$blob" > /dev/null 2>&1 &&
		fail "node$i: a personal version verifies with the fleet's key"
	grep -q "refused by its own check" "$T/fp$i.log" "$T/fp1b.log" &&
		fail "node$i: a personal version failed its own check"
done
# the history survived the restart: versions before and after it
n1=$(grep -c " fedper .* ok" "$T/hist1.txt")
[ "$n1" -ge 3 ] || fail "node1's personal chain across the restart: $(cat "$T/hist1.txt")"
stop_agg "$T/agg.log"
stop_nodes
for f in "$T"/fp*.log; do
	sanitizer_clean "$f"
done
for i in 1 2 3; do
	log=$T/fp$i.log
	[ "$i" = 1 ] && log=$T/fp1b.log
	read -r FPP[$i] FPG[$i] <<< "$(last_figures "$log")"
done

# ---- Ditto over a plain FedAvg federation -------------------------------
mv "$REG" "$REG.fedper"
start_fed_agg "$T/agg2.log" --set rounds.count=$ROUNDS
for i in 1 2 3; do
	pers_node "node$i" "$T/dt$i.log" ditto --set personal.lambda=0.1
done
# a node keeping its head to itself, in a fleet that is not FedPer
pers_node node5 "$T/fp5.log" fedper --shard "0/3 iid limit=600"
wait_log "$T/agg2.log" "federation complete" 180 ||
	fail "Ditto: $ROUNDS rounds did not complete"
grep -q "node 'node5': UPDATE refused: an update is the model's $total parameters, this one has $shared (this aggregator is not set to personal.mode = fedper)" \
	"$T/agg2.log" || fail "node5's shared-only update was not refused with the reason"
for i in 1 2 3; do
	wait_log "$T/dt$i.log" "personal: version $last \(ditto, parent [0-9]+\) signed by this node" 60 ||
		fail "node$i built no Ditto personal version $last"
done
stop_agg "$T/agg2.log"
stop_nodes
sanitizer_clean "$T/fp5.log"
report=""
sums="0 0 0"
for i in 1 2 3; do
	sanitizer_clean "$T/dt$i.log"
	read -r dp dg <<< "$(last_figures "$T/dt$i.log")"
	fp=${FPP[$i]} fg=${FPG[$i]}
	[ -n "$dp" ] && [ -n "$fp" ] || fail "node$i: no figures"
	report+=" node$i: FedAvg global $dg, FedPer $fp (its global body + untrained head: $fg), Ditto $dp;"
	# each personal model against the global model of its federation
	python3 -c "import sys; sys.exit(0 if $fp >= $fg and $dp >= $dg else 1)" ||
		fail "node$i: a personal model below its federation's global model on its own data:$report"
	sums=$(python3 -c "a = '$sums'.split(); print(float(a[0]) + $fp, float(a[1]) + $dp, float(a[2]) + $dg)")
done
# and on average over the nodes, both against the non-personalised model
read -r sfp sdp sdg <<< "$sums"
means=$(python3 -c "print('mean FedPer %.4f, Ditto %.4f, FedAvg global %.4f' % ($sfp / 3, $sdp / 3, $sdg / 3))")
python3 -c "import sys; sys.exit(0 if $sfp >= $sdg and $sdp >= $sdg else 1)" ||
	fail "personalised models below the FedAvg one on average: $means;$report"
pass "updates carry $shared of $total parameters (head never sent), node4 refused, personal versions signed and listed, node1's state survived a restart; own-distribution accuracy after $ROUNDS rounds: $means;$report"
