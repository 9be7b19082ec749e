#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The federation of a model that is not the Fashion-MNIST MLP: the
# vibration classifier (42 features, 32 hidden, 4 classes) and detector
# (one output, threshold head).  For each, an aggregator seeded with the
# shipped blob (mcaid --initial, dequantised) and two nodes training on
# their sample stores of 42-feature windows (int8, as the mirror stores
# them), labelled with the four classes:
#  * the registry's version 1 has the blob's shape and the nodes accept it;
#  * the nodes train on their labelled windows only (images and another
#    length in the same store are left out) and send the round's
#    statistics: 42 features, the model's classes;
#  * two rounds publish versions 2 and 3 of the same shape, whose
#    manifests carry those statistics; the detector keeps its head.
. "$(dirname "$0")/lib.sh"
. "$FED_DIR/rounds-lib.sh"

CTL=$ROOT/build/mcaictl
[ -x "$CTL" ] || skip "$CTL not built"

# A store of windows as the mirror's drain writes them: N windows of 42
# int8 features, four classes each lifting its quarter of the features,
# plus 5 images of 784 inputs; every one labelled.
mkstore() {
	local dir=$1 seed=$2
	install -d -m 0700 -o mcai "$dir" 2>/dev/null ||
		install -d -m 0700 -o nobody "$dir" || fail "cannot make $dir"
	python3 - "$dir" 200 "$seed" <<'PY' || fail "cannot write the sample segment"
import os, random, struct, sys
out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1))
    return crc ^ 0xffffffff
rnd = random.Random(seed)
labels = []
with open(os.path.join(out, "seg-0000000000000000.smp"), "wb") as f:
    sid = 0
    for i in range(n + 5):
        if i < n:
            c = i % 4
            x = bytes((24 + (40 if j % 4 == c else 0) + rnd.randint(-10, 10)) & 0xff
                      for j in range(42))
        else:
            c = 1
            x = bytes(784)
        sid += 1
        h = struct.pack("<4sIQQQIIIiiII", b"SMPL", 64 + len(x), sid,
                        1_700_000_000_000_000_000 + sid, sid, 7, 1, 3,
                        0, 100, 0, len(x))
        f.write(h + struct.pack("<I", crc32c(x, crc32c(h))) + x)
        labels.append((sid, c))
with open(os.path.join(out, "labels-all"), "w") as f:
    for sid, c in labels:
        f.write(f"{sid} {c}\n")
PY
	"$CTL" label --file "$dir/labels-all" --store "$dir" > /dev/null ||
		fail "mcaictl label --file failed"
	rm -f "$dir/labels-all"
	chown -R "$(stat -c %u "$dir")" "$dir"
}

store_node() {
	local id=$1 log=$2 store=$3 model=$4
	"$MCAID" --role node --connect "127.0.0.1:$PORT" \
		--cert "$P/node1.crt" --key "$P/node1.key" --ca "$P/ca.crt" \
		--crl "$P/crl.pem" --node-id "$id" --samples "$store" \
		--set "model=$model" \
		--set "provenance.trust=$SIGNER/signer.pub" \
		--set "provenance.history=$T/state/hist-$model-$id" \
		> "$log" 2>&1 &
	NODES+=("$!")
	PIDS+=("$!")
}

for model in vib-classifier vib-detector; do
	case $model in
	vib-classifier) shape="42-32-4 argmax" classes=4 ;;
	vib-detector) shape="42-32-1 threshold" classes=2 ;;
	esac
	REG=$T/state/registry-$model
	mkstore "$T/state/s1-$model" 1
	mkstore "$T/state/s2-$model" 2
	start_fed_agg "$T/agg-$model.log" --initial "$ROOT/models/$model.mcai" \
		--set "model=$model" --set rounds.count=2 --start-nodes 2 \
		--set rounds.lr=0.02 --set rounds.batch=16 \
		--set rounds.local_epochs=2 --set drift.stats=yes
	grep -q "registry: initial model version 1 ($shape, input scale 0.03125 zp 0, $ROOT/models/$model.mcai)" \
		"$T/agg-$model.log" ||
		fail "$model: the registry was not seeded: $(grep registry: "$T/agg-$model.log")"
	store_node node1 "$T/n1-$model.log" "$T/state/s1-$model" "$model"
	store_node node2 "$T/n2-$model.log" "$T/state/s2-$model" "$model"
	wait_log "$T/agg-$model.log" "federation complete" 120 ||
		fail "$model: two rounds did not complete: $(tail -n 5 "$T/agg-$model.log")"
	for n in n1 n2; do
		log=$T/$n-$model.log
		grep -q "model '$model' version 3 (round 2, parent 2): $shape" "$log" ||
			fail "$model: $n did not accept version 3 of the shape: $(grep "model '" "$log")"
		grep -q "round 2: training version 2 on 200 samples" "$log" ||
			fail "$model: $n did not train on its 200 windows: $(grep 'training version' "$log")"
		sanitizer_clean "$log"
	done
	grep -q "round 2: training statistics of 2 nodes (400 samples, 42 features, $classes classes) in the manifest" \
		"$T/agg-$model.log" ||
		fail "$model: statistics: $(grep 'training statistics' "$T/agg-$model.log")"
	grep -q "UPDATE refused\|quantising version" "$T/agg-$model.log" &&
		fail "$model: $(grep "UPDATE refused\|quantising version" "$T/agg-$model.log")"
	stop_nodes
	stop_agg "$T/agg-$model.log"
done
pass "vib-classifier and vib-detector federated from their shipped blobs: two rounds each on two nodes' 42-feature windows, statistics in the manifests"
