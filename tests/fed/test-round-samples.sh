#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A node trains on its labelled sample store (runtime/fed/samples.h), the
# data the module's mirror collects, instead of a dataset file:
#  * 600 mirrored Fashion-MNIST inputs (int8, q = pixel - 128) sit in the
#    store, 300 of them labelled with `mcaictl label --file`: the node
#    declares and trains on exactly those 300;
#  * labels added between rounds, while the node runs, are trained on in
#    the next round;
#  * a node whose store has nothing labelled declares no samples: the
#    aggregator turns it away and it trains nothing.
# The mirror itself (kernel to store) is tested in the guest (45-mirror).
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

CTL=$ROOT/build/mcaictl
[ -x "$CTL" ] || skip "$CTL not built"
S=$T/state/samples
E=$T/state/empty
install -d -m 0700 -o mcai "$S" "$E" 2>/dev/null ||
	install -d -m 0700 -o nobody "$S" "$E" || fail "cannot make the stores"

# A segment as the mirror's drain writes it: records of 64-byte header +
# input, CRC-32C over header bytes 0..59 and the input.
python3 - "$FMNIST" "$S" 600 <<'PY' || fail "cannot write the sample segment"
import gzip, os, struct, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1))
    return crc ^ 0xffffffff
img = gzip.open(os.path.join(src, "train-images-idx3-ubyte.gz")).read()[16:]
lab = gzip.open(os.path.join(src, "train-labels-idx1-ubyte.gz")).read()[8:]
with open(os.path.join(out, "seg-0000000000000000.smp"), "wb") as f:
    for i in range(n):
        x = bytes((p - 128) & 0xff for p in img[i * 784:(i + 1) * 784])
        h = struct.pack("<4sIQQQIIIiiII", b"SMPL", 64 + 784, i + 1,
                        1_700_000_000_000_000_000 + i, i, 7, 1, 3,
                        lab[i], 100, 0, 784)
        f.write(h + struct.pack("<I", crc32c(x, crc32c(h))) + x)
with open(os.path.join(out, "labels-all"), "w") as f:
    for i in range(n):
        f.write(f"{i + 1} {lab[i]}\n")
PY
head -n 300 "$S/labels-all" > "$T/labels-300"
sed -n '301,$p' "$S/labels-all" > "$T/labels-rest"
rm -f "$S/labels-all"
"$CTL" label --file "$T/labels-300" --store "$S" > /dev/null ||
	fail "mcaictl label --file failed"
chown -R "$(stat -c %u "$S")" "$S"

# A node as fed_node starts one, but with no dataset: its store only.
store_node() {
	local id=$1 log=$2 store=$3
	"$MCAID" --role node --connect "127.0.0.1:$PORT" \
		--cert "$P/node1.crt" --key "$P/node1.key" --ca "$P/ca.crt" \
		--crl "$P/crl.pem" --node-id "$id" --samples "$store" \
		--set "provenance.trust=$SIGNER/signer.pub" \
		--set "provenance.history=$T/state/hist-$FED_GEN-$id" \
		> "$log" 2>&1 &
	NODES+=("$!")
	PIDS+=("$!")
}

# Round 1 alone, then the aggregator stops: the rest is labelled while
# the nodes run and wait to reconnect, and only then does the federation
# go on (a restart on the same registry continues with round 2).  A test
# that labelled "between rounds" of a running federation would race it:
# a round takes a fraction of a second.
start_fed_agg "$T/agg.log" --set rounds.count=1 --start-nodes 2
store_node node1 "$T/node1.log" "$S"
fed_node node2 "$T/node2.log" --shard "0/2 limit=600"
store_node node3 "$T/node3.log" "$E"
wait_log "$T/node1.log" "local data: 300 labelled samples in the sample store" 20 ||
	fail "node1 did not load the 300 labelled samples"
wait_log "$T/node3.log" "local data: 0 labelled samples" 20 ||
	fail "node3 did not say its store has nothing labelled"
wait_log "$T/agg.log" "federation complete" 60 || fail "round 1 did not complete"
grep -q "round 1: training version 1 on 300 samples" "$T/node1.log" ||
	fail "node1 did not train round 1 on its 300 samples"
grep -q "closing: node without samples" "$T/agg.log" ||
	fail "the aggregator did not turn away the node with nothing labelled"
stop_agg "$T/agg.log"
# Labels arrive while the nodes run: trained on in the next round.
"$CTL" label --file "$T/labels-rest" --store "$S" > /dev/null ||
	fail "labelling the rest failed"
restart_fed_agg "$T/agg2.log" --set rounds.count=3 --start-nodes 2
wait_log "$T/agg2.log" "federation complete" 90 || fail "rounds 2-3 did not complete"
grep -q "round 2: training version 2 on 600 samples" "$T/node1.log" ||
	fail "node1 did not train round 2 on the 600 samples labelled before it"
grep -q "training version" "$T/node3.log" && fail "node3 trained on nothing"
grep -q "UPDATE refused" "$T/agg.log" "$T/agg2.log" &&
	fail "the aggregator refused an update"
stop_nodes
stop_agg "$T/agg2.log"
for i in 1 2 3; do
	sanitizer_clean "$T/node$i.log"
done
pass "node trained on its store's 300 labelled samples, then on 600 once labelled between rounds; a node with nothing labelled was turned away; int8 accuracy $(last_acc "$T/agg2.log")"
