#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcai_simsensor as an IIO device (kmod/simsensor.c, "IIO"):
#  - it registers "mcai-simsensor" under /sys/bus/iio/devices, the device
#    its stats name (iio_device); iio_info (libiio, local backend) lists
#    it with its three accel channels and their scale;
#  - in_accel_scale is 1 mg in m/s^2, in_accel_sampling_frequency the rate,
#    in_accel_{x,y,z}_raw read the latest sample;
#  - the buffer: x, y, z enabled, /dev/iio:deviceN yields whole 6-byte
#    scans while the sensor feeds its model, and the count pushed grows;
#  - regime_offset_mg=3000 shifts the mean of what the buffer delivers
#    by ~3000 mg (the knob drift tests use), regime_gain_pct refuses
#    out-of-range values;
#  - rmmod with the buffer enabled is clean.
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
N=63-simsensor-iio

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

for f in "$KO" "$SIM" "$CTL" "$PY"; do
	[[ -e $f ]] || { echo "$N: FAIL: missing $f"; exit 1; }
done
grep -q '^industrialio ' /proc/modules || { echo "$N: FAIL: industrialio not loaded (modprobe industrialio)"; exit 1; }
grep -q '^mcai_simsensor ' /proc/modules && rmmod mcai_simsensor
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod mcai"; exit 1; }
"$CTL" load "$R/models/vib-detector.mcai" >/dev/null || fail "load vib-detector"
if ! insmod "$SIM" rate=3200; then
	fail "insmod mcai_simsensor"
	rmmod mcai
	exit 1
fi
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$P/stats"; }
at_least() { local v; v=$(stat_of "$1"); (( ${v:-0} >= $2 )); }

id=$(stat_of iio_device)
D=/sys/bus/iio/devices/iio:device$id
[[ -d $D && $(cat "$D/name") == mcai-simsensor ]] || fail "no mcai-simsensor at $D (stats say $id)"
scale=$(cat "$D/in_accel_scale")
[[ $scale == 0.009806650 ]] || fail "in_accel_scale $scale, want 0.009806650"
fs=$(cat "$D/in_accel_sampling_frequency")
[[ $fs == 3200 ]] || fail "in_accel_sampling_frequency $fs, want 3200"
for a in x y z; do
	v=$(cat "$D/in_accel_${a}_raw") && [[ $v =~ ^-?[0-9]+$ ]] || fail "in_accel_${a}_raw: $v"
done
echo "$N: iio:device$id, scale $scale, $fs Hz, raw x $(cat "$D/in_accel_x_raw")"

if command -v iio_info >/dev/null; then
	iio_info -u local: >/tmp/iio_info.txt 2>&1 || fail "iio_info -u local: exit $?"
	grep -q 'mcai-simsensor' /tmp/iio_info.txt || fail "iio_info does not list mcai-simsensor"
	n=$(grep -cE 'accel_[xyz]:.*input' /tmp/iio_info.txt)
	(( n == 3 )) || fail "iio_info lists $n accel channels, want 3"
	sed -n '/mcai-simsensor/,/^\s*[a-z]*:.*buffer/p' /tmp/iio_info.txt | head -n 12 | sed "s/^/$N: iio_info: /"
elif [[ $(uname -m) == x86_64 ]]; then
	fail "iio_info missing (Debian libiio-utils)"
else
	# the arm64 guest's own root (tests/vm/arm64.sh) carries no libiio
	echo "$N: no iio_info in this guest's root: its check left out"
fi

# the buffer
for a in x y z; do echo 1 >"$D/scan_elements/in_accel_${a}_en" || fail "enable $a"; done
echo 4096 >"$D/buffer/length" || fail "buffer length"
echo 1 >"$D/buffer/enable" || fail "buffer enable"
# mean_x SCANS: mean of x over SCANS scans read from the device
mean_x() {
	timeout 60 "$PY" - "/dev/iio:device$id" "$1" <<'PYEOF'
import os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
want = int(sys.argv[2]) * 6
buf = b""
while len(buf) < want:
    chunk = os.read(fd, want - len(buf))
    if not chunk:
        break
    buf += chunk
os.close(fd)
n = len(buf) // 6
xs = [struct.unpack_from("<hhh", buf, 6 * i)[0] for i in range(n)]
print(n, sum(xs) // max(n, 1), len(set(xs)))
PYEOF
}
# drain what queued before, then measure
mean_x 4096 >/dev/null
read -r n0 m0 d0 <<<"$(mean_x 3200)"
echo "$N: buffer: $n0 scans, mean x $m0 mg, $d0 distinct values"
(( n0 == 3200 && d0 > 10 )) || fail "buffer: $n0 scans, $d0 distinct values"
at_least iio_pushed 3200 || fail "iio_pushed $(stat_of iio_pushed)"

echo 3000 >"$P/regime_offset_mg" || fail "set regime_offset_mg"
mean_x 4096 >/dev/null		# what was queued before the change
read -r n1 m1 d1 <<<"$(mean_x 3200)"
echo "$N: regime_offset_mg=3000: $n1 scans, mean x $m1 mg"
(( n1 == 3200 && m1 - m0 > 2500 && m1 - m0 < 3500 )) ||
	fail "regime offset: mean $m0 -> $m1, want +3000"
echo 2000 >"$P/regime_gain_pct" 2>/dev/null && fail "regime_gain_pct=2000 accepted"
echo 0 >"$P/regime_offset_mg" || fail "reset regime_offset_mg"

# rmmod with the buffer enabled
rmmod mcai_simsensor || fail "rmmod mcai_simsensor with the buffer enabled"
[[ -e $D ]] && fail "$D still there after rmmod"
"$CTL" unload vib-detector >/dev/null || fail "unload"
live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod mcai"
((rc)) || echo "$N: all checks passed"
exit "$rc"
