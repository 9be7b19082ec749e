# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
# Sourced by guest tests: where this kernel's build of the modules is.
#
# tests/vm/matrix.sh builds the modules once per kernel release under
# build/kmod/<release>/; a plain `make` builds kmod/*.ko for KDIR only.

: "${MCAI_ROOT:?not in the mcai guest}"

mcai_ko() {
	local name="${1:-mcai}"
	local per_kernel="$MCAI_ROOT/build/kmod/${MCAI_KVER:-$(uname -r)}/kmod/$name.ko"

	if [ -e "$per_kernel" ]; then
		echo "$per_kernel"
	else
		echo "$MCAI_ROOT/kmod/$name.ko"
	fi
}

MCAI_KO=$(mcai_ko mcai)
export MCAI_KO
