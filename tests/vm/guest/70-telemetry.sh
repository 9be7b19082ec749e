#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# eBPF telemetry (bpf/): programs load and pin on this kernel; exactly N
# inferences through the ring, the ioctl and the simulated sensor are
# counted exactly N; histogram buckets sum to N; latency totals positive
# and >= max; energy = cpu_ns x power exactly on the `model` path; CPU
# time below latency when preempted; per-version counts exact across a
# swap (the old version's live records retired into the hash) and for
# two models sharing a live slot (one of them counted in the hash);
# `bpftool -j map dump` parses with the documented fields; calibration
# from recorded RAPL readings (counter wrap included) switches the source
# and the arithmetic is exact; measured energy reaches the module's
# budget (telemetry feed); detach/attach under load; rmmod refused while
# attached and fine after disable; a module reload keeps the maps sane.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
CTL=$R/build/mcaictl
T=$R/build/vm/ring_test
A=$R/build/vm/mcai_abi
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
N=70-telemetry
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
PIN=/sys/fs/bpf/mcai
PW=1234			# mW, the test power table's only row
TMP=$(mktemp -d)

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

for f in "$KO" "$SIM" "$CTL" "$T" "$A" "$BPFTOOL"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	{ echo "$N: no bpffs"; exit 77; }
# No kernel BTF needed (bpf/README.md): the debug kernel has none and
# runs this test too.

# jq-free JSON checks: py 'expression over d' reading JSON on stdin
py() {
	python3 -c "import json,sys; d=json.load(sys.stdin); $1"
}
model_json() {		# model_json NAME [VERSION]: its record (default latest)
	"$CTL" --json telemetry |
		py "m=[x for x in d['models'] if x['name']=='$1' and '${2:-}' in ('', str(x['version']))]; print(json.dumps(m[-1]) if m else '{}')"
}
field() {		# field JSON KEY
	py "print(d.get('$2', ''))" <<< "$1"
}

cleanup() {
	"$CTL" telemetry disable --purge > /dev/null 2>&1
	grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
	grep -q '^mcai ' /proc/modules && rmmod mcai
	rm -rf "$TMP"
}

grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
"$CTL" telemetry disable --purge > /dev/null 2>&1
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

printf '# test table: one row\nname test\n1000000 %d nominal\n' $PW > "$TMP/p.power"
out=$("$CTL" telemetry enable --power-table "$TMP/p.power" 2>&1) ||
	{ echo "$N: FAIL: enable: $out"; cleanup; exit 1; }
echo "$N: $out"
for m in stats drops power calibration links/mcai_tel_end; do
	[[ -e $PIN/$m ]] || fail "$PIN/$m not pinned"
done
st=$("$CTL" --json telemetry status)
[[ $(field "$st" enabled) == True ]] || fail "status not enabled: $st"

# 1. exact counts, three paths
"$T" push tel-ring 500 > /dev/null || fail "ring push"
"$A" load tel-sync 1 > /dev/null || fail "load tel-sync"
"$A" infer tel-sync 1 300 > /dev/null || fail "ioctl infers"

check_model() {		# check_model NAME COUNT [VERSION]
	local j
	j=$(model_json "$1" "${3:-}")
	py "
n=$2; pw=$PW
m=d
assert m.get('count') == n, 'count %s != %d' % (m.get('count'), n)
h=sum(m['latency_log2_ns']); assert h == n, 'histogram sums to %d' % h
assert m['latency_total_ns'] > 0 and m['latency_max_ns'] > 0, 'latency not positive'
assert m['latency_max_ns'] <= m['latency_total_ns'], 'max > total'
assert m['latency_total_ns'] <= n * m['latency_max_ns'], 'total > n * max'
assert 0 < m['cpu_ns'] <= m['latency_total_ns'], 'cpu_ns %d vs latency %d' % (m['cpu_ns'], m['latency_total_ns'])
assert m['energy_pj'] == m['cpu_ns'] * pw, 'energy %d pJ != cpu_ns %d x %d mW' % (m['energy_pj'], m['cpu_ns'], pw)
assert m['energy_uj'] * 10**6 + m['energy_pj_rem'] == m['energy_pj'], 'uJ + rem'
assert m['energy_source'] == 'model', m['energy_source']
assert m['unpaired'] == 0, 'unpaired %d' % m['unpaired']
print('ok', m['name'], n, 'inferences, mean %.1f us, cpu %.1f us, %.3f uJ/inf' % (m['latency_total_ns']/n/1e3, m['cpu_ns']/n/1e3, m['uj_per_inference']))
" <<< "$j" || fail "$1 ${3:-}: $j"
}
check_model tel-ring 500
check_model tel-sync 300
macs=$(field "$(model_json tel-ring)" macs)
((macs == 500 * 2304)) || fail "tel-ring macs $macs, want $((500 * 2304))"

