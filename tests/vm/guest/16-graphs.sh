#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Every shipped model, v1 layers and v2 graphs (the MLPerf Tiny four),
# loads with the default limits and gives through INFER and the ring the
# scores the user-space engine gives, byte for byte; so does a 1-D CNN
# with a batch axis that the guest imports from ONNX itself
# (tests/import/torch/cnn1d.*), and `mcaictl run --device` on its batch
# of 4 equals user space; likewise a scikit-learn StandardScaler +
# LogisticRegression imported from ONNX-ML (tests/import/sklearn/:
# per-feature input scales), 8 rows.
# 24 random inputs per model; 4 in the arm64 guest, whose TCG emulation
# runs the engine about ten times slower.  mcai_graph_samples=N on the
# kernel command line (MCAI_VM_APPEND of run.sh) overrides either.
set -u
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
samples=24
[ "$(uname -m)" != aarch64 ] || samples=4
for w in $(cat /proc/cmdline); do
	case $w in mcai_graph_samples=*) samples=${w#*=} ;; esac
done
set -- "$R"/models/*.mcai "$R"/models/mlperf-tiny/*.mcai
insmod "$MCAI_KO" || exit 1
ret=0
for b in "$@"; do
	[ -e "$b" ] || continue
	"$R/build/vm/graph_bitexact" --samples "$samples" "$b" || ret=1
done

# mcaictl: load verifies a v2 graph in user space first; infer through the
# module and with the user-space engine print the same scores
CTL=$R/build/mcaictl
KWS=$R/models/mlperf-tiny/kws-dscnn.mcai
if [ -e "$KWS" ]; then
	in=$(mktemp)
	head -c $((490 * 4)) /dev/urandom >"$in"
	"$CTL" load "$KWS" >/dev/null || ret=1
	k=$("$CTL" infer -s kws-dscnn "$in" | head -n 5)
	u=$("$CTL" infer -s --model "$KWS" kws-dscnn "$in" | head -n 5)
	if [ -z "$k" ] || [ "$k" != "$u" ]; then
		echo "16-graphs: FAIL: mcaictl infer, module: $k; user space: $u"
		ret=1
	fi
	# mcaictl run: the same .npy through the module and user space
	# an int8 .npy of the model's input shape, written by hand: the
	# arm64 guest's root has no NumPy (format 1.0: magic, header
	# length, the header dict padded to 64 bytes, the data)
	hdr="{'descr': '|i1', 'fortran_order': False, 'shape': (1, 49, 10, 1), }"
	while [ $(((10 + ${#hdr} + 1) % 64)) -ne 0 ]; do hdr="$hdr "; done
	{
		printf '\223NUMPY\001\000'
		printf "\\$(printf %03o $(((${#hdr} + 1) % 256)))"
		printf "\\$(printf %03o $(((${#hdr} + 1) / 256)))"
		printf '%s\n' "$hdr"
		head -c 490 /dev/urandom
	} >"$in.npy" || ret=1
	"$CTL" run "$KWS" --input "$in.npy" --output "$in.user.npy" >/dev/null &&
		"$CTL" run --device "$KWS" --input "$in.npy" \
			--output "$in.dev.npy" >/dev/null &&
		cmp "$in.user.npy" "$in.dev.npy" ||
		{ echo "16-graphs: FAIL: mcaictl run --device differs from user space"; ret=1; }
	"$CTL" unload kws-dscnn >/dev/null || ret=1
	rm -f "$in" "$in.npy" "$in.user.npy" "$in.dev.npy"
fi

# an imported 1-D CNN (Conv1d, BatchNorm1d, 1-D pools as H = 1 2-D ops,
# a dynamic batch axis): random inputs through the module bit-exact, and
# a batch of 4 through `mcaictl run`, module against user space
T=$R/tests/import/torch/cnn1d
if [ -e "$T.onnx" ]; then
	d=$(mktemp -d)
	if ! "$CTL" import "$T.onnx" -o "$d/cnn1d.mcai" --name cnn1d \
		--calibrate "$T.cal.npy" >/dev/null; then
		echo "16-graphs: FAIL: mcaictl import $T.onnx"
		ret=1
	elif ! "$R/build/vm/graph_bitexact" --samples "$samples" "$d/cnn1d.mcai"; then
		ret=1
	elif ! "$CTL" load "$d/cnn1d.mcai" >/dev/null ||
	     ! "$CTL" run "$d/cnn1d.mcai" --input "$T.in.npy" \
		--output "$d/user.npy" >/dev/null ||
	     ! "$CTL" run --device "$d/cnn1d.mcai" --input "$T.in.npy" \
		--output "$d/dev.npy" >/dev/null ||
	     ! cmp "$d/user.npy" "$d/dev.npy"; then
		echo "16-graphs: FAIL: imported cnn1d: a batch of 4 through the module differs from user space"
		ret=1
	fi
	"$CTL" unload cnn1d >/dev/null 2>&1
	rm -rf "$d"
fi
S=$R/tests/import/sklearn/cancer-logreg
if [ -e "$S.onnx" ]; then
	d=$(mktemp -d)
	if ! "$CTL" import "$S.onnx" -o "$d/lr.mcai" --name cancer-logreg \
		--calibrate "$S.cal.npy" >/dev/null; then
		echo "16-graphs: FAIL: mcaictl import $S.onnx"
		ret=1
	elif ! "$R/build/vm/graph_bitexact" --samples "$samples" "$d/lr.mcai"; then
		ret=1
	elif ! "$CTL" load "$d/lr.mcai" >/dev/null ||
	     ! "$CTL" run "$d/lr.mcai" --input "$S.in.npy" \
		--output "$d/user.npy" >/dev/null ||
	     ! "$CTL" run --device "$d/lr.mcai" --input "$S.in.npy" \
		--output "$d/dev.npy" >/dev/null ||
	     ! cmp "$d/user.npy" "$d/dev.npy"; then
		echo "16-graphs: FAIL: imported cancer-logreg: 8 rows through the module differ from user space"
		ret=1
	fi
	"$CTL" unload cancer-logreg >/dev/null 2>&1
	rm -rf "$d"
fi
rmmod mcai || ret=1
exit $ret
