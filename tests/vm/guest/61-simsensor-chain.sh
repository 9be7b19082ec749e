#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcai_simsensor.ko attached to a chain pipeline (pipeline=1): the cheap
# vib-detector gates vib-classifier (MCAI_PIPE_CHAIN, fire_class 1).  The
# pipeline lives as long as the file that created it, so a small python3
# helper creates it on /dev/mcai and holds the fd while the sensor runs.
#  - fault=0: nearly every window is gated (answered by the detector);
#  - fault=2: the gate opens and the classifier says inner race on >= 80%;
#  - counters add up: submitted = completed + dropped + shed;
#  - rmmod, then the pipeline's file closes, then everything unloads.
# Exit 0 pass, 1 fail, 77 skip (no python3 or no pipeline support).
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
P=/sys/module/mcai_simsensor/parameters
N=61-simsensor-chain
command -v python3 >/dev/null || { echo "$N: no python3"; exit 77; }

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}
for f in "$KO" "$SIM" "$CTL" "$R/models/vib-detector.mcai" \
	 "$R/models/vib-classifier.mcai"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
snap() { cat "$P/stats"; }
val() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }

grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod mcai"; exit 1; }
"$CTL" load "$R/models/vib-detector.mcai" >/dev/null || fail "load vib-detector"
"$CTL" load "$R/models/vib-classifier.mcai" >/dev/null || fail "load vib-classifier"
json=$("$CTL" --json list)
id_of() {
	# the "id" that precedes "name": "$1" in mcaictl's JSON
	tr -d '\n ' <<<"$json" | grep -o "\"id\":[0-9]*,\"name\":\"$1\"" |
		sed 's/"id":\([0-9]*\),.*/\1/'
}
det=$(id_of vib-detector)
cls=$(id_of vib-classifier)
[[ $det && $cls ]] || fail "model ids not found in: $json"

tmp=$(mktemp -d)
# struct mcai_pipeline_create (uapi/mcai.h): 112 bytes
python3 - "$det" "$cls" "$tmp/ready" <<'EOF' &
import fcntl, os, struct, sys, time
det, cls, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
fmt = "<II32sII8I8Hiiii"
size = struct.calcsize(fmt)
req = (3 << 30) | (size << 16) | (0xE9 << 8) | 0x13
buf = bytearray(struct.pack(fmt, size, 0, b"vib-chain", 1, 2,
                            det, cls, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 0, 1, -129, 0, 0))
fd = os.open("/dev/mcai", os.O_RDWR)
try:
    fcntl.ioctl(fd, req, buf)
except OSError as e:
    open(ready, "w").write("error %d\n" % e.errno)
    sys.exit(1)
open(ready, "w").write("ok\n")
while not os.path.exists(ready + ".done"):
    time.sleep(0.1)
os.close(fd)
EOF
py=$!
for ((i = 0; i < 100; i++)); do
	[[ -s $tmp/ready ]] && break
	sleep 0.1
done
if [[ $(cat "$tmp/ready" 2>/dev/null) != ok ]]; then
	echo "$N: pipeline create: $(cat "$tmp/ready" 2>/dev/null)"
	touch "$tmp/ready.done"
	wait $py
	"$CTL" unload vib-classifier >/dev/null
	"$CTL" unload vib-detector >/dev/null
	rmmod mcai
	rm -rf "$tmp"
	exit 77
fi

if insmod "$SIM" rate=25600 model=vib-chain pipeline=1 fault=0; then
	sleep 2
	for f in 0 2; do
		echo $f >"$P/fault"
		sleep 2		# past the mixed windows
		a=$(snap)
		sleep 6
		b=$(snap)
		r=$(( $(val "$b" det_results) - $(val "$a" det_results) ))
		g=$(( $(val "$b" det_mcai_gated) - $(val "$a" det_mcai_gated) ))
		c=$(( $(val "$b" det_class$f) - $(val "$a" det_class$f) ))
		echo "$N: fault=$f: $r results, $g gated, class $f on $c"
		(( r >= 10 )) || fail "fault=$f: only $r results"
		if ((f == 0)); then
			(( g * 10 >= r * 9 )) || fail "fault=0: only $g/$r gated"
		else
			(( g * 10 <= r )) || fail "fault=2: $g/$r gated"
		fi
		(( c * 10 >= r * 8 )) || fail "fault=$f: class $f on $c/$r"
	done
	echo 0 >"$P/run"
	sleep 2
	b=$(snap)
	s=$(val "$b" det_mcai_submitted); c=$(val "$b" det_mcai_completed)
	d=$(val "$b" det_mcai_dropped); h=$(val "$b" det_mcai_shed)
	echo "$N: submitted $s completed $c dropped $d shed $h"
	(( s == c + d + h )) || fail "submitted $s != completed $c + dropped $d + shed $h"
	rmmod mcai_simsensor || fail "rmmod mcai_simsensor"
else
	fail "insmod mcai_simsensor model=vib-chain pipeline=1"
fi
touch "$tmp/ready.done"
wait $py || fail "pipeline helper"
rm -rf "$tmp"
"$CTL" unload vib-classifier >/dev/null || fail "unload vib-classifier"
"$CTL" unload vib-detector >/dev/null || fail "unload vib-detector"
rmmod mcai || fail "rmmod mcai"
((rc)) || echo "$N: all checks passed"
exit "$rc"