# 1b. CPU time under contention: busy loops on every CPU preempt the
#     worker mid-inference; the count stays exact and time switched out
#     is latency, not CPU time.  Debian's kernels default to voluntary
#     preemption, where kernel code is never preempted mid-inference:
#     switch to full preemption for this step (PREEMPT_DYNAMIC), before
#     the load starts since it patches kernel text.
P=/sys/kernel/debug/sched/preempt
mode=
if [[ -w $P ]]; then
	mode=$(sed -n 's/.*(\([a-z]*\)).*/\1/p' $P)
	echo full > $P 2> /dev/null || mode=
fi
preemptible=0
grep -qE '\((full|lazy)\)' $P 2> /dev/null && preemptible=1
uname -v | grep -q PREEMPT_RT && preemptible=1
# a real-time task per CPU that wakes every few hundred microseconds
# preempts the worker wherever it is, mid-inference included
hogs=()
for ((c = 0; c < $(nproc); c++)); do
	taskset -c $c chrt -f 50 bash -c 'while :; do sleep 0.0003; done' &
	hogs+=($!)
done
"$T" push tel-busy 20000 > /dev/null || fail "ring push under load"
kill "${hogs[@]}" 2> /dev/null
wait "${hogs[@]}" 2> /dev/null
[[ -n $mode ]] && echo "$mode" > $P
py "
m=d
assert m['count'] == 20000, m['count']
assert m['unpaired'] == 0, m['unpaired']
assert sum(m['latency_log2_ns']) == 20000
assert m['cpu_ns'] < m['latency_total_ns'] or not $preemptible, 'never switched out: cpu %d latency %d' % (m['cpu_ns'], m['latency_total_ns'])
assert m['energy_pj'] == m['cpu_ns'] * $PW
print('contention ok: cpu %.1f%% of latency' % (100.0 * m['cpu_ns'] / m['latency_total_ns']))
" <<< "$(model_json tel-busy)" || fail "tel-busy: $(model_json tel-busy)"

# 1c. a swap: version 2 takes the model's live slot and retires version
#     1's records into the stats hash; each version keeps its exact count
#     (one CPU for both, so that it is the same slot)
out=$("$A" load tel-swap 1) || fail "load tel-swap 1"
swap_id=$(sed -n 's/.* as id \([0-9]*\)$/\1/p' <<< "$out")
taskset -c 0 "$A" infer tel-swap 1 120 > /dev/null || fail "infer tel-swap v1"
"$A" load tel-swap 2 > /dev/null || fail "load tel-swap 2"
taskset -c 0 "$A" infer tel-swap 2 80 > /dev/null || fail "infer tel-swap v2"
check_model tel-swap 120 1
check_model tel-swap 80 2
"$BPFTOOL" -j map dump pinned $PIN/stats | py "
k=[e['formatted']['key'] for e in d]
assert {'model_id': $swap_id, 'version': 1} in k, k
print('version 1 retired into the stats hash')
" || fail "tel-swap v1 not in the stats hash"

# 1d. two models on one live slot (ids 256 apart): both counted exactly
out=$("$A" load tel-slot-a 1) || fail "load tel-slot-a"
ida=$(sed -n 's/.* as id \([0-9]*\)$/\1/p' <<< "$out")
# 255 ids go by (its final leak check expects an empty table: not ours)
"$A" cycles 255 2> /dev/null | grep -q ': 255 load/swap/unload cycles$' ||
	fail "255 load/unload cycles"
out=$("$A" load tel-slot-b 1) || fail "load tel-slot-b"
idb=$(sed -n 's/.* as id \([0-9]*\)$/\1/p' <<< "$out")
if ((idb % 256 != ida % 256)); then
	fail "ids $ida and $idb do not share a live slot"
fi
for i in 1 2 3; do
	"$A" infer tel-slot-a 1 30 > /dev/null || fail "infer tel-slot-a"
	"$A" infer tel-slot-b 1 40 > /dev/null || fail "infer tel-slot-b"
done
check_model tel-slot-a 90
check_model tel-slot-b 120

# 2. bpftool reads the maps with named fields
"$BPFTOOL" map dump pinned $PIN/live > "$TMP/dump.txt" 2>&1 ||
	fail "bpftool map dump failed"
grep -q '"name": "tel-ring"' "$TMP/dump.txt" ||
	grep -q 'name.*tel-ring' "$TMP/dump.txt" || fail "no named field in bpftool dump"
