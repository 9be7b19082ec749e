#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Deferred binding (kmod/mcai_driver.h): a driver attaches to a name that
# does not exist yet.
#  - mcai_simsensor loads before any model: insmod succeeds, both of its
#    attachments wait (its stats and `mcaictl list` say so), and every
#    window sent meanwhile is counted as submitted and dropped, none
#    queued or answered;
#  - nobody cannot load a model of that name (EPERM): the driver still
#    waits; nobody can list the attachments;
#  - root loads vib-detector: the detector's attachment binds and results
#    flow, the other (fmnist-mlp: 784 inputs, the sensor's samples are 42)
#    is refused when that model appears (EMSGSIZE) and gets nothing;
#  - a hot swap (version + 1) keeps the binding (binds stays 1); a swap
#    to another shape under the same name sends it to refused, a swap
#    back binds it again;
#  - unload: back to waiting, and from then on nothing completes; reload
#    binds again; paused, submitted = completed + dropped + shed and
#    windows = committed + refused;
#  - rmmod of the sensor while bound and while waiting, then live_zero.
# Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
CTL=$R/build/mcaictl
PY=/usr/bin/python3
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
SIM=$(mcai_ko mcai_simsensor)
P=/sys/module/mcai_simsensor/parameters
N=62-deferred
DET=$R/models/vib-detector.mcai

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

for f in "$KO" "$SIM" "$CTL" "$PY" "$DET" "$R/models/fmnist-mlp.mcai"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
tmp=$(mktemp -d)
chmod 0755 "$tmp"

# reseal SRC OUT VERSION NAME: a copy with a new version and name
reseal() {
	"$PY" - "$1" "$2" "$3" "$4" <<'PYEOF'
import hashlib, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<I', b, 48, int(sys.argv[3]))
name = sys.argv[4].encode()
b[16:48] = name + bytes(32 - len(name))
b[-32:] = hashlib.sha256(b[:-32]).digest()
open(sys.argv[2], 'wb').write(b)
PYEOF
}
reseal "$DET" "$tmp/det2.mcai" 2 vib-detector
reseal "$R/models/fmnist-mlp.mcai" "$tmp/odd.mcai" 3 vib-detector
reseal "$DET" "$tmp/det4.mcai" 4 vib-detector

stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$P/stats"; }
state_is() { [[ $(stat_of "$1") == "$2" ]]; }
at_least() { local v; v=$(stat_of "$1"); (( ${v:-0} >= $2 )); }
# att FIELD NAME: a field of the attachment to NAME, from mcaictl --json list
att() {
	"$CTL" --json list | "$PY" -c '
import json, sys
for a in json.load(sys.stdin)["attachments"]:
    if a["name"] == sys.argv[2]:
        print(a[sys.argv[1]])' "$1" "$2"
}
att_is() { [[ $(att "$1" "$2") == "$3" ]]; }
wait_windows() {
	local want=$(( $(stat_of windows) + $1 ))

	wait_for 120 "$want windows" at_least windows "$want" ||
		fail "windows stuck at $(stat_of windows), wanted $want"
}

grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod mcai"; exit 1; }

# 1. the sensor first
if ! insmod "$SIM" rate=25600 classifier=fmnist-mlp; then
	fail "insmod mcai_simsensor before its model"
	rmmod mcai
	exit 1
fi
state_is det_state waiting || fail "det_state $(stat_of det_state), want waiting"
state_is cls_state waiting || fail "cls_state $(stat_of cls_state), want waiting"
wait_windows 4
# one read of the stats file: both counters from the same instant
b=$(cat "$P/stats")
s=$(awk '$1 == "det_mcai_submitted" { print $2 }' <<<"$b")
d=$(awk '$1 == "det_mcai_dropped" { print $2 }' <<<"$b")
(( s >= 4 && s == d )) || fail "waiting: submitted $s dropped $d"
[[ $(stat_of det_results) == 0 ]] || fail "results while waiting: $(stat_of det_results)"
"$CTL" list >"$tmp/list" || fail "mcaictl list"
sed "s/^/$N: list: /" "$tmp/list"
grep -q 'mcai_simsensor .*vib-detector .*waiting' "$tmp/list" ||
	fail "mcaictl list does not show the waiting attachment"
n=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" list | grep -c 'mcai_simsensor')
(( n == 2 )) || fail "nobody sees $n attachments, want 2"

# 2. nobody cannot make the name exist
if setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" load "$DET" >/dev/null 2>&1; then
	fail "nobody loaded vib-detector"
fi
state_is det_state waiting || fail "after nobody's load: det_state $(stat_of det_state)"

# 3. root loads it: bound; the 784-input model is refused
"$CTL" load "$DET" >/dev/null || fail "load vib-detector"
wait_for 60 "det_state bound" state_is det_state bound || fail "det_state $(stat_of det_state)"
wait_for 120 "5 detector results" at_least det_results 5 ||
	fail "det_results $(stat_of det_results)"
