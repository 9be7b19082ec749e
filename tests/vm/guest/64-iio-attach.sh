#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Any IIO device into a model, inside the kernel (kmod/iio.c, mcai_iio.ko;
# `mcaictl attach`), with mcai_simsensor's IIO device as the device (its
# own attachment pointed at a name nothing loads, so only mcai_iio feeds
# vib-detector):
#  - attach iio:deviceN, 3 channels x 14 scans = vib-detector's 42
#    inputs: bound (mcaictl list shows driver mcai_iio), windows go in
#    and results come back;
#  - --window 10 (30 inputs) is refused (EMSGSIZE), nothing runs;
#  - a hot swap of the model while attached keeps it bound and running;
#    unload sends it to waiting, reload binds it again;
#  - detach; bad devices and arguments are refused;
#  - rmmod of the sensor driver while attached: clean (the IIO core takes
#    the buffer off the device), then rmmod of its buffer's module
#    (kfifo_buf) while the attachment is still there, and the attachment
#    detaches afterwards;
#  - rmmod mcai_iio with an attachment left detaches it.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
CTL=$R/build/mcaictl
PY=/usr/bin/python3
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
IIO=$(mcai_ko mcai_iio)
P=/sys/module/mcai_simsensor/parameters
L=/sys/module/mcai_iio/parameters/list
N=64-iio-attach
DET=$R/models/vib-detector.mcai

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

for f in "$KO" "$SIM" "$IIO" "$CTL" "$PY" "$DET"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
tmp=$(mktemp -d)
"$PY" - "$DET" "$tmp/det2.mcai" <<'PYEOF'
import hashlib, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<I', b, 48, 2)
b[-32:] = hashlib.sha256(b[:-32]).digest()
open(sys.argv[2], 'wb').write(b)
PYEOF

for m in mcai_iio mcai_simsensor mcai; do
	grep -q "^$m " /proc/modules && rmmod $m
done
insmod "$KO" || { echo "$N: FAIL: insmod mcai"; exit 1; }
"$CTL" load "$DET" >/dev/null || fail "load vib-detector"
insmod "$SIM" rate=3200 model=nothing-loads-this || fail "insmod mcai_simsensor"
insmod "$IIO" || fail "insmod mcai_iio"
id=$(awk '$1 == "iio_device" { print $2 }' "$P/stats")
DEV=iio:device$id

# lfield ID NAME: a counter of attachment ID in mcai_iio's list
lfield() {
	awk -v id="$1" -v k="$2" '$1 == id { for (i = 4; i < NF; i++) if ($i == k) print $(i + 1) }' "$L"
}
at_least() { local v; v=$(lfield "$1" "$2"); (( ${v:-0} >= $3 )); }
# att_state: the state mcaictl list --json gives mcai_iio's attachment
att_state() {
	"$CTL" --json list | "$PY" -c '
import json, sys
print(" ".join(a["state"] for a in json.load(sys.stdin)["attachments"] if a["driver"] == "mcai_iio"))'
}
state_is() { [[ $(att_state) == "$1" ]]; }

# 1. attach and run
"$CTL" attach "$DEV" --model vib-detector --window 14 --shift 4 || fail "mcaictl attach"
a=$(awk 'END { print $1 }' "$L")
sed "s/^/$N: list: /" "$L"
state_is bound || fail "state $(att_state), want bound"
wait_for 120 "10 results through $DEV" at_least "$a" completed 10 ||
	fail "completed $(lfield "$a" completed), scans $(lfield "$a" scans)"
"$CTL" list | grep -q 'mcai_iio .*vib-detector .*bound' || fail "mcaictl list does not show mcai_iio bound"

