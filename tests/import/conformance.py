#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# ONNX's own node tests (Debian's libonnx-testdata) through `mcaictl
# import` and `mcaictl run`: every test whose op the importer claims,
# its first data set, a line per test and totals per op, as Markdown.
#
#   conformance.py MCAICTL NODE_TEST_DIR > tests/import/conformance.md
#
# A test passes when every output is within the tolerance:
#  - a quantised test (integer outputs: QLinearConv, QLinearMatMul,
#    ConvInteger, MatMulInteger, QuantizeLinear): +-1 LSB of the output,
#    the importer's stated tolerance against ONNX (models/README.md);
#  - a float test, imported with its own input as the calibration set:
#    +-2 LSB of the output's int8 scale, the scale calibration gives it,
#    (max(ref, 0) - min(ref, 0)) / 255: one step for rounding the output,
#    one for the input's and the weights' int8 rounding carried through.
# A test the importer refuses is listed with its reason (exit status 3 or
# 4); any other outcome, or a larger error, fails with the error in LSB.
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

# The ops models/README.md says the importer accepts (ai.onnx domain).
CLAIMED = {
    "Conv", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger",
    "Gemm", "MatMul", "Add", "Mul", "Relu", "Clip", "Sigmoid", "Tanh",
    "HardSigmoid", "HardSwish", "MaxPool", "AveragePool",
    "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape", "Concat",
    "Softmax", "Pad", "BatchNormalization", "Identity", "Dropout",
    "QuantizeLinear", "DequantizeLinear",
}
# Node tests feed weights, biases, scales, zero points, shapes and bounds
# as graph inputs; the importer wants them constant (a micro-model's
# weights are), so for these ops every input after the first becomes an
# initialiser holding the test's own value.  Add, Mul and Concat keep
# both operands as activations.
FOLD = {
    "Conv", "QLinearConv", "ConvInteger", "QLinearMatMul", "MatMulInteger",
    "Gemm", "MatMul", "Clip", "Pad", "Reshape", "BatchNormalization",
    "QuantizeLinear", "DequantizeLinear",
}
FLOAT_LSB = 2.0
QUANT_LSB = 1.0
# An AveragePool whose padding is left out of the count runs as the
# engine's average pool, which keeps its input's quantisation (TFLite's
# rule; models/README.md): it rounds at the input's step, and its stated
# tolerance is 1 LSB of the input's scale (the input's rounding and the
# average's).  Every other AveragePool runs as a depthwise convolution
# with the output's own scale and is held to FLOAT_LSB.
IN_LSB = 1.0
# Failures whose cause is the int8 representation itself, said in the table.
WHY = {
    "test_softmax_large_number": "its two rows span 1..10003: one int8 input "
                                 "scale (39 a step) leaves the first row all one value",
}


def pool_at_input_scale(m):
    n = m.graph.node[0]
    if len(m.graph.node) != 1 or n.op_type != "AveragePool":
        return False
    at = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
    auto = at.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    padded = any(at.get("pads", [])) or auto in ("SAME_UPPER", "SAME_LOWER")
    return padded and not at.get("count_include_pad", 0)


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def reason(msg):
    # "mcaictl: /path/model.onnx: why" -> "why", stable across machines
    msg = msg.strip().splitlines()[-1] if msg.strip() else "no message"
    if "model.onnx: " in msg:  # the test's, or the folded copy
        msg = msg.split("model.onnx: ", 1)[1]
    return msg.replace("|", "\\|")


def fold(m, ins, tmp):
    """The model with every input after the first an initialiser."""
    keep = []
    for k, vi in enumerate(m.graph.input):
        if k == 0:
            keep.append(vi)
            continue
        t = onnx.TensorProto()
        with open(ins[k], "rb") as f:
            t.ParseFromString(f.read())
        t.name = vi.name
        m.graph.initializer.append(t)
    del m.graph.input[:]
    m.graph.input.extend(keep)
    path = os.path.join(tmp, "model.onnx")
    onnx.save(m, path)
    return path, ins[:1]


