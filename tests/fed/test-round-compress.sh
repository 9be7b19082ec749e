#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Compressed updates, negotiated per node (runtime/fed/proto.h): the
# aggregator asks for top-k 0.25 + int8 (rounds.compress = topk).  Two
# nodes offer MCAI_CAP_COMPRESS and answer UPDATE_Z; the third is started
# with --no-compress, as a node from before compression, and keeps
# getting plain ROUNDs and sending float UPDATEs.  Three rounds complete,
# every node sends what was asked of it, the compressed updates are at
# least 4x smaller than the float ones, and the model still learns.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

start_fed_agg "$T/agg.log" --set rounds.count=3 --set rounds.compress=topk \
	--set rounds.compress_topk=0.25
fed_node node1 "$T/node1.log" --shard "0/3 iid limit=1500"
fed_node node2 "$T/node2.log" --shard "1/3 iid limit=1500"
fed_node node3 "$T/node3.log" --shard "2/3 iid limit=1500" --no-compress
wait_log "$T/agg.log" "federation complete" 90 ||
	fail "3 rounds with compressed updates did not complete"
for i in 1 2; do
	n=$(grep -c "update compressed (topk, with error feedback)" \
		"$T/node$i.log")
	[ "$n" -ge 1 ] || fail "node$i never sent a compressed update"
done
grep -q "update compressed" "$T/node3.log" &&
	fail "node3 (no MCAI_CAP_COMPRESS) was asked to compress"
grep -q "round .*: trained in" "$T/node3.log" ||
	fail "node3 did not take part with plain updates"
grep -q "UPDATE refused\|compressed UPDATE refused" "$T/agg.log" &&
	fail "the aggregator refused an update: $(grep refused "$T/agg.log")"
# "N compressed updates, B bytes each (float32: F)": at least 4x fewer
line=$(grep -o "compressed updates, [0-9]* bytes each (float32: [0-9]*)" \
	"$T/agg.log" | tail -n 1)
[ -n "$line" ] || fail "the aggregator logged no compressed update"
b=$(echo "$line" | awk '{print $3}')
f=$(echo "$line" | tr -d ')' | awk '{print $7}')
[ $((b * 4)) -le "$f" ] || fail "compressed $b bytes, float $f: not 4x"
acc=$(last_acc "$T/agg.log")
python3 -c "import sys; sys.exit(0 if float('$acc') > 0.5 else 1)" ||
	fail "accuracy after 3 compressed rounds: $acc"
stop_agg "$T/agg.log"
stop_nodes
echo "ok: compressed $b bytes vs float32 $f, accuracy $acc"
