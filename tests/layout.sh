#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The include rules the folder READMEs state, checked: each room may
# include only the rooms listed for it (quoted includes; <...> system
# headers are the compiler's business, except in the freestanding rooms,
# which may include none but the kernel's under __KERNEL__).
set -u
cd "$(dirname "$0")/.."

# room: the rooms (path prefixes) its quoted includes may name.
declare -A may=(
	[models/engine]="models/engine uapi"
	[models/sensor]="models/sensor models/engine uapi"
	[models/train]="models/train models/engine models/sensor uapi"
	[models/import]="models/import models/train models/engine uapi build/gen/onnx"
	[runtime/lib]="runtime/lib models/engine uapi"
	[runtime/fed]="runtime/fed runtime/lib models/engine models/train uapi"
	[runtime/daemon]="runtime/daemon runtime/fed runtime/lib bpf models/engine models/train uapi"
	[runtime/ctl]="runtime/ctl runtime/daemon runtime/fed runtime/lib bpf models/engine models/train models/import uapi"
	[bpf]="bpf runtime/lib uapi"
	[kmod]="kmod models/engine models/sensor uapi"
	[uapi]="uapi"
	[packaging/dkms]=""		# the placeholder module: kernel headers only
)

bad=0
for room in "${!may[@]}"; do
	for f in "$room"/*.[ch]; do
		[ -e "$f" ] || continue
		case $f in *.mod.c) continue ;; esac
		while IFS= read -r inc; do
			# same-folder includes ("telemetry.h", "trace.h")
			[ -e "$(dirname "$f")/$inc" ] && [[ $inc != */* ]] && continue
			# bpf/'s generated headers, from $(B)/bpf and $(B)/gen
			# (bpf/bpf.mk): B differs between builds (build/arm64)
			[[ $room == bpf && $inc == @(telemetry.skel.h|power_tables.h) ]] && continue
			ok=0
			for r in ${may[$room]}; do
				[[ $inc == "$r"/* ]] && ok=1 && break
			done
			if [ $ok -eq 0 ]; then
				echo "layout: $f includes \"$inc\", outside what $room may include (${may[$room]})"
				bad=1
			fi
		done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
done
# Freestanding rooms: no libc, no user-space header outside __KERNEL__'s
# alternative (port.h is the one place that chooses; port_simd.h, the same
# for the FPU, CPU features and intrinsics of the SIMD kernels).
for f in models/engine/*.[ch] models/sensor/*.[ch]; do
	[ "$f" = models/engine/port.h ] && continue
	[ "$f" = models/engine/port_simd.h ] && continue
	if grep -n '^#[[:space:]]*include[[:space:]]*<' "$f"; then
		echo "layout: $f includes a system header; only models/engine/port.h and port_simd.h may"
		bad=1
	fi
done
# kmod/ in layers, bottom up (kmod/README.md says what each owns): a file
# includes its own header and headers of lower layers only, so no two
# files depend on each other.
declare -A layer=(
	[compat]=0 [live]=0 [file]=0
	[trace]=1 [sign]=1 [mirror]=1 [vectors]=1 [account]=1
	[sched]=2 [stats]=2
	[registry]=3
	[infer]=4 [pipeline]=4 [dmabuf]=4
	[session]=5
	[client]=6 [mcai_driver]=6
	[ioctl]=7
	[main]=8 [simsensor]=8 [iio]=8
)
for f in kmod/*.[ch]; do
	case $f in *.mod.c) continue ;; esac
	me=$(basename "${f%.?}")
	[ -n "${layer[$me]+x}" ] || {
		echo "layout: $f has no layer in tests/layout.sh (and kmod/README.md)"
		bad=1
		continue
	}
	while IFS= read -r inc; do
		h=${inc%.h}
		[ "$h" = "$me" ] && continue
		[ "$me" = client ] && [ "$h" = mcai_driver ] && continue
		if [ -z "${layer[$h]+x}" ] || [ "${layer[$h]}" -ge "${layer[$me]}" ]; then
			echo "layout: $f (layer ${layer[$me]}) includes $inc (layer ${layer[$h]:-none}): only lower layers"
			bad=1
		fi
	done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([a-z_]*\.h\)".*/\1/p' "$f")
done
[ $bad -eq 0 ] && echo "layout: include rules hold"
exit $bad
