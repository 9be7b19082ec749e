#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Drift statistics (MCAI_IOC_MODEL_STATS): bit-exact Q16.16 means and
# variances and exact class histograms against user-space references,
# reset and its refusal without CAP_SYS_ADMIN, swaps that keep or reset
# the statistics; `mcaictl stats` on top.  Nothing leaks: the live_*
# counters read 0 afterwards.  Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
T=$R/build/vm/stats_check
CTL=$R/build/mcaictl
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=50-stats

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ -e $KO && -x $T ]] || { echo "$N: FAIL: build $KO and $T first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

"$T" || fail "stats_check"

# mcaictl stats: three all-zero samples through the shipped model.
tmp=$(mktemp -d)
"$CTL" load "$R/models/fmnist-mlp.mcai" >/dev/null || fail "mcaictl load"
head -c $((784 * 3)) /dev/zero >"$tmp/zeros"
"$CTL" infer --format raw -q fmnist-mlp "$tmp/zeros" >/dev/null ||
	fail "mcaictl infer"
out=$("$CTL" stats fmnist-mlp) || fail "mcaictl stats"
echo "$out" | head -n 3
grep -q ': 3 samples' <<<"$out" || fail "mcaictl stats: not 3 samples"
grep -q '784 features never change' <<<"$out" ||
	fail "mcaictl stats: no constant-input hint"
"$CTL" --json stats --features 2 fmnist-mlp >"$tmp/s.json" ||
	fail "mcaictl --json stats"
grep -q '"samples": *3' "$tmp/s.json" || fail "mcaictl --json stats: samples"
grep -q '"var_q16": *0' "$tmp/s.json" || fail "mcaictl --json stats: var"
if setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	--bounding-set=-all --no-new-privs "$CTL" stats --reset fmnist-mlp \
	>/dev/null 2>"$tmp/err"; then
	fail "unprivileged mcaictl stats --reset accepted"
fi
grep -q CAP_SYS_ADMIN "$tmp/err" || fail "unprivileged reset: $(cat "$tmp/err")"
"$CTL" stats --reset fmnist-mlp >/dev/null || fail "mcaictl stats --reset"
"$CTL" stats fmnist-mlp | grep -q ': 0 samples' || fail "reset did not clear"
"$CTL" unload fmnist-mlp || fail "mcaictl unload"
rm -rf "$tmp"

live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod"
((rc)) || echo "$N: all checks passed"
exit "$rc"
