#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make arm64`: cross-build for an arm64 gateway into build/arm64/, laid
# out like build/ so the arm64 guest can mount it over build/ and run the
# guest tests unchanged:
#   build/arm64/{mcaictl,mcaid,mcai-sign,...}  the tools (make tools, CC=
#                                              aarch64-linux-gnu-gcc)
#   build/arm64/vm/*                           the guest test programs
#   build/arm64/bpf/telemetry.bpf.o            the telemetry (__TARGET_ARCH_arm64)
#   build/arm64/kmod/KVER/kmod/*.ko            the modules per kernel
#   build/arm64/mcai.ko, mcai_simsensor.ko     the first kernel's, for a gateway
#   build/arm64/fmnist-x86.sha256              the x86 user-space engine's
#                                              Fashion-MNIST scores (build/vm/
#                                              fmnist_bitexact --user-sha256),
#                                              which 15-fmnist.sh holds the
#                                              arm64 kernel to
#
# usage: tests/vm/build-arm64.sh [FLAVOUR...]   (default: $ARM64_KERNELS or 6.1)
#
# The kernels' headers are Debian's arm64 packages, fetched and cached by
# tests/vm/arm64.sh.  The tools link Debian's arm64 libraries dynamically
# (multiarch -dev:arm64 packages, tests/deps.sh): libbpf, OpenSSL,
# liburing, libcap-ng and libelf are what a Debian gateway has anyway, and
# a static mcaid would carry glibc's NSS (getpwnam for its privilege drop)
# in a form that only works with the same glibc at run time.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CROSS=${ARM64_CROSS:-aarch64-linux-gnu-}
OUT=$REPO/build/arm64
read -ra flavours <<<"${*:-${ARM64_KERNELS:-6.1}}"

command -v "${CROSS}gcc" >/dev/null || { echo "arm64: ${CROSS}gcc missing: make deps" >&2; exit 1; }

# Both cores: on a clean machine this is most of the short lane's time.
${MAKE:-make} -C "$REPO" --no-print-directory -j"$(nproc)" B=build/arm64 \
	CC="${CROSS}gcc" tools

first=1
for f in "${flavours[@]}"; do
	eval "$("$HERE/arm64.sh" --print "$f")"
	echo "arm64: modules for $ARM64_KVER"
	MCAI_BUILD=$OUT "$HERE/build-module.sh" "$ARM64_KVER" "$ARM64_KDIR" \
		ARCH=arm64 CROSS_COMPILE="$CROSS"
	if ((first)); then
		cp "$OUT/kmod/$ARM64_KVER/kmod/mcai.ko" \
			"$OUT/kmod/$ARM64_KVER/kmod/mcai_simsensor.ko" "$OUT/"
		first=0
	fi
done
ds=/usr/share/datasets/fashion-mnist
if [[ -e $ds/t10k-images-idx3-ubyte.gz ]]; then
	"$REPO/build/vm/fmnist_bitexact" --user-sha256 "$REPO/models/fmnist-mlp.mcai" \
		"$REPO/models/fmnist-mlp.txt" "$ds" >"$OUT/fmnist-x86.sha256.tmp"
	mv "$OUT/fmnist-x86.sha256.tmp" "$OUT/fmnist-x86.sha256"
fi
file "$OUT/mcai.ko" "$OUT/mcaictl" "$OUT/mcaid" | sed 's/, BuildID[^,]*//; s/^/arm64: /'
