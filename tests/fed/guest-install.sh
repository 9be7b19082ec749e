#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run by tests/vm/guest/90-mcaid.sh inside the guest, with mcai.ko loaded
# and the simulated sensor running (not a host test: no test- prefix).
# An aggregator and two nodes over loopback federate three rounds; the
# nodes, unprivileged after start-up, install every new version into
# /dev/mcai through the fd they opened as root, load the eBPF telemetry
# before dropping privileges, feed measured energy to the module's
# budgets and report their figures to the aggregator.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"
CTL=$ROOT/build/mcaictl

# node1 also drains the module's sample mirror into its store (it trains
# on its shard: the sensor's inputs are not Fashion-MNIST images).
SMP=$T/state/samples1
install -d -m 0700 -o mcai "$SMP" 2>/dev/null ||
	install -d -m 0700 -o nobody "$SMP" || fail "cannot make the sample store"
start_fed_agg "$T/agg.log" --set rounds.count=3 --start-nodes 2
for i in 1 2; do
	extra=()
	((i == 1)) && extra=(--samples "$SMP")
	fed_node "node$i" "$T/node$i.log" --shard "$((i - 1))/2 iid limit=1500" \
		--telemetry on --feed-interval 2 "${extra[@]}"
done
wait_log "$T/agg.log" "federation complete" 500 ||
	fail "3 rounds did not complete"
for i in 1 2; do
	wait_log "$T/node$i.log" "model 'fmnist' version 4 " 60 ||
		fail "node$i did not get version 4"
done
"$CTL" list | grep -Eq '^ +[0-9]+ +fmnist +4 ' ||
	fail "version 4 not installed in /dev/mcai: $("$CTL" list)"
# the sensor's mirrored windows reached node1's store, unprivileged
wait_log "$T/node1.log" "sample mirror: [0-9]+ new samples in $SMP" 10 ||
	fail "node1 did not drain the sample mirror"
ns=$("$CTL" --json samples -s "$SMP" | python3 -c 'import json,sys
d = json.load(sys.stdin); print(d["samples"])')
[ "${ns:-0}" -gt 0 ] || fail "node1's sample store is empty"
grep -q "telemetry: loaded and pinned\|telemetry: attached already" \
	"$T/node1.log" || fail "node1 did not load the telemetry"
[ -e /sys/fs/bpf/mcai/links/mcai_tel_end ] || fail "telemetry not pinned"

# unprivileged now, and still the one who installed the versions
st=/proc/${NODES[0]}/status
awk '/^Uid:/ { exit !($2 != 0) }' "$st" || fail "node1 runs as root"
awk '/^CapEff:/ { exit !($2 == "0000000000000000") }' "$st" ||
	fail "node1 has capabilities: $(grep Cap "$st")"

# the nodes' figures (the sensor's model: the only one running) reach
# the aggregator's fleet view
seen() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not any(n.get("telemetry", {}).get("inferences", 0) > 0 and
		 n["telemetry"].get("model") == "vib-detector"
		 for n in d["nodes"]))' "$REG/status.json" 2> /dev/null
}
wait_for 60 "node telemetry in $REG/status.json" seen ||
	fail "no node telemetry in the aggregator's status: $(cat "$REG/status.json")"
tm=$("$CTL" fleet --json --state "$REG" | python3 -c 'import json,sys
print(" ".join(sorted({n.get("telemetry_model", "") for n in json.load(sys.stdin)["nodes"]})))')
case " $tm " in
*" vib-detector "*) ;;
*) fail "mcaictl fleet does not name the telemetry's model: '$tm'" ;;
esac
# and measured energy prices the sensor's model
src=$("$CTL" --json stats vib-detector |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["scheduler"]["energy_source"])')
[ "$src" = model ] || fail "vib-detector's budget uses $src, not the measured figure"

stop_nodes
stop_agg "$T/agg.log"
pass "2 unprivileged nodes installed versions 2-4 into /dev/mcai, telemetry loaded by mcaid, fed to the budgets and reported to the aggregator"
