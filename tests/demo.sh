#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`, run inside the guest (tests/vm/matrix.sh): the whole story
# in five steps, each with a caption, then a summary table.
#   1. mcai.ko and its models, one of them a PyTorch CNN imported from
#      ONNX (imported on the host by `make demo` into build/demo/);
#   2. mcai_simsensor feeding the vib-detector -> vib-classifier chain in
#      the kernel; a fault injected; mcaid's drift alert as it reaches a
#      mosquitto broker (mosquitto_sub prints it) and the fault's class;
#   3. the eBPF telemetry of those inferences, read with bpftool: latency
#      and energy per inference (modelled or RAPL-calibrated);
#   4. a fleet of 3 mcaid nodes and an aggregator federating 3 rounds
#      (tests/demo/fleet.sh), each signed version hot-swapped into the
#      running kernel under traffic, nothing dropped;
#   5. the summary.
# Exits non-zero at the first step that fails; the last line is
# "demo: PASS ..." or "demo: FAIL ...".  Escape codes only on a terminal.
set -u
[[ ${MCAI_VM:-} ]] || { echo "demo: run by make demo, inside the guest"; exit 1; }
R=${MCAI_ROOT:?run by make demo}
. "$R/tests/vm/lib.sh"
CTL=$R/build/mcaictl
MCAID=$R/build/mcaid
SIM=$(mcai_ko mcai_simsensor)
SP=/sys/module/mcai_simsensor/parameters
PIN=/sys/fs/bpf/mcai
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
DATA=/usr/share/datasets/fashion-mnist
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
LABELS=$DATA/t10k-labels-idx1-ubyte.gz
CNN=$R/build/demo/fmnist-cnn.mcai
NAMES=(T-shirt/top Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag "Ankle boot")
VIB=(healthy imbalance "inner race" "outer race")
N=demo
TMP=$(mktemp -d)
chmod 755 "$TMP"
PIDS=()
T0=$(uptime_s)

# The guest's stdout is its serial console, a terminal whatever the
# host's is: tests/demo/run.sh leaves build/demo/tty when the host's is.
if [[ -e $R/build/demo/tty ]]; then
	BOLD=$'\033[1m' RED=$'\033[31m' OFF=$'\033[0m'
else
	BOLD='' RED='' OFF=''
fi
STEP=0
ROWS=()
step() {
	STEP=$((STEP + 1))
	TS=$(uptime_s)
	printf '\n%s== %d. %s%s\n' "$BOLD" "$STEP" "$1" "$OFF"
	shift
	local l
	for l in "$@"; do printf '   %s\n' "$l"; done
	echo
}
# row WHAT FIGURES WHERE: a line of the closing table
row() { ROWS+=("$1 ($(($(uptime_s) - TS)) s)|$2|$3"); }
summary() {
	printf '\n%s== summary (%d s in the guest)%s\n' "$BOLD" \
		$(($(uptime_s) - T0)) "$OFF"
	printf '  %-30s %-66s %s\n' "step" "figures" "look next"
	local r w f l
	for r in "${ROWS[@]}"; do
		IFS='|' read -r w f l <<<"$r"
		printf '  %-30s %-66s %s\n' "$w" "$f" "$l"
	done
}
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[[ -e $TMP/ready ]] && touch "$TMP/ready.done"
	"$CTL" telemetry disable --purge >/dev/null 2>&1
	grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
	for m in fmnist fmnist-mlp fmnist-cnn vib-classifier vib-detector; do
		"$CTL" unload "$m" >/dev/null 2>&1
	done
	grep -q '^mcai ' /proc/modules && rmmod mcai
	rm -rf "$TMP"
}
trap cleanup EXIT
die() {
	printf '%sdemo: step %d failed: %s%s\n' "$RED" "$STEP" "$*" "$OFF"
	summary
	echo "demo: FAIL (step $STEP)"
	exit 1
}
val() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
snap() { cat "$SP/stats"; }
after() {		# after SNAPSHOT COUNTER N
	local v
	v=$(val "$(snap)" "$2")
	(( ${v:-0} >= $(val "$1" "$2") + $3 ))
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b ? 100 * a / b : 0 }'; }

