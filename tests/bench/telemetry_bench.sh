#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tracker issue 4: what the eBPF telemetry costs.  In one guest boot
# (-icount: figures in guest instructions, repeatable), build/vm/ring_bench
# runs the ~1k-MAC model and models/fmnist-mlp.mcai with the telemetry
# detached and attached, alternating ROUNDS times; the ratio of the
# inferences/s (attached / detached, ring and ioctl paths) is printed per
# model, then the programs' own cost from `bpftool prog show` figures
# (kernel.bpf_stats_enabled=1: run_time_ns / run_cnt) as ns per event.
# Target: < 5% throughput loss on the small model.  MCAI_BENCH_SIMD lists
# the engine's SIMD paths measured one after the other in the same boot
# (module simd= and the user-space engine's MCAI_SIMD; default "auto
# off": the best the guest CPU has, then scalar).
#
# usage: tests/bench/telemetry_bench.sh   (MCAI_TEL_ROUNDS, default 3)
set -euo pipefail

if [[ -n ${MCAI_VM:-} ]]; then
	R=${MCAI_ROOT:?}
	. "$R/tests/vm/lib.sh"
	B=$R/build/vm/ring_bench
	CTL=$R/build/mcaictl
	# The ratios and per-event costs of one path's run in $1.
	report() {
		python3 - "$1" "$ROUNDS" "${icount[*]}" "$p" <<-'EOF'
		import json, re, sys
		out, rounds, icount, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
		def parse(path):
		    r, model = {}, None
		    for line in open(path):
		        m = re.match(r'== (\S+) v\d+: .*?(\d+) MACs', line)
		        if m:
		            model = '%s (%s MACs)' % (m.group(1), m.group(2))
		            continue
		        m = re.match(r'\s+(ring|ioctl)\s+:\s+([\d.]+) inf/s', line)
		        if m and model:
		            r[(model, m.group(1))] = float(m.group(2))
		    return r
		sums = {}
		for i in range(rounds):
		    off, on = parse('%s/off.%d' % (out, i)), parse('%s/on.%d' % (out, i))
		    for k in off:
		        if k in on:
		            sums.setdefault(k, []).append(on[k] / off[k])
		unit = 'guest-instruction' if icount else 'TCG (ratios only)'
		print('telemetry overhead, simd=%s, %d rounds, %s figures: inferences/s attached / detached' % (path, rounds, unit))
		for (model, path), rs in sorted(sums.items()):
		    mean = sum(rs) / len(rs)
		    print('  %-32s %-5s : %.4f  (throughput loss %+.2f%%; rounds %s)' %
		          (model, path, mean, 100 * (1 - mean), ' '.join('%.4f' % x for x in rs)))
		st = json.load(open(out + '/status.json'))
		print('per-event cost of the programs (bpf_stats, %s ns):' % ('guest-instruction' if icount else 'TCG'))
		for p in st['programs']:
		    if p['run_cnt']:
		        print('  %-16s %10d runs  %8.0f ns/event' % (p['name'], p['run_cnt'], p['run_time_ns'] / p['run_cnt']))
		EOF
	}
	ROUNDS=3 paths="auto off"
	icount=()
	read -ra words </proc/cmdline
	for w in "${words[@]}"; do
		case $w in
		mcai_icount=1) icount=(-i) ;;
		mcai_tel_rounds=*) ROUNDS=${w#*=} ;;
		mcai_bench_simd=*) paths=${w#*=}; paths=${paths//,/ } ;;
		esac
	done
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	grep -q '^mcai ' /proc/modules && rmmod mcai
	for p in $paths; do
		OUT=$(mktemp -d)
		echo "telemetry_bench: simd=$p"
		insmod "$MCAI_KO" simd="$p"
		export MCAI_SIMD=$p
		"$CTL" telemetry disable --purge > /dev/null 2>&1 || true
		for ((i = 0; i < ROUNDS; i++)); do
			"$B" "${icount[@]}" -f "$R/models/fmnist-mlp.mcai" > "$OUT/off.$i"
			"$CTL" telemetry enable > /dev/null
			"$B" "${icount[@]}" -f "$R/models/fmnist-mlp.mcai" > "$OUT/on.$i"
			"$CTL" telemetry disable > /dev/null
		done
		# the programs' own cost per event
		sysctl -qw kernel.bpf_stats_enabled=1
		"$CTL" telemetry enable > /dev/null
		"$B" "${icount[@]}" -n 20000 > /dev/null
		"$CTL" --json telemetry status > "$OUT/status.json"
		sysctl -qw kernel.bpf_stats_enabled=0
		"$CTL" telemetry disable --purge > /dev/null
		rmmod mcai
		report "$OUT"
		rm -rf "$OUT"
	done
	exit 0
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO"
. "$REPO/tests/vm/kernels.sh"
kver=$(mcai_kver 6.1) || exit 2
make build/vm/ring_bench build/mcaictl
tests/vm/build-module.sh "$kver"
echo "telemetry_bench: -icount run: figures in guest instructions"
simd=${MCAI_BENCH_SIMD:-auto off}
export MCAI_VM_APPEND="${MCAI_VM_APPEND:+$MCAI_VM_APPEND }mcai_bench_simd=${simd// /,} mcai_tel_rounds=${MCAI_TEL_ROUNDS:-3}"
tests/vm/run.sh --kernel "$kver" --icount "$REPO/tests/bench/telemetry_bench.sh"
