#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make deb`: mcai-dkms_VERSION_all.deb and mcai_VERSION_ARCH.deb in
# $B/deb/, from the tools `make tools` built in $B, then lintian on both:
# an error fails, warnings are printed (packaging/README.md says which
# are kept and why).  The packaging is packaging/debian/, copied into a
# staging directory $B/deb/mcai-VERSION/ (dpkg-buildpackage writes the
# packages into its parent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO"
B=${B:-build}
[[ $B == /* ]] || B=$REPO/$B
out=$B/deb

ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
clver=$(dpkg-parsechangelog -l packaging/debian/changelog -SVersion)
[[ -n $ver && $ver == "$clver" ]] ||
	{ echo "deb: dkms.conf says version '$ver', packaging/debian/changelog '$clver'" >&2; exit 1; }
arch=$(dpkg --print-architecture)

stage=$out/mcai-$ver
rm -rf "$out"
mkdir -p "$stage"
cp -r packaging/debian "$stage/debian"
# dh_installsysusers installs debian/PACKAGE.sysusers and adds the
# systemd-sysusers call to the postinst.
cp runtime/dist/mcai.sysusers "$stage/debian/mcai.sysusers"

# noautodbgsym: the two packages only, no -dbgsym one beside them.
(cd "$stage" && MCAI_SRC=$REPO MCAI_B=$B \
	DEB_BUILD_OPTIONS="noautodbgsym ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -b -us -uc >"$out/build.log" 2>&1) || {
	tail -n 40 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed, the whole log: $out/build.log" >&2
	exit 1
}
debs=("$out/mcai-dkms_${ver}_all.deb" "$out/mcai_${ver}_${arch}.deb")
for d in "${debs[@]}"; do
	[[ -s $d ]] || { echo "deb: $d was not built" >&2; exit 1; }
done

# lintian: E: fails; W: and I: are shown.  Run as root it would refuse
# nothing, but says so on every run: --allow-root.
lintian --allow-root --display-info "${debs[@]}" >"$out/lintian.txt" 2>&1 || true
sed 's/^/deb: lintian: /' "$out/lintian.txt"
if grep -q '^E: ' "$out/lintian.txt"; then
	echo "deb: lintian reports errors" >&2
	exit 1
fi
for d in "${debs[@]}"; do
	echo "deb: $d"
done
