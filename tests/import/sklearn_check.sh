#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scikit-learn's linear models (sklearn_linear.py: LogisticRegression,
# StandardScaler + binary LogisticRegression, LinearRegression) written
# as ONNX-ML LinearClassifier / Scaler / LinearRegressor with a symbolic
# batch axis, imported with their training rows as the calibration set
# and run on the held-out rows as one batch (sample by sample).  Asserts:
# the int8 model's class equals scikit-learn's on >= 98% of the rows and
# its accuracy is within 1 point; every probability within 0.1 of
# scikit-learn's (the logits are int8 over a wide range: one step of
# theirs moves a probability near 0.5 by a quarter step, more than one
# LSB of the probability's scale); the regressor's R^2 within 0.01 of
# scikit-learn's and its predictions within 3 LSB of its output scale
# (the input's and the weights' int8 rounding carried through, as
# torch_check.sh allows).  Prints the figures.
#   sklearn_check.sh MCAICTL
set -u
ctl=${1:-build/mcaictl}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

if ! "$py" -c 'import sklearn' 2>/dev/null; then
	echo "sklearn: python3-sklearn missing (tests/deps.sh installs it)"
	exit 1
fi
"$py" "$(dirname "$0")/sklearn_linear.py" "$dir" || exit 1
for name in digits-logreg cancer-logreg diabetes-linreg; do
	m=$dir/$name
	if ! "$ctl" import "$m.onnx" -o "$m.mcai" --calibrate "$m.cal.npy" >/dev/null ||
	   ! "$ctl" run "$m.mcai" --input "$m.test.npy" --output "$m.out.npy" >/dev/null; then
		echo "sklearn: $name: import or run failed"
		fail=1
		continue
	fi
	"$py" - "$m" "$name" <<'PY' || fail=1
import sys
import numpy as np
m, name = sys.argv[1], sys.argv[2]
out = np.load(m + ".out.npy").astype(np.float64)
sk = np.load(m + ".sk.npy").astype(np.float64)
truth = np.load(m + ".truth.npy")
if out.shape != sk.shape:
    sys.exit("sklearn: %s: shape %s, scikit-learn %s" % (name, out.shape, sk.shape))
bad = []
if name.endswith("logreg"):
    # the blob's output scale: softmax 1/256, logistic calibrated (<= 1/255)
    err = np.abs(out - sk).max()
    mean = np.abs(out - sk).mean()
    got, want = out.argmax(1), sk.argmax(1)
    agree = (got == want).mean() * 100
    acc8, accsk = (got == truth).mean() * 100, (want == truth).mean() * 100
    print("sklearn: %s: %d rows, accuracy int8 %.2f%%, scikit-learn %.2f%%, "
          "same class %.2f%%, probabilities within %.3f (mean %.4f)"
          % (name, len(truth), acc8, accsk, agree, err, mean))
    if agree < 98 or abs(acc8 - accsk) > 1 or err > 0.1:
        bad.append("outside the bounds")
else:
    def r2(p):
        return 1 - ((truth - p[:, 0]) ** 2).sum() / ((truth - truth.mean()) ** 2).sum()
    scale = (max(sk.max(), 0) - min(sk.min(), 0)) / 255
    err = np.abs(out - sk).max() / scale
    print("sklearn: %s: %d rows, R^2 int8 %.4f, scikit-learn %.4f, "
          "predictions within %.2f LSB (%.3f)" % (name, len(truth), r2(out), r2(sk),
                                                  err, err * scale))
    if abs(r2(out) - r2(sk)) > 0.01 or err > 3:
        bad.append("outside the bounds")
sys.exit("sklearn: %s: %s" % (name, bad[0]) if bad else 0)
PY
done
[ $fail -eq 0 ] && echo "sklearn: linear models imported within bounds"
exit $fail
