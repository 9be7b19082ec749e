#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# All 10,000 Fashion-MNIST test images through /dev/mcai: bit-identical to
# the user-space engine, and as accurate as the trainer reported.
set -u
R=${MCAI_ROOT:?}
[ -e "$R/models/fmnist-mlp.mcai" ] || exit 77
. "$R/tests/vm/lib.sh"
insmod "$MCAI_KO" || exit 1
"$R/build/vm/fmnist_bitexact" "$R/models/fmnist-mlp.mcai" "$R/models/fmnist-mlp.txt"
ret=$?
rmmod mcai || ret=1
exit $ret
