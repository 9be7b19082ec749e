#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tracker issue 3: inferences/s of the zero-copy ring, the synchronous
# MCAI_IOC_INFER ioctl and the user-space engine, in one guest run, on a
# ~1k-MAC model and on models/fmnist-mlp.mcai (build/vm/ring_bench).
#
# On the host: builds mcai.ko for the newest Debian 6.1 kernel with
# tests/vm/build-module.sh and boots that kernel with tests/vm/run.sh
# --smp 1, running this same script in the guest.  In the guest
# (MCAI_VM=1, set by the harness): insmod, ring_bench, rmmod.
#
# run.sh has no way to pass extra QEMU arguments (-icount), so figures
# are TCG time: only the ratios mean anything.
#
# usage: tests/bench/kernel_bench.sh
# (ring_bench runs with its defaults: run.sh passes no arguments to tests)
set -euo pipefail

if [[ -n ${MCAI_VM:-} ]]; then
	R=${MCAI_ROOT:?}
	# shellcheck source=tests/vm/lib.sh
	. "$R/tests/vm/lib.sh"
	B=$R/build/vm/ring_bench
	[[ -e $MCAI_KO && -x $B ]] || { echo "kernel_bench: build $MCAI_KO and $B first"; exit 1; }
	if grep -q '^mcai ' /proc/modules; then
		rmmod mcai
	fi
	insmod "$MCAI_KO"
	rc=0
	"$B" -f "$R/models/fmnist-mlp.mcai" "$@" || rc=$?
	rmmod mcai || rc=1
	exit "$rc"
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO"

# The newest installed 6.1 release with an image and headers (as matrix.sh).
kver=
for k in /lib/modules/6.1.*-amd64; do
	k=${k##*/}
	[[ -e /boot/vmlinuz-$k && -d /usr/src/linux-headers-$k ]] || continue
	kver+="$k"$'\n'
done
[[ -n $kver ]] || { echo "kernel_bench: no 6.1 kernel with headers installed" >&2; exit 2; }
kver=$(printf '%s' "$kver" | sort -V | tail -n 1)

make build/vm/ring_bench
tests/vm/build-module.sh "$kver"
exec tests/vm/run.sh --kernel "$kver" --smp 1 "$REPO/tests/bench/kernel_bench.sh"
