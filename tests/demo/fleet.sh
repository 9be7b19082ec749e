#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`'s fleet step, run by tests/demo.sh inside the guest with
# mcai.ko loaded: an aggregator and DEMO_NODES (3) nodes over loopback
# (tests/fed/lib.sh, as tests/fed/guest-install.sh runs them) federate
# DEMO_ROUNDS (3) rounds of the Fashion-MNIST model.  Each node checks the
# aggregator's Ed25519 signature on every version and installs it into
# /dev/mcai, the running kernel; meanwhile a client keeps classifying
# through that same model, so each swap happens under traffic.  Prints
# the accuracy of every round and the client's submitted / completed
# counts; passes only if every round completed, every node installed the
# last version and no inference was lost.
. "$(dirname "$0")/../fed/lib.sh"
. "$FED_DIR/rounds-lib.sh"
CTL=$ROOT/build/mcaictl
n=${DEMO_NODES:-3}
rounds=${DEMO_ROUNDS:-3}
last=$((rounds + 1))
IMAGES=$FMNIST/t10k-images-idx3-ubyte.gz

start_fed_agg "$T/agg.log" --set rounds.count="$rounds" --start-nodes "$n" \
	--set rounds.min_clients="$n"
for ((i = 1; i <= n; i++)); do
	fed_node "node$i" "$T/node$i.log" \
		--shard "$((i - 1))/$n iid limit=400" --telemetry off
done
echo "  aggregator (pid $AGG) and $n nodes (pids ${NODES[*]}) on 127.0.0.1:$PORT"

# The traffic: batches of 100 images through the model the nodes swap,
# from the first version on, until the last version is in.
installed() { "$CTL" list 2>/dev/null | grep -Eq '^ +[0-9]+ +fmnist +'"$1"' '; }
wait_for 120 "version 1 of fmnist in /dev/mcai" installed 1 ||
	fail "no version of fmnist reached /dev/mcai"
(
	sub=0 comp=0 err=0 seen=
	while [ ! -e "$T/stop" ]; do
		sub=$((sub + 100))
		if out=$("$CTL" infer -q -n 100 fmnist "$IMAGES" 2>&1); then
			c=$(sed -n 's/^\([0-9][0-9]*\) samples.*/\1/p' <<<"$out")
			comp=$((comp + ${c:-0}))
			# the version that answered (the last, if it changed
			# under the batch)
			v=$(sed -n 's/.* fmnist version \([0-9]*\).*/\1/p' <<<"$out")
			[[ " $seen " == *" $v "* ]] || seen+=" $v"
		else
			err=$((err + 1))
			echo "  traffic: $out"
		fi
	done
	echo "$sub $comp $err$seen" >"$T/traffic"
) &
TRAFFIC=$!
PIDS+=("$TRAFFIC")

# One line per round, as the aggregator logs it.
r=0
while ((r < rounds)); do
	wait_log "$T/agg.log" "round $((r + 1)) done" 300 ||
		fail "round $((r + 1)) did not complete"
	r=$((r + 1))
	grep -o "round $r done.*" "$T/agg.log" | head -n 1 |
		sed -n 's/^round \([0-9]*\) done.*answered.*-> version \([0-9]*\), int8 accuracy \([0-9.]*\), float \([0-9.]*\), \([0-9.]*\) s$/\1 \2 \3 \4 \5/p' |
		while read -r rr v a f s; do
			printf '  round %s: %d nodes answered -> version %s, int8 accuracy %.1f %% (float %.1f %%), %s s\n' \
				"$rr" "$n" "$v" "$(awk -v x="$a" 'BEGIN { print x * 100 }')" \
				"$(awk -v x="$f" 'BEGIN { print x * 100 }')" "$s"
			echo "$rr $v $a" >>"$T/rounds"
		done
done
wait_log "$T/agg.log" "federation complete" 120 || fail "no 'federation complete'"
for ((i = 1; i <= n; i++)); do
	wait_log "$T/node$i.log" "model 'fmnist' version $last " 120 ||
		fail "node$i did not install version $last"
done
wait_for 60 "version $last of fmnist in /dev/mcai" installed "$last" ||
	fail "version $last not in /dev/mcai: $("$CTL" list)"
# which node swapped each version in (the first to get it; for the
# others the kernel already runs it), and the signature node1 checked
for ((i = 1; i <= n; i++)); do
	grep -o "/dev/mcai: model 'fmnist' version [0-9]* installed.*" \
		"$T/node$i.log" | sed "s/^/  node$i: /"
done | sort -n -k6
grep -o "model 'fmnist' version $last (round.*" "$T/node1.log" | sed 's/^/  node1: /'
touch "$T/stop"
wait "$TRAFFIC"
read -r sub comp err seen <"$T/traffic"
echo "  client during the swaps: submitted $sub, completed $comp, failed calls $err; answered by versions $seen"
"$CTL" list | grep -E "^ *ID|fmnist " | sed "s/^/  /"
acc=$(tail -n 1 "$T/rounds" | awk '{ printf "%.1f", $3 * 100 }')
stop_nodes
stop_agg "$T/agg.log"
if [ "$err" != 0 ] || [ "$sub" != "$comp" ] || [ "$sub" -eq 0 ]; then
	fail "inferences lost during the swaps: submitted $sub, completed $comp"
fi
[ "$(wc -w <<<"$seen")" -ge 2 ] ||
	fail "the client saw only version(s) $seen: no swap under traffic"
echo "DEMO-FLEET $n nodes, $rounds rounds -> v$last, accuracy $acc %; $comp/$sub inferences"
pass "$n nodes, $rounds rounds, signed versions 2-$last hot-swapped, $comp/$sub inferences"
