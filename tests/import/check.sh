#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mcaictl import and run end to end on the models of gen_fixtures.py:
# each accepted model's output (from .npy and from TensorProto inputs)
# within +-1 LSB of the output's scale of the NumPy reference, every
# refused model with exit status 3 and its reason.  Usage: check.sh MCAICTL
set -u
ctl=${1:-build/mcaictl}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

"$py" "$(dirname "$0")/gen_fixtures.py" "$dir" || exit 1
for ref in "$dir"/*.ref.npy; do
	m=${ref%.ref.npy}
	name=$(basename "$m")
	cal=()
	[ -f "$m.cal.npy" ] && cal=(--calibrate "$m.cal.npy")
	if ! "$ctl" import "$m.onnx" -o "$m.mcai" "${cal[@]}" >/dev/null; then
		echo "import: $name: import failed"
		fail=1
		continue
	fi
	for fmt in npy pb; do
		if ! "$ctl" run "$m.mcai" --input "$m.in.$fmt" \
			--output "$m.out.$fmt" >/dev/null; then
			echo "import: $name: run on .$fmt failed"
			fail=1
			continue
		fi
		if ! "$py" - "$m.out.$fmt" "$ref" "$m.scale" <<'PY'
import sys
import numpy as np
from onnx import numpy_helper, TensorProto
out, ref, scale = sys.argv[1], sys.argv[2], float(open(sys.argv[3]).read())
if out.endswith(".pb"):
    t = TensorProto()
    t.ParseFromString(open(out, "rb").read())
    o = numpy_helper.to_array(t)
else:
    o = np.load(out)
r = np.load(ref)
if o.shape != r.shape:
    sys.exit("shape %s, reference %s" % (o.shape, r.shape))
lsb = np.abs(o.astype(np.float64) - r).max() / scale
print("%.3f LSB" % lsb)
sys.exit(0 if lsb <= 1.0 + 1e-4 else "more than 1 LSB")
PY
		then
			echo "import: $name (.$fmt): outside +-1 LSB"
			fail=1
		fi
	done
done
for why in "$dir"/*.why; do
	m=${why%.why}
	msg=$("$ctl" import "$m.onnx" -o "$dir/refused.mcai" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 3 ] || ! grep -qF "$(cat "$why")" <<<"$msg"; then
		echo "import: $(basename "$m"): exit $rc, \"$msg\", wanted 3 and \"$(cat "$why")\""
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "import: every model within 1 LSB, every refusal with its reason"
exit $fail