def run_test(ctl, d, m, tmp):
    ds = os.path.join(d, "test_data_set_0")
    ins = sorted(glob.glob(os.path.join(ds, "input_*.pb")))
    outs = sorted(glob.glob(os.path.join(ds, "output_*.pb")))
    blob = os.path.join(tmp, "m.mcai")
    model = os.path.join(d, "model.onnx")
    if m.graph.node[0].op_type in FOLD and len(ins) > 1 and \
            len(ins) == len(m.graph.input):
        model, ins = fold(m, ins, tmp)
    try:
        arrays = [load_pb(p) for p in ins]
    except ValueError:
        arrays = []  # a sequence or an optional: not a tensor
    cmd = [ctl, "import", model, "-o", blob]
    floats = bool(arrays) and all(a.dtype == np.float32 for a in arrays)
    if floats:
        # The test's own input is the calibration set: a batch of one
        # sample needs the batch dimension the importer expects.
        for k, a in enumerate(arrays):
            p = os.path.join(tmp, "cal%d.npy" % k)
            np.save(p, a[None] if a.ndim == 0 or a.shape[0] != 1 else a)
            cmd += ["--calibrate", p]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode in (3, 4):
        return "refused", reason(r.stderr)
    if r.returncode != 0:
        return "failed", "import exit %d: %s" % (r.returncode, reason(r.stderr))
    cmd = [ctl, "run", blob]
    for p in ins:
        cmd += ["--input", p]
    got = [os.path.join(tmp, "out%d.pb" % k) for k in range(len(outs))]
    for p in got:
        cmd += ["--output", p]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return "failed", "run exit %d: %s" % (r.returncode, reason(r.stderr))
    worst = 0.0
    note = ""
    for g, o in zip(got, outs):
        ref = load_pb(o)
        out = load_pb(g)
        if out.shape != ref.shape:
            return "failed", "shape %s, ONNX %s" % (list(out.shape), list(ref.shape))
        if np.issubdtype(ref.dtype, np.integer):
            lsb, tol = 1.0, QUANT_LSB
        else:
            lsb = (max(float(ref.max()), 0.0) - min(float(ref.min()), 0.0)) / 255.0
            lsb = lsb if lsb > 0 else 1.0 / 255.0
            tol = FLOAT_LSB
        err = float(np.abs(out.astype(np.float64) - ref.astype(np.float64)).max()) / lsb
        if err > tol + 1e-6:
            why = "max error %.2f LSB (tolerance %g)" % (err, tol)
            err_in = None
            if floats and len(arrays) == 1 and not np.issubdtype(ref.dtype, np.integer):
                # pools keep their input's quantisation (TFLite's rule),
                # so they round at the input's step: say how many
                a = arrays[0]
                lsb_in = (max(float(a.max()), 0.0) - min(float(a.min()), 0.0)) / 255.0
                if lsb_in > 0:
                    err_in = err * lsb / lsb_in
                    why += ", %.2f LSB of the input's scale" % err_in
            if err_in is not None and err_in <= IN_LSB + 1e-6 and \
                    pool_at_input_scale(m):
                worst = max(worst, err)
                note = ", %.2f LSB of the input's scale (tolerance %g: an " \
                       "average pool at its input's scale)" % (err_in, IN_LSB)
                continue
            if os.path.basename(d) in WHY:
                why += ": " + WHY[os.path.basename(d)]
            return "failed", why
        worst = max(worst, err)
    return "passed", "max error %.2f LSB%s" % (worst, note)


def main():
    ctl, root = sys.argv[1], sys.argv[2]
    rows = {}
    for d in sorted(glob.glob(os.path.join(root, "test_*"))):
        name = os.path.basename(d)
        if name.endswith("_expanded") or not os.path.isdir(
                os.path.join(d, "test_data_set_0")):
            continue
        try:
            m = onnx.load(os.path.join(d, "model.onnx"))
        except Exception:
            continue
        ops = [n.op_type for n in m.graph.node if n.domain in ("", "ai.onnx")]
        if len(ops) != len(m.graph.node) or not ops or ops[0] not in CLAIMED:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            res, why = run_test(ctl, d, m, tmp)
        rows.setdefault(ops[0], []).append((name, res, why))

    tot = {"passed": 0, "refused": 0, "failed": 0}
    print("<!-- SPDX-License-Identifier: GPL-2.0 -->")
    print("# ONNX node tests through `mcaictl import` and `mcaictl run`\n")
    print("Written by `make conformance` (tests/import/conformance.py) from "
          "Debian's libonnx-testdata; `make check-conformance` re-runs it and "
          "fails on any difference.  Each test's first data set; a quantised "
          "test passes within +-%g LSB of its integer output, a float test "
          "(calibrated on its own input) within +-%g LSB of the output's int8 "
          "scale, (max(ref, 0) - min(ref, 0)) / 255.  For %s, every input "
          "after the first is made an initialiser with the test's value "
          "(the importer wants constant weights, scales, shapes and bounds).  "
          "A float test's error includes its input's int8 rounding: where "
          "an op narrows the range (an average) and keeps its input's "
          "quantisation, as the engine's pools do (TFLite's rule), that is "
          "more than 2 steps of the output's scale.  An AveragePool that "
          "leaves its padding out of the count runs as the engine's average "
          "pool, at its input's scale, and is held to %g LSB of the input's "
          "scale (its error is given in both scales); every other "
          "AveragePool runs as a depthwise convolution requantised to the "
          "output's own scale.\n" % (QUANT_LSB, FLOAT_LSB, ", ".join(sorted(FOLD)), IN_LSB))
    print("| op | passed | refused | failed |")
    print("|---|---|---|---|")
    for op in sorted(rows):
        c = {k: sum(1 for r in rows[op] if r[1] == k) for k in tot}
        for k in tot:
            tot[k] += c[k]
        print("| %s | %d | %d | %d |" % (op, c["passed"], c["refused"], c["failed"]))
    print("| **total** | **%d** | **%d** | **%d** |\n" %
          (tot["passed"], tot["refused"], tot["failed"]))
    print("| test | result | detail |")
    print("|---|---|---|")
    for op in sorted(rows):
        for name, res, why in rows[op]:
            print("| %s | %s | %s |" % (name, res, why))


if __name__ == "__main__":
    main()
