#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The scikit-learn tree ensemble imported from ONNX-ML (models/vib-trees.*)
# in the kernel: every held-out window classified by /dev/mcai as by the
# user-space engine, bit for bit, and as scikit-learn classified it as
# often as the report says.
set -u
R=${MCAI_ROOT:?}
[ -e "$R/models/vib-trees.mcai" ] || exit 77
. "$R/tests/vm/lib.sh"
insmod "$MCAI_KO" || exit 1
"$R/build/vm/graph_agree" --device "$R/models/vib-trees.mcai" \
	"$R/models/vib-trees.txt" --records "$R/models/vib-trees-heldout.bin"
ret=$?
rmmod mcai || ret=1
exit $ret