# with BTF, bpftool -j adds a "formatted" object with the named fields;
# live and stats together count what mcaictl reports, per model version
F="'name','count','latency_total_ns','latency_max_ns','cpu_ns','energy_uj','energy_pj_rem','energy_source','latency_log2_ns'"
"$BPFTOOL" -j map dump pinned $PIN/live > "$TMP/live.json"
"$BPFTOOL" -j map dump pinned $PIN/stats > "$TMP/stats.json"
"$CTL" --json telemetry > "$TMP/ctl.json"
python3 - "$TMP" <<EOF || fail "bpftool -j dumps do not have the documented fields"
import json, sys
live, hashed, ctl = [json.load(open(sys.argv[1] + '/' + f + '.json')) for f in ('live', 'stats', 'ctl')]
tot = {}
for e in live:
    e = e['formatted']
    assert isinstance(e['key'], int), e['key']
    for c in e['values']:
        v = c['value']
        assert set(v) == {'key', 'stats'}, v.keys()
        k = v['key']; assert set(k) == {'model_id', 'version'}, k
        for f in ($F,): assert f in v['stats'], f
        if k['model_id']:
            kk = (k['model_id'], k['version'])
            tot[kk] = tot.get(kk, 0) + v['stats']['count']
for e in hashed:
    e = e['formatted']
    k = e['key']; assert set(k) == {'model_id', 'version'}, k
    for c in e['values']:
        for f in ($F,): assert f in c['value'], f
        kk = (k['model_id'], k['version'])
        tot[kk] = tot.get(kk, 0) + c['value']['count']
want = {(m['model_id'], m['version']): m['count'] for m in ctl['models']}
assert tot == want, (tot, want)
print('bpftool json ok', tot)
EOF
"$BPFTOOL" -j map dump pinned $PIN/power |
	py "v=d[0]['formatted']['value']; assert v['power_mw'] == $PW and v['energy_source'] == 'MCAI_ENERGY_SOURCE_MODEL', v; print('power map ok', v)" ||
	fail "power map"

# 3. the simulated sensor: maps count what the module completed, once
#    it is paused and drained (sim_pause: tests/vm/lib.sh)
"$CTL" load "$R/models/vib-detector.mcai" > /dev/null || fail "load detector"
"$CTL" load "$R/models/vib-classifier.mcai" > /dev/null || fail "load classifier"
sim_completed() {
	(( $(awk '$1 == "det_mcai_completed" { print $2 }' "$SIM_P/stats") >= $1 ))
}
if insmod "$SIM" rate=25600 fault=1; then
	wait_for 120 "10 simsensor windows computed" sim_completed 10 ||
		fail "simsensor: $(grep det_mcai_completed "$SIM_P/stats")"
	sim_pause || fail "simsensor did not go idle after run=0"
	for who in det cls; do
		comp=$(awk -v k="${who}_mcai_completed" '$1 == k { print $2 }' <<< "$SIM_STATS")
		[[ -n $comp ]] || continue
		name=vib-detector
		[[ $who == cls ]] && name=vib-classifier
		cnt=$(field "$(model_json $name)" count)
		echo "$N: simsensor $name: module completed $comp, telemetry $cnt"
		[[ $cnt == "$comp" ]] || fail "$name: telemetry $cnt != completed $comp"
	done
	rmmod mcai_simsensor || fail "rmmod simsensor"
else
	fail "insmod simsensor"
fi

# 4. feed the budget: the module now prices tel-ring with measured energy
j=$(model_json tel-ring)
want=$(py "print((d['energy_pj'] * 1000 + d['macs'] // 2) // d['macs'] or 1)" <<< "$j")
"$CTL" telemetry feed --export "$TMP/export.json" > /dev/null || fail "feed"
py "m=[x for x in d['models'] if x['name']=='tel-ring'][0]; assert m['count']==500; print('export ok')" \
	< "$TMP/export.json" || fail "exported figures"
[[ $(stat -c %a "$TMP/export.json") == 644 ]] || fail "export not world-readable"
s=$("$CTL" --json stats tel-ring)
got=$(py "print(d['scheduler']['mpj_per_mac'], d['scheduler']['energy_source'])" <<< "$s")
[[ $got == "$want model" ]] || fail "fed $got, want $want model"
echo "$N: budget of tel-ring now $want/1000 pJ per MAC (model)"

# 5. calibration from recorded readings: 8 J over 2 busy CPU-seconds,
#    across a counter wrap -> 4000 mW; with a 1 W idle floor -> 3500 mW
cat > "$TMP/rapl.txt" <<'EOF'
# t_ns busy_cpu_ns energy_uj:max_energy_range_uj
0 0 262140000000:262143328850
1000000000 2000000000 4671150:262143328850
EOF
c=$("$CTL" --json telemetry calibrate --samples "$TMP/rapl.txt" --idle-mw 1000 --dry-run)
[[ $(field "$c" power_mw) == 3500 ]] || fail "idle-floor calibration: $c"
c=$("$CTL" --json telemetry calibrate --samples "$TMP/rapl.txt") ||
	fail "calibrate"
