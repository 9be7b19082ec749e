#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo` on the host: boots the 6.1 guest (tests/vm/matrix.sh) to
# run tests/demo.sh and shows the demo's own lines as they come, without
# the boot chatter; the whole console is kept in build/demo/console.log
# (or MCAI_DEMO_LOG).  MCAI_DEMO_KERNEL: other kernels (matrix.sh names).
# Escape codes (bold captions) only when stdout is a terminal: the
# guest's stdout is always its serial console, so the host tells it with
# build/demo/tty.  Ends with the wall time; exit 0 only if the guest run
# passed and the demo printed its "demo: PASS" verdict.
set -u
cd "$(dirname "$0")/../.." || exit 1
D=build/demo
mkdir -p "$D"
tty=
if [[ -t 1 ]]; then
	tty=1
	touch "$D/tty"
else
	rm -f "$D/tty"
fi
# MCAI_DEMO_LOG: another file, for a run beside make demo (check-demo)
LOG=${MCAI_DEMO_LOG:-$D/console.log}
esc=$'\033'
# show: the demo's lines, live (a shell loop: mawk would buffer its input)
show() {
	local line on=0
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"mcai-vm: RUN tests/demo.sh") on=1; continue ;;
		"mcai-vm: took tests/demo.sh"*) on=0; continue ;;
		"vm: PASS" | "vm: FAIL"* | "vm: "[0-9]*" passed"*) echo "$line"; continue ;;
		esac
		((on)) || continue
		# kernel log lines
		[[ $line =~ ^\[\ *[0-9]+\.[0-9]+\]\  ]] && continue
		[[ $tty ]] || while [[ $line =~ $esc\[[0-9\;?]*[A-Za-z] ]]; do
			line=${line/"${BASH_REMATCH[0]}"/}
		done
		printf '%s\n' "$line"
	done
}
t0=$(date +%s)
echo "demo: booting a QEMU guest (Debian ${MCAI_DEMO_KERNEL:-6.1} kernel) to run tests/demo.sh; the full console goes to $LOG"
MCAI_KERNELS=${MCAI_DEMO_KERNEL:-6.1} tests/vm/matrix.sh tests/demo.sh 2>&1 |
	tee "$LOG" | show
rc=${PIPESTATUS[0]}
secs=$(($(date +%s) - t0))
if ((rc == 0)) && grep -q '^demo: PASS' "$LOG"; then
	echo "demo: wall time $((secs / 60)) min $((secs % 60)) s (this host, guest boot included)"
	exit 0
fi
echo "demo: FAIL after $secs s; the last console lines ($LOG):"
tail -n 30 "$LOG"
exit 1
