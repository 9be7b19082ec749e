#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install, idempotently, every Debian package mcai needs to build, test and
# demo.  Only touches apt when something is missing, so `make check` pays
# nothing on a machine that already has everything.
set -eu

pkgs=(
	build-essential pkg-config clang llvm lld libclang-rt-14-dev valgrind
	python3 zlib1g-dev check liburing-dev libbpf-dev bpftool libcap-ng-dev
	libssl-dev openssl libxnnpack-dev libpthreadpool-dev sparse
	linux-headers-amd64 linux-image-amd64 linux-source-6.1
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64
	qemu-system-x86 busybox-static cpio kmod xz-utils util-linux
	flex bison bc libelf-dev
	dataset-fashion-mnist
	keyutils
	protobuf-c-compiler libprotobuf-c-dev libonnx-dev python3-onnx python3-numpy
	python3-sklearn
	python3-matplotlib
	libonnx-testdata
	libiio-utils
	mosquitto mosquitto-clients libmosquitto-dev prometheus
	libmicrohttpd-dev curl
	dkms dh-dkms debhelper lintian udev
	gnuplot-nox jq graphviz
)

# The arm64 lane (make arm64, check-arm64): the cross compiler, the
# arm64 libraries mcaictl and mcaid link (multiarch, beside the amd64
# ones), qemu-system-aarch64, and mmdebstrap for the guest's arm64 root
# file system (tests/vm/arm64.sh).
pkgs+=(
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm mmdebstrap
	zlib1g-dev:arm64 libssl-dev:arm64 libbpf-dev:arm64 liburing-dev:arm64
	libcap-ng-dev:arm64 libelf-dev:arm64 libprotobuf-c-dev:arm64
)
native=$(dpkg --print-architecture)

# installed PKG[:ARCH]: a bare name means the native (or "all") package;
# with arm64 known to dpkg a bare name also matches the arm64 one.
installed() {
	local name=${1%%:*} arch=${1#*:}
	[ "$arch" != "$1" ] || arch=$native
	dpkg-query -W -f='${Architecture} ${Status}\n' "$name" 2>/dev/null |
		grep -Eqx "($arch|all) install ok installed"
}

missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages and not root; run: sudo make deps" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The :arm64 packages and tests/vm/arm64.sh need arm64's package lists.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