for f in "$MCAI_KO" "$SIM" "$CTL" "$MCAID" "$CNN" "$BPFTOOL" "$MOSQ" \
	 /usr/bin/mosquitto_sub "$R/models/vib-detector.mcai" \
	 "$R/models/vib-classifier.mcai" "$IMAGES" "$R/build/demo/pki/ca.crt"; do
	[[ -e $f ]] || die "missing $f (make demo builds and imports what it needs)"
done
grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# ---------------------------------------------------------------------
step "mcai.ko and its models" \
	"mcai.ko runs int8 models inside the kernel, behind /dev/mcai and an" \
	"in-kernel API for drivers.  Models are signed blobs; one below is a" \
	"PyTorch CNN exported to ONNX and imported with \`mcaictl import\`."
insmod "$MCAI_KO" || die "insmod mcai.ko"
echo "\$ insmod mcai.ko    ($(uname -r))"
"$CTL" info | sed 's/^/  /'
for m in "$R/models/fmnist-mlp.mcai" "$CNN" "$R/models/vib-detector.mcai" \
	 "$R/models/vib-classifier.mcai"; do
	echo "\$ mcaictl load ${m#"$R"/}"
	"$CTL" load "$m" >/dev/null || die "mcaictl load $m"
done
"$CTL" list | sed 's/^/  /'
echo
echo "\$ mcaictl infer fmnist-cnn t10k-images -n 8    (the imported CNN, in the kernel)"
"$CTL" infer fmnist-cnn "$IMAGES" --labels "$LABELS" -n 8 >"$TMP/cnn8" ||
	die "infer fmnist-cnn"
awk -v names="$(IFS=,; echo "${NAMES[*]}")" '
	BEGIN { split(names, cls, ",") }
	NF >= 4 && $1 ~ /^[0-9]+$/ && $2 ~ /^-?[0-9]+$/ {
		printf "  image %d: %-12s (label %-12s) %s\n", $1,
		       cls[$2 + 1], cls[$3 + 1], $2 == $3 ? "ok" : "miss"
	}' "$TMP/cnn8"
accs=
for m in fmnist-mlp fmnist-cnn; do
	# the CNN costs 12 times the MLP's MACs: fewer images
	n=1000
	[[ $m == fmnist-cnn ]] && n=200
	out=$("$CTL" infer -q -n $n "$m" "$IMAGES" --labels "$LABELS") ||
		die "infer $m"
	echo "  $out"
	a=$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' <<<"$out")
	accs+="${accs:+, }$m $a %"
done
row "1 modules and models" "4 models; accuracy $accs" "models/README.md"

# ---------------------------------------------------------------------
step "a vibration sensor feeding a chain of models, in the kernel" \
	"mcai_simsensor.ko simulates an accelerometer on a rotating machine." \
	"Each window goes to a cheap detector; only when it says \"anomaly\"" \
	"does the kernel run the classifier.  The eBPF telemetry is on from here."
out=$("$CTL" telemetry enable 2>&1) || die "telemetry enable: $out"
echo "\$ mcaictl telemetry enable"
sed 's/^/  /' <<<"$out"
json=$("$CTL" --json list)
id_of() {
	tr -d '\n ' <<<"$json" | grep -o "\"id\":[0-9]*,\"name\":\"$1\"" |
		sed 's/"id":\([0-9]*\),.*/\1/'
}
det=$(id_of vib-detector) cls=$(id_of vib-classifier)
[[ $det && $cls ]] || die "model ids not found in: $json"
# The chain lives as long as the file that made it: tests/vm/pipe-hold.py
# makes it and holds the fd.
python3 "$R/tests/vm/pipe-hold.py" "$det" "$cls" "$TMP/ready" &
HELPER=$!
PIDS+=("$HELPER")
answered() { [[ -s $TMP/ready ]]; }
wait_for 120 "the chain's helper" answered || die "no chain"
[[ $(cat "$TMP/ready") == ok ]] || die "pipeline create: $(cat "$TMP/ready")"
echo "chain vib-chain: vib-detector (id $det) -> vib-classifier (id $cls) when the detector says 1"
insmod "$SIM" rate=25600 model=vib-chain pipeline=1 fault=0 ||
	die "insmod mcai_simsensor"
