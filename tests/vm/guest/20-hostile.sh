#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hostile model blobs against mcai.ko: every blob mcai-hostile writes must
# be refused with EINVAL and the manifest's reason (and the user-space
# verifier's err_offset); afterwards the valid blob loads, infers exactly
# like the user-space engine, survives a second round of hostile loads
# under its own name, and unloads.  Then v2 graphs (the fuzz seeds, one
# of each op type between them) with every table and parameter word
# mutated: the module's verdict, reason and offset must be user space's
# (graph_hostile).  Exit 0 pass, 1 fail, 77 skip.
set -u
N=20-hostile
[[ -n ${MCAI_VM:-} ]] || { echo "$N: SKIP: guest test (MCAI_VM unset)"; exit 77; }
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
KO=$MCAI_KO
GEN=$R/build/mcai-hostile
T=$R/build/vm/hostile_load
G=$R/build/vm/graph_hostile

for f in "$KO" "$GEN" "$T" "$G"; do
	[[ -e $f ]] || { echo "$N: FAIL: $f missing (make all first)"; exit 1; }
done
loaded() { grep -q '^mcai ' /proc/modules; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$GEN" "$dir" || { echo "$N: FAIL: mcai-hostile"; exit 1; }
echo "$N: $(grep -c . "$dir/manifest.txt") hostile blobs"

loaded && rmmod mcai
insmod "$KO" || { echo "$N: FAIL: insmod"; exit 1; }
rc=0
"$T" "$dir" || rc=1
"$G" "$R"/tests/fuzz/corpus/valid-v2-*.mcai || rc=1
rmmod mcai || { echo "$N: FAIL: rmmod"; rc=1; }
loaded && { echo "$N: FAIL: mcai still loaded"; rc=1; }
((rc)) || echo "$N: all checks passed"
exit "$rc"
