#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Every shipped model, v1 layers and v2 graphs (the MLPerf Tiny four),
# loads with the default limits and gives through INFER and the ring the
# scores the user-space engine gives, byte for byte.
# 24 random inputs per model; 4 in the arm64 guest, whose TCG emulation
# runs the engine about ten times slower.  mcai_graph_samples=N on the
# kernel command line (MCAI_VM_APPEND of run.sh) overrides either.
set -u
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
samples=24
[ "$(uname -m)" != aarch64 ] || samples=4
for w in $(cat /proc/cmdline); do
	case $w in mcai_graph_samples=*) samples=${w#*=} ;; esac
done
set -- "$R"/models/*.mcai "$R"/models/mlperf-tiny/*.mcai
insmod "$MCAI_KO" || exit 1
ret=0
for b in "$@"; do
	[ -e "$b" ] || continue
	"$R/build/vm/graph_bitexact" --samples "$samples" "$b" || ret=1
done
rmmod mcai || ret=1
exit $ret