echo "\$ insmod mcai_simsensor.ko rate=25600 model=vib-chain pipeline=1 fault=0"
a=$(snap)
wait_for 120 "40 results of the healthy machine" after "$a" det_results 40 ||
	die "the sensor produced no results"
b=$(snap)
r=$(( $(val "$b" det_results) - $(val "$a" det_results) ))
g=$(( $(val "$b" det_mcai_gated) - $(val "$a" det_mcai_gated) ))
echo "  healthy machine: $r windows, $g stopped at the detector ($(pct $g $r) %): the classifier mostly sleeps"
((g * 10 >= r * 8)) || die "only $g of $r healthy windows gated"
healthy="$(pct $g $r) % gated"

# mcaid watches the detector's input statistics against a baseline of
# the healthy machine and publishes an alert when they drift.
"$CTL" stats --baseline-out "$TMP/vib-detector.baseline" vib-detector >/dev/null ||
	die "stats --baseline-out"
"$CTL" stats --reset vib-detector >/dev/null || die "stats --reset"
# the sensor rests while the broker and mcaid start (one emulated CPU)
echo 0 >"$SP/run"
port=18840
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\nlog_dest file %s\nlog_type all\n' \
	$port "$TMP/broker.log" >"$TMP/broker.conf"
"$MOSQ" -c "$TMP/broker.conf" >/dev/null 2>&1 &
PIDS+=("$!")
listening() { ss -Htln "sport = :$port" | grep -q .; }
wait_for 30 "mosquitto to listen" listening || die "no broker"
mosquitto_sub -h 127.0.0.1 -p $port -i demo-sub -q 1 -v -t 'mcai/+/+/alert' \
	-C 1 -W 300 >"$TMP/alert" 2>"$TMP/sub.err" &
SUB=$!
PIDS+=("$SUB")
subscribed() { grep -q "Sending SUBACK to demo-sub" "$TMP/broker.log" 2>/dev/null; }
wait_for 30 "the subscriber" subscribed || die "mosquitto_sub did not subscribe"
echo "\$ mosquitto -p $port & mosquitto_sub -t 'mcai/+/+/alert' &"
# the test PKI (tests/fed/mkcerts.sh), made on the host by make demo
PKI=$R/build/demo/pki
mkdir -p "$TMP/samples" "$TMP/hist"
id mcai >/dev/null 2>&1 && chown mcai "$TMP/samples" "$TMP/hist"
cat >"$TMP/node.conf" <<EOC
role = node
node_id = press-7
log_level = debug
model = vib-detector
network.upstream = 127.0.0.1:18841
tls.cert = $PKI/node1.crt
tls.key = $PKI/node1.key
tls.ca = $PKI/ca.crt
data.samples = samples
provenance.history = hist
provenance.allow_unsigned = yes
mqtt.broker = 127.0.0.1:$port
drift.baseline = vib-detector.baseline
drift.threshold = 1.0
drift.interval_s = 1
drift.min_samples = 20
EOC
"$MCAID" --config "$TMP/node.conf" --telemetry off >"$TMP/mcaid.log" 2>&1 &
M=$!
PIDS+=("$M")
connected() { grep -q "mqtt: connected to 127.0.0.1:$port" "$TMP/mcaid.log"; }
wait_for 60 "mcaid to connect to the broker" connected ||
	die "mcaid not connected: $(tail -n 3 "$TMP/mcaid.log")"
echo 1 >"$SP/run"
compared() { grep -q "drift: vib-detector score" "$TMP/mcaid.log"; }
wait_for 120 "mcaid's first drift comparison" compared ||
	die "mcaid compared nothing: $(tail -n 3 "$TMP/mcaid.log")"
echo "\$ mcaid --config node.conf    (node press-7: drift watch on vib-detector, MQTT to the broker)"
grep -o "drift: vib-detector score.*" "$TMP/mcaid.log" | head -n 1 | sed 's/^/  mcaid: /'

