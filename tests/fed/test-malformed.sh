#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Each kind of malformed header closes that connection at once, with a
# logged reason, while another peer's connection carries on untouched.
. "$(dirname "$0")/lib.sh"

start_agg "$T/agg.log"
coproc BY { client bystander "$T/go"; }
PIDS+=("$BY_PID")
read -r -t 120 line <&"${BY[0]}" && [ "$line" = ready ] ||
	fail "bystander did not start"
for k in magic version length flags type; do
	s=$(client malformed $k)
	case $s in
	-1* | "") fail "malformed $k: not closed" ;;
	esac
done
touch "$T/go"
read -r -t 120 line <&"${BY[0]}"
[ "$line" = ok ] || fail "bystander connection was affected: '$line'"
n=$(grep -c "closing: malformed frame" "$T/agg.log")
[ "$n" -eq 5 ] || fail "$n malformed-frame closes logged, expected 5"
stop_agg "$T/agg.log"
[ "$(stat_of "$T/agg.log" malformed)" -eq 5 ] || fail "stats disagree"
pass "5 malformed headers (magic, version, length > 8 MiB, flags, type) each closed only their connection"