# 2. the wrong size is refused
"$CTL" attach "$DEV" --model vib-detector --window 10 || fail "attach --window 10"
b=$(awk 'END { print $1 }' "$L")
[[ $(att_state) == "bound refused" ]] || fail "states $(att_state), want bound refused"
wait_for 120 "scans into the refused attachment" at_least "$b" scans 100 || fail "no scans"
[[ $(lfield "$b" completed) == 0 ]] || fail "the refused attachment completed $(lfield "$b" completed)"
"$CTL" detach "$b" || fail "detach $b"

# 3. swap, unload, reload while attached
"$CTL" load "$tmp/det2.mcai" >/dev/null || fail "swap to version 2"
c=$(lfield "$a" completed)
wait_for 120 "5 more results after the swap" at_least "$a" completed $((c + 5)) || fail "stopped after the swap"
state_is bound || fail "after the swap: $(att_state)"
"$CTL" unload vib-detector >/dev/null || fail "unload"
state_is waiting || fail "after unload: $(att_state)"
"$CTL" load "$DET" >/dev/null || fail "reload"
state_is bound || fail "after reload: $(att_state)"
c=$(lfield "$a" completed)
wait_for 120 "5 more results after reload" at_least "$a" completed $((c + 5)) || fail "stopped after reload"

# 4. detach; bad requests
"$CTL" detach "$a" || fail "detach $a"
[[ -n $(cat "$L") ]] && fail "attachments left: $(cat "$L")"
"$CTL" attach iio:device99 --model vib-detector 2>/dev/null && fail "attach to a missing device"
"$CTL" attach "$DEV" --model vib-detector --channels 2,1 2>/dev/null && fail "decreasing channels accepted"
"$CTL" attach "$DEV" --model vib-detector --channels 7 2>/dev/null && fail "channel 7 accepted"
"$CTL" detach 12345 2>/dev/null && fail "detach of a missing id"
[[ -n $(cat "$L") ]] && fail "a refused attach left: $(cat "$L")"

# 5. the sensor driver goes away while attached
"$CTL" attach "$DEV" --model vib-detector --window 14 --stride 7 --shift 4 || fail "attach again"
a=$(awk 'END { print $1 }' "$L")
wait_for 120 "5 results" at_least "$a" completed 5 || fail "completed $(lfield "$a" completed)"
rmmod mcai_simsensor || fail "rmmod mcai_simsensor while attached"
[[ -e /sys/bus/iio/devices/$DEV ]] && fail "$DEV still there after rmmod"
# ... and then the module of its buffer (kfifo_buf): the device's last
# reference must not outlive the code that releases its buffers
if grep -q '^kfifo_buf ' /proc/modules; then
	rmmod kfifo_buf || fail "rmmod kfifo_buf after the sensor, attached"
else
	echo "$N: kfifo_buf is not a module here: that unload order not tried"
fi
lfield "$a" completed >/dev/null || fail "list unreadable after the device went"
"$CTL" list >/dev/null || fail "mcaictl list after the device went"
"$CTL" detach "$a" || fail "detach after the device went"
SIM=$(mcai_ko mcai_simsensor)	# loads kfifo_buf again

# 6. rmmod mcai_iio with an attachment
insmod "$SIM" rate=3200 model=nothing-loads-this || fail "insmod mcai_simsensor again"
id=$(awk '$1 == "iio_device" { print $2 }' "$P/stats")
"$CTL" attach "iio:device$id" --model vib-detector --window 14 --shift 4 || fail "attach to the new device"
a=$(awk 'END { print $1 }' "$L")
wait_for 120 "5 results" at_least "$a" completed 5 || fail "completed $(lfield "$a" completed)"
rmmod mcai_iio || fail "rmmod mcai_iio with an attachment"
n=$("$CTL" list | grep -c mcai_iio)
(( n == 0 )) || fail "$n mcai_iio attachments left"
rmmod mcai_simsensor || fail "rmmod mcai_simsensor"
"$CTL" unload vib-detector >/dev/null || fail "unload vib-detector"
rm -rf "$tmp"
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod mcai"
((rc)) || echo "$N: all checks passed"
exit "$rc"