echo
echo "\$ echo 2 > /sys/module/mcai_simsensor/parameters/fault    (an inner-race bearing fault)"
echo 2 >"$SP/fault"
a=$(snap)
wait_for 120 "2 windows after the fault" after "$a" windows 2 || die "sensor stuck"
a=$(snap)
wait_for 300 "40 results with the fault" after "$a" det_results 40 ||
	die "no results with the fault"
b=$(snap)
r=$(( $(val "$b" det_results) - $(val "$a" det_results) ))
g=$(( $(val "$b" det_mcai_gated) - $(val "$a" det_mcai_gated) ))
best=0 bestn=-1
for c in 0 1 2 3; do
	n=$(( $(val "$b" det_class$c) - $(val "$a" det_class$c) ))
	((n > bestn)) && best=$c bestn=$n
done
echo "  faulty machine: $r windows, $((r - g)) passed the detector to the classifier"
echo "  class: ${VIB[best]} on $bestn of $r windows ($(pct $bestn $r) %)"
((best == 2 && bestn * 10 >= r * 8)) || die "the classifier said ${VIB[best]} on $bestn/$r"
wait "$SUB" || die "no alert reached the broker: $(tail -n 3 "$TMP/mcaid.log")"
echo "  the alert, as mosquitto_sub received it:"
sed 's/^/    /' "$TMP/alert"
grep -q '^mcai/press-7/vib-detector/alert {"node":"press-7","model":"vib-detector","kind":"drift",' \
	"$TMP/alert" || die "unexpected alert: $(cat "$TMP/alert")"
score=$(sed -n 's/.*"score":\([0-9.]*\).*/\1/p' "$TMP/alert")
kill -TERM "$M"
wait "$M" || die "mcaid exited $? after SIGTERM"
sim_pause || die "the sensor did not go idle"
s=$(val "$SIM_STATS" det_mcai_submitted) c=$(val "$SIM_STATS" det_mcai_completed)
d=$(val "$SIM_STATS" det_mcai_dropped) h=$(val "$SIM_STATS" det_mcai_shed)
echo "  sensor counters: submitted $s, completed $c, dropped $d, shed $h"
((s == c + d + h)) || die "counters do not add up"
row "2 sensor chain, fault" "healthy $healthy; fault: ${VIB[best]} $(pct $bestn $r) %; alert score $score" \
	"kmod/README.md, tests/ops/"

# ---------------------------------------------------------------------
step "eBPF telemetry of those inferences, read with bpftool" \
	"Programs on the module's tracepoints count every inference per model" \
	"version into pinned maps: latency, CPU time and energy (CPU time x a" \
	"power table: \"modelled\"; \`mcaictl telemetry calibrate\` switches to RAPL)."
echo "\$ bpftool map show pinned $PIN/live"
"$BPFTOOL" map show pinned $PIN/live | sed 's/^/  /' || die "bpftool map show"
echo "\$ bpftool -j map dump pinned $PIN/live; bpftool -j map dump pinned $PIN/stats"
"$BPFTOOL" -j map dump pinned $PIN/live >"$TMP/live.json" || die "bpftool dump live"
"$BPFTOOL" -j map dump pinned $PIN/stats >"$TMP/stats.json" || die "bpftool dump stats"
"$CTL" --json list >"$TMP/list.json"
python3 - "$TMP" >"$TMP/tel" <<'PY' || die "bpftool dumps: $(cat "$TMP/tel")"
import json, sys
d = sys.argv[1]
live, hashed, lst = (json.load(open(d + '/' + f + '.json'))
                     for f in ('live', 'stats', 'list'))
names = {m['id']: m['name'] for m in (lst['models'] if isinstance(lst, dict) else lst)}
acc = {}
def add(k, s):
    if not k['model_id']:
        return
    a = acc.setdefault((k['model_id'], k['version']),
                       dict(count=0, lat=0, mx=0, cpu=0, pj=0, src=set()))
    a['count'] += s['count']
    a['lat'] += s['latency_total_ns']
    a['mx'] = max(a['mx'], s['latency_max_ns'])
    a['cpu'] += s['cpu_ns']
    a['pj'] += s['energy_uj'] * 10**6 + s['energy_pj_rem']
    if s['count']:
        a['src'].add(str(s['energy_source']))
