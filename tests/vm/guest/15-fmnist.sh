#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# All 10,000 Fashion-MNIST test images through /dev/mcai: bit-identical to
# the user-space engine, and as accurate as the trainer reported.  In the
# arm64 guest, also bit-identical to the x86 user-space engine: make arm64
# records the SHA-256 of its scores as build/arm64/fmnist-x86.sha256,
# which the guest sees as build/fmnist-x86.sha256.
set -u
R=${MCAI_ROOT:?}
[ -e "$R/models/fmnist-mlp.mcai" ] || exit 77
. "$R/tests/vm/lib.sh"
set --
if [ -e "$R/build/fmnist-x86.sha256" ]; then
	set -- --expect-sha256 "$(cat "$R/build/fmnist-x86.sha256")"
elif [ "$(uname -m)" != x86_64 ]; then
	echo "15-fmnist: FAIL: no build/fmnist-x86.sha256 (make arm64 writes it)"
	exit 1
fi
insmod "$MCAI_KO" || exit 1
"$R/build/vm/fmnist_bitexact" "$@" "$R/models/fmnist-mlp.mcai" "$R/models/fmnist-mlp.txt"
ret=$?
rmmod mcai || ret=1
exit $ret
