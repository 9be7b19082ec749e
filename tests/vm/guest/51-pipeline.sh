#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pipelines (MCAI_IOC_PIPELINE_CREATE, MCAI_IOC_INFER + MCAI_INFER_PIPELINE):
# chain gating counted exactly, vote and weighted-average ensembles and
# escalation bit-exact with user-space references, hostile creation
# requests, pipelines dying with their file, members swapped, reshaped and
# unloaded.  Nothing leaks.  Exit 0 pass, 1 fail, 77 skip.
set -u
[[ ${MCAI_VM:-} ]] || { echo "not in the mcai guest"; exit 77; }
R=${MCAI_ROOT:?}
T=$R/build/vm/pipe_check
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
N=51-pipeline

rc=0
fail() {
	echo "$N: FAIL: $*"
	rc=1
}

[[ -e $KO && -x $T ]] || { echo "$N: FAIL: build $KO and $T first"; exit 1; }
grep -q '^mcai ' /proc/modules && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }

"$T" || fail "pipe_check"

# mcaictl pipeline: the shipped model twice, on three all-zero samples.
CTL=$R/build/mcaictl
tmp=$(mktemp -d)
"$CTL" load "$R/models/fmnist-mlp.mcai" >/dev/null || fail "mcaictl load"
head -c $((784 * 3)) /dev/zero >"$tmp/zeros"
cls=$("$CTL" --json infer --format raw fmnist-mlp "$tmp/zeros" |
	sed -n 's/.*"class": *\([0-9]*\).*/\1/p' | head -n1)
[[ $cls =~ ^[0-9]+$ ]] || fail "no class from mcaictl infer"
out=$("$CTL" pipeline vote --format raw --input "$tmp/zeros" fmnist-mlp \
	fmnist-mlp) || fail "mcaictl pipeline vote"
grep -q '^3 samples, 0 gated.*, 0 escalated' <<<"$out" ||
	fail "vote summary: $out"
grep -q "^0	class $cls\$" <<<"$out" || fail "vote class: $out"
other=$(( cls == 0 ? 1 : 0 ))
out=$("$CTL" pipeline chain --fire-class "$other" --format raw -q \
	--input "$tmp/zeros" fmnist-mlp fmnist-mlp) || fail "mcaictl pipeline chain"
grep -q '^3 samples, 3 gated' <<<"$out" || fail "chain summary: $out"
out=$("$CTL" pipeline chain --fire-class "$cls" --format raw -q \
	--escalate-below 128 --input "$tmp/zeros" fmnist-mlp fmnist-mlp) ||
	fail "mcaictl pipeline chain (fires)"
grep -q '^3 samples, 0 gated.*, 3 escalated' <<<"$out" ||
	fail "chain summary (fires): $out"
"$CTL" --json pipeline avg --weights 256,0 --format raw --input "$tmp/zeros" \
	fmnist-mlp fmnist-mlp >"$tmp/a.json" || fail "mcaictl --json pipeline avg"
grep -q '"samples": *3' "$tmp/a.json" || fail "avg json: $(cat "$tmp/a.json")"
"$CTL" pipeline vote fmnist-mlp 2>/dev/null && fail "one-model vote accepted"
"$CTL" unload fmnist-mlp >/dev/null || fail "mcaictl unload"
rm -rf "$tmp"

live_zero "after the test" || rc=1
rmmod mcai || fail "rmmod"
((rc)) || echo "$N: all checks passed"
exit "$rc"