[[ $(field "$c" power_mw) == 4000 ]] || fail "calibration: $c"
"$T" push tel-cal 200 > /dev/null || fail "ring push tel-cal"
j=$(model_json tel-cal)
py "assert d['count']==200 and d['energy_source']=='rapl-calibrated' and d['energy_pj']==d['cpu_ns']*4000, d; print('calibrated ok')" <<< "$j" ||
	fail "rapl-calibrated energy: $j"

# 6. detach/attach while inferences run: each period lasts until the
#    stream has run 1000 inferences in it (mcai's own counter), so that
#    attached periods count some and detached ones miss some however
#    slow the machine; cycling stops once the stream is over.
#    Attaching the first probe of a tracepoint, or a second one, patches
#    kernel text (static key, static call); under QEMU's multi-threaded
#    TCG another vCPU can then execute a stale translation of the site
#    being patched (an int3 oops seen on 6.12-rt, an emulator artefact).
#    Two ftrace instances hold two probes on every mcai event, so
#    attaching and detaching the programs below only edits the probe
#    arrays, which is what this step is about.
TR=/sys/kernel/tracing
[[ -d $TR/instances ]] || TR=/sys/kernel/debug/tracing
held=()
for inst in mcai-hold-1 mcai-hold-2; do
	if mkdir "$TR/instances/$inst" 2> /dev/null &&
	   echo 1 > "$TR/instances/$inst/events/mcai/enable"; then
		held+=("$inst")
	fi
done
((${#held[@]} == 2)) || echo "$N: note: ftrace instances unavailable, attach patches text"
INF=/sys/class/misc/mcai/inferences
streamed() {		# streamed N: N more inferences, or the stream is over
	(( $(cat "$INF") >= $1 )) || ! kill -0 "$pid" 2> /dev/null
}
"$T" push tel-live 300000 > "$TMP/live.out" 2>&1 &
pid=$!
cycles=0
for _ in 1 2 3; do
	wait_for 120 "1000 inferences attached" streamed $(($(cat $INF) + 1000)) ||
		fail "stream stuck at $(cat $INF) inferences"
	kill -0 $pid 2> /dev/null || break
	"$CTL" telemetry disable > /dev/null || fail "disable under load"
	wait_for 120 "1000 inferences detached" streamed $(($(cat $INF) + 1000)) ||
		fail "stream stuck at $(cat $INF) inferences"
	"$CTL" telemetry enable > /dev/null || fail "enable under load"
	cycles=$((cycles + 1))
done
wait $pid || fail "stream under detach/attach: $(cat "$TMP/live.out")"
for inst in "${held[@]}"; do
	echo 0 > "$TR/instances/$inst/events/mcai/enable"
	rmdir "$TR/instances/$inst"
done
cnt=$(field "$(model_json tel-live)" count)
echo "$N: tel-live: $cnt of 300000 counted across $cycles detach/attach cycles"
((cnt > 0 && cnt < 300000)) || fail "tel-live count $cnt (detached periods must miss some)"

# 7. rmmod: refused while attached, fine after disable; reload + enable
"$A" unload tel-sync > /dev/null
for m in tel-ring tel-cal tel-live tel-busy tel-swap tel-slot-a tel-slot-b \
	vib-detector vib-classifier; do
	"$CTL" unload $m > /dev/null 2>&1
done
if rmmod mcai 2> /dev/null; then
	fail "rmmod succeeded with telemetry attached"
	insmod "$KO"
fi
"$CTL" telemetry disable > /dev/null || fail "disable"
rmmod mcai || fail "rmmod after disable"
insmod "$KO" || fail "re-insmod"
# id 1 now belongs to another name: enable forgets the stale record
"$A" load tel-other 1 > /dev/null || fail "load tel-other"
"$CTL" telemetry enable > /dev/null || fail "enable after reload"
"$CTL" --json telemetry | py "
for m in d['models']:
    assert not (m['model_id'] == 1 and m['name'] not in ('tel-other',)), m
print('reload ok:', len(d['models']), 'records')
" || fail "stale record after reload"
"$A" infer tel-other 1 10 > /dev/null || fail "infer after reload"
[[ $(field "$(model_json tel-other)" count) == 10 ]] || fail "count after reload"

cleanup
((rc)) || echo "$N: all checks passed"
exit "$rc"
