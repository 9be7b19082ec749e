#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The PyTorch-exported models of tests/import/torch/ (torch_models.py):
# each imported with its calibration set and run on its test input,
# within TOL LSB of its int8 output scale of PyTorch's float output.  The
# tolerance is wider than a single op's 1 LSB because a float model's
# int8 error adds up over its layers (input, weights, every activation
# rounded).  conv1d and cnn1d are 1-D (N,C,L) models run as H = 1 2-D
# ops; cnn1d has a dynamic batch axis and its test input is a batch of 4,
# which `mcaictl run` runs sample by sample.
#   torch_check.sh MCAICTL
set -u
ctl=${1:-build/mcaictl}
py=/usr/bin/python3
src=$(dirname "$0")/torch
tol=3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
declare -A refused=()

for onnx in "$src"/*.onnx; do
	name=$(basename "$onnx" .onnx)
	m=$src/$name
	if [ -n "${refused[$name]+x}" ]; then
		msg=$("$ctl" import "$onnx" -o "$dir/$name.mcai" \
			--calibrate "$m.cal.npy" 2>&1 >/dev/null)
		rc=$?
		if [ $rc -ne 3 ] || ! grep -qF "${refused[$name]}" <<<"$msg"; then
			echo "torch: $name: exit $rc, \"$msg\", wanted 3 and \"${refused[$name]}\""
			fail=1
		fi
		continue
	fi
	if ! "$ctl" import "$onnx" -o "$dir/$name.mcai" \
		--calibrate "$m.cal.npy" >/dev/null ||
	   ! "$ctl" run "$dir/$name.mcai" --input "$m.in.npy" \
		--output "$dir/$name.out.npy" >/dev/null; then
		echo "torch: $name: import or run failed"
		fail=1
		continue
	fi
	if ! "$py" - "$dir/$name.out.npy" "$m.ref.npy" "$m.scale" "$tol" "$name" <<'PY'
import sys
import numpy as np
out, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
scale, tol = float(open(sys.argv[3]).read()), float(sys.argv[4])
if out.shape != ref.shape:
    sys.exit("shape %s, PyTorch %s" % (out.shape, ref.shape))
lsb = np.abs(out.astype(np.float64) - ref).max() / scale
print("torch: %s: %.2f LSB of PyTorch's float output" % (sys.argv[5], lsb))
sys.exit(0 if lsb <= tol else 1)
PY
	then
		echo "torch: $name: more than $tol LSB from PyTorch"
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "torch: every exported model within $tol LSB of PyTorch"
exit $fail
