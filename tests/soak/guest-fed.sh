#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run by tests/soak/guest.sh inside the guest (not a host test): an
# aggregator and SOAK_NODES nodes over loopback, running rounds until the
# file SOAK_FED_STOP appears (rounds.count=0), with the helpers of
# tests/fed/ as tests/fed/guest-install.sh uses them.  Nodes install every
# version into /dev/mcai and run their telemetry agent (already attached by
# guest.sh; SOAK_TELEMETRY=off leaves it off, for the aggregator as
# well).  Writes, once all are up, "agg PID" and "nodeN PID" lines to
# SOAK_FED_PIDS and the path of the aggregator's log to SOAK_FED_LOG, for
# the sampler; at the stop each daemon must exit 0 on SIGTERM.
# set -e is left off: the fed helpers test commands and report themselves.
set -u
. "$(dirname "$0")/../fed/lib.sh"
. "$FED_DIR/rounds-lib.sh"
: "${SOAK_FED_STOP:?}" "${SOAK_FED_PIDS:?}" "${SOAK_FED_LOG:?}"
n=${SOAK_NODES:-3}

# The shards are small so that a round takes seconds even under TCG: the
# soak is about repetition, not about the model's accuracy.
# The aggregator too: at --telemetry auto (the default) a root mcaid with
# /dev/mcai loads and pins the telemetry, and its pinned links would hold
# mcai.ko past the soak where the soak has the telemetry off.
start_fed_agg "$T/agg.log" --set rounds.count=0 --start-nodes "$n" \
	--telemetry "${SOAK_TELEMETRY:-on}"
for ((i = 1; i <= n; i++)); do
	fed_node "node$i" "$T/node$i.log" --shard "$((i - 1))/$n iid limit=400" \
		--telemetry "${SOAK_TELEMETRY:-on}" --feed-interval 5
done
{
	echo "agg $AGG"
	for ((i = 1; i <= n; i++)); do echo "node$i ${NODES[i - 1]}"; done
} >"$SOAK_FED_PIDS.tmp"
mv "$SOAK_FED_PIDS.tmp" "$SOAK_FED_PIDS"
echo "$T/agg.log" >"$SOAK_FED_LOG"

# Every daemon must live through the whole soak: one that dies is a
# failure of the run, with its log.
alive() {
	local p
	for p in "$AGG" "${NODES[@]}"; do
		kill -0 "$p" 2>/dev/null || return 1
	done
}
while [[ ! -e $SOAK_FED_STOP ]]; do
	alive || fail "a daemon died during the soak"
	sleep 1
done
rounds=$(grep -c "round [0-9]* done" "$T/agg.log")
stop_nodes
stop_agg "$T/agg.log"
pass "$rounds rounds with $n nodes, every daemon alive to the end and exiting 0"
