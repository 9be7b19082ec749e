#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dkms.conf's MAKE: build mcai.ko, mcai_simsensor.ko and mcai_iio.ko with
# kbuild; if that fails, build placeholders of the same names
# (placeholder.c) that refuse to load and say why, so that a module that does not build for
# a new kernel does not fail DKMS's autoinstall and with it the
# kernel-headers package's postinst (dkms 3.0.10 fails the whole
# autoinstall on any module's failure).  The real build's errors stay
# in DKMS's make.log.
#
# usage: sh dkms/make.sh KERNEL_SOURCE_DIR SOURCE_DIR [MAKE-ARG...]
set -u
kdir=$1
src=$2
shift 2
jobs=$(nproc 2>/dev/null || echo 1)

make -j"$jobs" -C "$kdir" M="$src" "$@" modules && exit 0

ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$src/dkms.conf")
echo "mcai: the modules did not build for this kernel (errors above);"
echo "mcai: building placeholders that refuse to load and say so"
ph=$src/placeholder
rm -rf "$ph"
mkdir -p "$ph" || exit 1
for m in mcai mcai_simsensor mcai_iio; do
	cp "$src/dkms/placeholder.c" "$ph/$m.c" || exit 1
done
printf 'obj-m := mcai.o mcai_simsensor.o mcai_iio.o\nccflags-y := -DMCAI_VERSION=\\"%s\\"\n' \
	"$ver" >"$ph/Kbuild"
make -j"$jobs" -C "$kdir" M="$ph" "$@" modules || exit 1
cp "$ph/mcai.ko" "$ph/mcai_simsensor.ko" "$ph/mcai_iio.ko" "$src/kmod/" || exit 1
echo "mcai: placeholders built: modprobe mcai fails and names this log"
