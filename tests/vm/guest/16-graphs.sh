#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Every shipped model, v1 layers and v2 graphs (the MLPerf Tiny four),
# loads with the default limits and gives through INFER and the ring the
# scores the user-space engine gives, byte for byte.
set -u
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
set -- "$R"/models/*.mcai "$R"/models/mlperf-tiny/*.mcai
insmod "$MCAI_KO" || exit 1
ret=0
for b in "$@"; do
	[ -e "$b" ] || continue
	"$R/build/vm/graph_bitexact" --samples 24 "$b" || ret=1
done
rmmod mcai || ret=1
exit $ret
