#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo` on the host: boots the 6.1 guest (tests/vm/matrix.sh) to
# run tests/demo.sh and shows the demo's own lines as they come, without
# the boot chatter; the whole console is kept in build/demo/console.log.
# Escape codes (bold captions) only when stdout is a terminal: the
# guest's stdout is always its serial console, so the host tells it with
# build/demo/tty.  Exit 0 only if the guest run passed and the demo
# printed its "demo: PASS" verdict.
set -u
cd "$(dirname "$0")/../.."
D=build/demo
mkdir -p "$D"
if [[ -t 1 ]]; then touch "$D/tty"; else rm -f "$D/tty"; fi
LOG=$D/console.log
t0=$(date +%s.%N)
echo "demo: booting a QEMU guest (Debian 6.1 kernel) to run tests/demo.sh; the full console goes to $LOG"
MCAI_KERNELS=${MCAI_DEMO_KERNEL:-6.1} tests/vm/matrix.sh tests/demo.sh 2>&1 |
	tee "$LOG" |
	awk -v tty="$([[ -t 1 ]] && echo 1)" '
		{ sub(/\r$/, "") }
		/^mcai-vm: RUN tests\/demo.sh/ { on = 1; next }
		/^mcai-vm: took tests\/demo.sh/ { on = 0; next }
		/^vm: (PASS|FAIL)/ || /^vm: [0-9]+ passed/ || /^vm: FAIL/ { print; fflush(); next }
		!on { next }
		/^\[ *[0-9]+\.[0-9]+\] / { next }	# kernel log lines
		{
			if (!tty)
				gsub(/\033\[[0-9;?]*[A-Za-z]/, "")
			print
			fflush()
		}'
rc=${PIPESTATUS[0]}
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
if ((rc == 0)) && grep -q '^demo: PASS' "$LOG"; then
	echo "demo: wall time ${secs} s (make demo on this host, guest boot included)"
	exit 0
fi
echo "demo: FAIL after ${secs} s; the last console lines ($LOG):"
tail -n 30 "$LOG"
exit 1
