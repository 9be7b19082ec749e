#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Federation benchmark (make bench): one aggregator (build/mcaid, no
# sanitizers), FedAvg on the Fashion-MNIST MLP 784-H-10 (H = 128 unless
# MCAI_BENCH_HIDDEN says otherwise), fraction 1.0, and simulated nodes on
# loopback, all in one Python asyncio process (tests/bench/fed_load.py)
# speaking the wire format of runtime/fed/proto.h over TLS with the test PKI's
# node certificates.  Each node answers ROUND with an UPDATE of a random
# delta.  No evaluation set: the aggregator calibrates its int8 blob on
# synthetic images, so the figures are the federation's, not the
# evaluation's.
#
# Three aggregators in turn, with 100, 300 and 1000 nodes
# (MCAI_BENCH_NODES), so peak memory can be compared across fleet sizes.
# Printed on stdout: per round and per fleet size, the round wall time,
# updates aggregated per second, bytes on the wire per node (the
# aggregator's own counters, TLS records included), aggregator VmHWM, CPU
# time per update, and the ratio of the aggregation to a plain float
# memory-sum of the same bytes (tests/bench/memsum.c) measured in the same
# run; and the floor of an update's cost, also measured in the same run
# (tests/bench/tlsfloor.c: decrypting its TLS records with the daemon's TLS
# code and cipher suite, plus folding it), with the aggregator's CPU per
# update as a multiple of that floor, and beside it what receiving the same
# bytes from a loopback socket costs, which the floor leaves out.  Progress
# goes to stderr.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
MCAID=${MCAID:-$ROOT/build/mcaid}
NODES_LIST=${MCAI_BENCH_NODES:-100 300 1000}
HIDDEN=${MCAI_BENCH_HIDDEN:-128}
ROUNDS_SMALL=${MCAI_BENCH_ROUNDS_SMALL:-2}
ROUNDS_BIG=${MCAI_BENCH_ROUNDS:-3}
CC=${CC:-cc}

say() { echo "fed_bench: $*" >&2; }
die() { say "$*"; exit 1; }

[ -x "$MCAID" ] || die "$MCAID not built (make build/mcaid)"
command -v openssl > /dev/null || die "no openssl"
command -v python3 > /dev/null || die "no python3"

T=$(mktemp -d /tmp/mcai-fedbench.XXXXXX)
chmod 755 "$T"
AGG=
cleanup() {
	if [ -n "$AGG" ]; then
		kill -KILL "$AGG" 2> /dev/null || true
		wait "$AGG" 2> /dev/null || true
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

max_n=0
for n in $NODES_LIST; do
	[ "$n" -gt "$max_n" ] && max_n=$n
done
if [ "$(ulimit -n)" -lt $((max_n + 200)) ]; then
	ulimit -n $((max_n + 200)) 2> /dev/null ||
		die "RLIMIT_NOFILE below $((max_n + 200))"
fi

say "building memsum and tlsfloor, making the test PKI"
$CC -std=c11 -O3 -Wall -Wextra -Werror -o "$T/memsum" "$BENCH_DIR/memsum.c"
# Built as mcaid's objects are (-O2, runtime/fed/tls.c itself).
$CC -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$ROOT" \
	-o "$T/tlsfloor" "$BENCH_DIR/tlsfloor.c" "$ROOT/runtime/fed/tls.c" \
	"$ROOT/runtime/lib/log.c" -lssl -lcrypto
"$ROOT/tests/fed/mkcerts.sh" "$T/pki" > /dev/null 2>&1 || die "mkcerts.sh failed"
P=$T/pki
# The aggregator drops privileges; its registry's parent must stay writable.
mkdir -p "$T/state"
chmod 1777 "$T/state"

. "$ROOT/tests/fed/port.sh"

# run_phase NODES ROUNDS: one aggregator, NODES simulated nodes, ROUNDS
# rounds; leaves $T/phase-NODES.{log,json}.
run_phase() {
	local n=$1 rounds=$2 log=$T/phase-$1.log json=$T/phase-$1.json
	local i try port rc
	for ((try = 0; try < 5; try++)); do
		port=$(free_port)
		"$MCAID" --role aggregator --listen "127.0.0.1:$port" \
			--cert "$P/aggregator.crt" --key "$P/aggregator.key" \
			--ca "$P/ca.crt" --crl "$P/crl.pem" \
			--registry "$T/state/registry-$n" --hidden "$HIDDEN" \
			--calib 64 --start-nodes "$n" \
			--set strategy.name=fedavg --set rounds.fraction=1.0 \
			--set rounds.min_clients=2 --set rounds.count="$rounds" \
			--set rounds.deadline_ms=120000 \
			> "$log" 2>&1 &
		AGG=$!
		for ((i = 0; i < 100; i++)); do
			kill -0 "$AGG" 2> /dev/null || break
			grep -q "listening on 127.0.0.1:$port\$" "$log" && break
			sleep 0.1
		done
		grep -q "listening on 127.0.0.1:$port\$" "$log" && break
		wait "$AGG" 2> /dev/null || true
		AGG=
		grep -q "Address already in use" "$log" || break
	done
	[ -n "$AGG" ] || { tail -n 20 "$log" >&2; die "aggregator did not start"; }
	say "$n nodes, $rounds rounds: aggregator pid $AGG on port $port"
	rc=0
	python3 "$BENCH_DIR/fed_load.py" --pki "$P" --port "$port" \
		--agg-pid "$AGG" --nodes "$n" --rounds "$rounds" \
		--id-prefix "n$n-" --timeout 200 > "$json" || rc=$?
	# Peak memory as the federation finished, before shutting down.
	grep -E '^Vm(HWM|RSS)' "/proc/$AGG/status" > "$T/phase-$n.mem" || true
	kill -TERM "$AGG"
	wait "$AGG" || { AGG=; tail -n 20 "$log" >&2; die "aggregator exited $? after SIGTERM"; }
	AGG=
	if [ "$rc" -ne 0 ]; then
		grep -E 'warn|error' "$log" | tail -n 10 >&2 || true
		die "load generator failed with $n nodes (exit $rc)"
	fi
}

t_start=$(date +%s)
for n in $NODES_LIST; do
	r=$ROUNDS_SMALL
	[ "$n" -eq "$max_n" ] && r=$ROUNDS_BIG
	run_phase "$n" "$r"
done

# The yardstick: a float memory-sum of the bytes one round of the largest
# fleet aggregates (its updates' deltas), in the same run.
n_params=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["n_params"])' "$T/phase-$max_n.json")
sum_bytes=$((max_n * n_params * 4))
say "memory-sum of $sum_bytes bytes"
"$T/memsum" "$sum_bytes" "$n_params" > "$T/memsum.txt"
say "the floor: TLS decryption and fold of $n_params-parameter updates"
"$T/tlsfloor" "$P" "$n_params" > "$T/tlsfloor.txt"

python3 "$BENCH_DIR/fed_report.py" "$T" "$max_n" $NODES_LIST
say "done in $(($(date +%s) - t_start)) s"
