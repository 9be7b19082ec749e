# SPDX-License-Identifier: GPL-2.0
#
# Host side, sourced: which installed Debian kernel stands for a flavour of
# the matrix (matrix.sh, the benchmarks).

# mcai_kver FLAVOUR: the newest installed release of 6.1, 6.12 or 6.12-rt
# that has both its image and its headers.
mcai_kver() {
	local pat k best=
	case $1 in
	6.1) pat='6.1.*-amd64' ;;
	6.12) pat='6.12.*-amd64' ;;
	6.12-rt) pat='6.12.*-rt-amd64' ;;
	*) echo "unknown kernel flavour $1" >&2; return 1 ;;
	esac
	for k in /lib/modules/$pat; do
		k=${k##*/}
		[ "$1" != 6.12 ] || [[ $k != *-rt-* ]] || continue
		if [ ! -e "/boot/vmlinuz-$k" ] || [ ! -d "/usr/src/linux-headers-$k" ]; then
			continue
		fi
		best+="$k"$'\n'
	done
	[ -n "$best" ] || { echo "no $1 kernel with headers installed" >&2; return 1; }
	printf '%s' "$best" | sort -V | tail -n 1
}