for e in live:
    for c in e['formatted']['values']:
        add(c['value']['key'], c['value']['stats'])
for e in hashed:
    for c in e['formatted']['values']:
        add(e['formatted']['key'], c['value'])
label = {'MCAI_ENERGY_SOURCE_MODEL': 'modelled', '1': 'modelled',
         'MCAI_ENERGY_SOURCE_RAPL_CALIBRATED': 'RAPL', '2': 'RAPL',
         'MCAI_ENERGY_SOURCE_NONE': 'none', '0': 'none'}
print('  %-16s %3s %7s %11s %10s %10s %12s  %s' % ('model', 'ver', 'count',
      'mean us', 'max us', 'cpu us', 'uJ/infer', 'energy'))
tot = 0
for (mid, ver), a in sorted(acc.items()):
    n = a['count']
    if not n:
        continue
    tot += n
    src = ','.join(sorted(label.get(s, s) for s in a['src']))
    print('  %-16s %3d %7d %11.1f %10.1f %10.1f %12.3f  %s' % (
        names.get(mid, str(mid)), ver, n, a['lat'] / n / 1e3, a['mx'] / 1e3,
        a['cpu'] / n / 1e3, a['pj'] / n / 1e6, src))
assert tot > 0, 'no inference counted'
PY
cat "$TMP/tel"
echo "\$ mcaictl telemetry hist vib-detector    (the same maps, through mcaictl)"
# the log2 buckets that hold something
"$CTL" telemetry hist vib-detector 2>&1 |
	awk -F: 'NF < 2 || $1 !~ /->/ || $2 !~ /^ *0 /' | sed 's/^/  /'

det_line=$(awk '$1 == "vib-detector"' "$TMP/tel" | head -n 1)
[[ $det_line ]] || die "no telemetry for vib-detector"
read -r _ _ tn tl _ _ te tsrc <<<"$det_line"
row "3 eBPF telemetry" "vib-detector: $tn inferences, $tl us mean, $te uJ each ($tsrc)" \
	"bpf/README.md, mcaictl telemetry"

# ---------------------------------------------------------------------
step "a fleet learns, and the kernel takes each new version live" \
	"An aggregator and 3 nodes (mcaid, mutual TLS over loopback) federate" \
	"rounds of the Fashion-MNIST model.  The aggregator signs each version" \
	"(Ed25519); each node checks it and swaps it into the running kernel" \
	"while a client keeps classifying through it."
rmmod mcai_simsensor || die "rmmod mcai_simsensor"
MCAID=$MCAID DEMO_NODES=3 DEMO_ROUNDS=3 bash "$R/tests/demo/fleet.sh" 2>&1 |
	tee "$TMP/fleet.out" | grep --line-buffered -v '^DEMO-FLEET '
frc=${PIPESTATUS[0]}
((frc == 0)) || die "the fleet step failed"
f=$(sed -n 's/^DEMO-FLEET //p' "$TMP/fleet.out")
row "4 fleet + hot swap" "$f" "runtime/fed/README.md, tests/fed/"

# ---------------------------------------------------------------------
"$CTL" telemetry disable --purge >/dev/null || die "telemetry disable"
# the chain goes with the file its helper holds
touch "$TMP/ready.done"
wait "$HELPER" || die "the chain's helper exited $?"
for m in fmnist fmnist-mlp fmnist-cnn vib-classifier vib-detector; do
	"$CTL" unload "$m" >/dev/null || die "unload $m"
done
live_zero "after the demo" || die "module objects left behind"
rmmod mcai || die "rmmod mcai"
trap - EXIT
cleanup
summary
echo "  more: README.md (the map), tests/README.md (every test), the pictures: README.md"
echo "demo: PASS ($STEP steps and this summary, $(($(uptime_s) - T0)) s in the guest)"
