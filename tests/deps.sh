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
	python3-matplotlib
	libonnx-testdata
)

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages and not root; run: sudo make deps" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
