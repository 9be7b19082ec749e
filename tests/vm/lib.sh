# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
# Sourced by guest tests: where this kernel's build of the modules is.
#
# tests/vm/matrix.sh builds the modules once per kernel release under
# build/kmod/<release>/; a plain `make` builds kmod/*.ko for KDIR only.

: "${MCAI_ROOT:?not in the mcai guest}"

# mcai_ko [NAME]: the path of NAME.ko for this kernel.  It also loads the
# kernel's own modules NAME depends on (mcai_simsensor: industrialio and
# kfifo_buf, its IIO device), so that a plain insmod of the path works;
# mcai itself stays the test's to load.
mcai_ko() {
	local name="${1:-mcai}"
	local per_kernel="$MCAI_ROOT/build/kmod/${MCAI_KVER:-$(uname -r)}/kmod/$name.ko"
	local ko="$MCAI_ROOT/kmod/$name.ko" dep

	[ -e "$per_kernel" ] && ko=$per_kernel
	for dep in $(modinfo -F depends "$ko" 2>/dev/null | tr ',' ' '); do
		[ "$dep" = mcai ] || modprobe -q "$dep" >&2
	done
	echo "$ko"
}

MCAI_KO=$(mcai_ko mcai)
export MCAI_KO

# uptime_s: seconds since boot (a clock that no test step can set back).
uptime_s() {
	local up rest

	read -r up rest </proc/uptime
	echo "${up%.*}"
}

# wait_for TIMEOUT_S DESCRIPTION CMD...: run CMD every 0.1 s until it
# succeeds.  Tests wait for states, never for time: a sleep followed by a
# check passes on an idle machine and fails on a loaded one.  TIMEOUT_S
# only bounds a test that would otherwise hang, so make it generous (many
# times what an idle machine needs); it is wall-clock time, however long
# each CMD takes.  On a timeout it prints what it waited for and returns
# 1: the caller then prints the value or log it was watching.
wait_for() {
	local timeout=$1 what=$2 start

	shift 2
	start=$(uptime_s)
	until "$@"; do
		if [ $(($(uptime_s) - start)) -ge "$timeout" ]; then
			echo "${N:+$N: }timed out after $timeout s waiting for $what"
			return 1
		fi
		sleep 0.1
	done
}

# mcai_simsensor's counters, for tests that pause it and then check that
# they add up.  SIM_STATS holds the last read of its stats file.
SIM_P=/sys/module/mcai_simsensor/parameters
SIM_STATS=
SIM_SAME=0

# sim_idle: true once the stats file has read the same for 5 polls in a
# row (0.5 s: a timer tick that had started before run=0 has committed
# its windows) and each client's driver-API counters add up, submitted =
# completed + dropped + shed (nothing queued or in the worker).  A worker
# that a loaded machine holds up leaves work queued, so it is waited for.
sim_idle() {
	local prev="$SIM_STATS"

	SIM_STATS=$(cat "$SIM_P/stats") || return 1
	if [ "$SIM_STATS" != "$prev" ]; then
		SIM_SAME=0
		return 1
	fi
	SIM_SAME=$((SIM_SAME + 1))
	[ "$SIM_SAME" -ge 5 ] || return 1
	printf '%s\n' "$SIM_STATS" | awk '
		$1 ~ /_mcai_(submitted|completed|dropped|shed)$/ {
			p = k = $1
			sub(/_mcai_.*/, "", p)
			sub(/.*_mcai_/, "", k)
			v[p, k] = $2
			c[p] = 1
		}
		END {
			for (p in c) {
				s = v[p, "completed"] + v[p, "dropped"]
				if (v[p, "submitted"] != s + v[p, "shed"])
					exit 1
			}
		}'
}

# sim_pause [TIMEOUT_S]: pause mcai_simsensor (run=0) and wait until it
# is idle (sim_idle); SIM_STATS then holds its final counters.  On a
# timeout it prints the last read and returns 1.
sim_pause() {
	SIM_STATS=
	SIM_SAME=0
	echo 0 >"$SIM_P/run" || return 1
	wait_for "${1:-120}" "mcai_simsensor to go idle after run=0 (stats unchanged for 0.5 s, submitted = completed + dropped + shed per client)" sim_idle && return 0
	printf '%s\n' "$SIM_STATS" | sed "s/^/${N:+$N: }stats: /"
	return 1
}

# live_zero WHEN: the module's live-object counters (nr_models,
# live_slots, live_versions, live_bytes) are all 0; each that is not is
# reported as a failure of test $N, WHEN saying when, and it returns 1.
live_zero() {
	local c v bad=0

	for c in nr_models live_slots live_versions live_bytes; do
		v=$(cat "/sys/class/misc/mcai/$c") || return 1
		if [ "$v" != 0 ]; then
			echo "${N:+$N: }FAIL: counter $c is $v $1"
			bad=1
		fi
	done
	return $bad
}