"$CTL" show vib-detector | grep -q 'mcai_simsensor .*bound' ||
	fail "mcaictl show vib-detector does not show the bound driver"
"$CTL" load "$R/models/fmnist-mlp.mcai" >/dev/null || fail "load fmnist-mlp"
wait_for 60 "cls_state refused" state_is cls_state refused || fail "cls_state $(stat_of cls_state)"
[[ $(att error fmnist-mlp) == -90 ]] || fail "fmnist-mlp attachment error $(att error fmnist-mlp), want -EMSGSIZE"
wait_windows 2
[[ $(stat_of cls_results) == 0 ]] || fail "the refused attachment got $(stat_of cls_results) results"

# 4. hot swap keeps the binding; another shape refuses it; back binds
"$CTL" load "$tmp/det2.mcai" | grep -q 'replaced vib-detector version 1 -> 2' || fail "swap to version 2"
r=$(stat_of det_results)
wait_for 120 "5 more results after the swap" at_least det_results $((r + 5)) ||
	fail "results stopped after the swap: $(stat_of det_results)"
[[ $(att binds vib-detector) == 1 ]] || fail "binds $(att binds vib-detector) after a swap, want 1"
"$CTL" load --no-verify "$tmp/odd.mcai" >/dev/null || fail "swap to the 784-input version"
wait_for 60 "det_state refused" state_is det_state refused || fail "det_state $(stat_of det_state) after a reshape"
"$CTL" load "$tmp/det4.mcai" >/dev/null || fail "swap to version 4"
wait_for 60 "det_state bound" state_is det_state bound || fail "det_state $(stat_of det_state) after version 4"
r=$(stat_of det_results)
wait_for 120 "5 more results on version 4" at_least det_results $((r + 5)) ||
	fail "no results on version 4: $(stat_of det_results)"
[[ $(att binds vib-detector) == 2 ]] || fail "binds $(att binds vib-detector), want 2"

# 5. unload: waiting, nothing completes any more; reload binds
"$CTL" unload vib-detector >/dev/null || fail "unload"
state_is det_state waiting || fail "after unload: det_state $(stat_of det_state)"
c=$(stat_of det_mcai_completed); d=$(stat_of det_mcai_dropped)
wait_windows 4
[[ $(stat_of det_mcai_completed) == "$c" ]] || fail "completed $c -> $(stat_of det_mcai_completed) while waiting"
(( $(stat_of det_mcai_dropped) >= d + 4 )) || fail "dropped $d -> $(stat_of det_mcai_dropped) over 4 windows while waiting"
"$CTL" load "$DET" >/dev/null || fail "reload"
wait_for 60 "det_state bound" state_is det_state bound || fail "det_state $(stat_of det_state) after reload"
r=$(stat_of det_results)
wait_for 120 "5 results after reload" at_least det_results $((r + 5)) ||
	fail "no results after reload: $(stat_of det_results)"
[[ $(att binds vib-detector) == 3 ]] || fail "binds $(att binds vib-detector), want 3"

# 6. the counters add up over binds, waits and refusals
if sim_pause; then
	b=$SIM_STATS
	val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$b"; }
	w=$(val windows)
	for p in det cls; do
		s=$(val ${p}_mcai_submitted); c=$(val ${p}_mcai_completed)
		d=$(val ${p}_mcai_dropped); h=$(val ${p}_mcai_shed)
		k=$(val ${p}_committed); x=$(val ${p}_reserve_failed)
		res=$(val ${p}_results)
		echo "$N: $p: windows $w submitted $s completed $c dropped $d shed $h results $res"
		(( s == c + d + h )) || fail "$p: submitted $s != completed $c + dropped $d + shed $h"
		(( w == k + x && s == w )) || fail "$p: windows $w, committed $k + refused $x, submitted $s"
		(( res == c + h )) || fail "$p: callbacks $res != completed $c + shed $h"
	done
else
	fail "the sensor did not go idle"
fi

# 7. rmmod bound, then rmmod waiting
rmmod mcai_simsensor || fail "rmmod mcai_simsensor (bound)"
"$CTL" unload fmnist-mlp >/dev/null || fail "unload fmnist-mlp"
"$CTL" unload vib-detector >/dev/null || fail "unload vib-detector"
if insmod "$SIM" rate=25600; then
	wait_windows 2
	rmmod mcai_simsensor || fail "rmmod mcai_simsensor (waiting)"
else
	fail "insmod mcai_simsensor (second time)"
fi
n=$("$CTL" list | grep -c mcai_simsensor)
(( n == 0 )) || fail "$n attachments left after rmmod"
rm -rf "$tmp"
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod mcai"
((rc)) || echo "$N: all checks passed"
exit "$rc"
