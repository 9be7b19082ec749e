#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Tiny ONNX models for the importer's tests, with inputs and reference
outputs, written with onnx's helper API and a NumPy reference (Debian has
no onnxruntime).  Deterministic: `gen_fixtures.py OUTDIR`.

Each accepted model NAME gets NAME.onnx, NAME.in.npy (also NAME.in.pb),
NAME.ref.npy (the ONNX semantics in float64, quantised where the model
quantises) and NAME.scale (the output's quantisation step, for the
+-1 LSB comparison).  Each refused model gets NAME.onnx and NAME.why (a
substring of the refusal)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(15)


def save(out, name, graph, opset=13, extra_opsets=()):
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    m = helper.make_model(graph, opset_imports=ops, producer_name="mcai-tests")
    m.ir_version = 8
    onnx.save(m, os.path.join(out, name + ".onnx"))


def init(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def conv_nchw(x, w, b, stride=1, pad=0, group=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((n, o, oh, ow))
    og = o // group
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                patch = xp[0, g * cg:(g + 1) * cg, i * stride:i * stride + kh, j * stride:j * stride + kw]
                y[0, oc, i, j] = np.sum(patch * w[oc]) + (b[oc] if b is not None else 0)
    return y


def q(x, s, z):  # ONNX QuantizeLinear, int8: half to even
    return np.clip(np.rint(x / s) + z, -128, 127)


def dq(x, s, z):
    return (x - z) * s


def write_io(out, name, x, ref, scale):
    np.save(os.path.join(out, name + ".in.npy"), x.astype(np.float32))
    with open(os.path.join(out, name + ".in.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x.astype(np.float32), "x").SerializeToString())
    np.save(os.path.join(out, name + ".ref.npy"), ref.astype(np.float32))
    with open(os.path.join(out, name + ".scale"), "w") as f:
        f.write("%.9g\n" % scale)


def float_cnn(out):
    """Conv+BN+Relu, MaxPool, Flatten, Gemm: float, calibrated."""
    w = rng.normal(0, 0.3, (4, 2, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    beta = rng.normal(0, 0.1, 4).astype(np.float32)
    mean = rng.normal(0, 0.1, 4).astype(np.float32)
    var = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    fw = rng.normal(0, 0.3, (3, 4 * 3 * 3)).astype(np.float32)
    fb = rng.normal(0, 0.1, 3).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv0", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["bn"], name="bn0"),
        helper.make_node("Relu", ["bn"], ["r"], name="relu0"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool0", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flat0"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc0", transB=1),
    ]
    g = helper.make_graph(nodes, "float_cnn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                          [init("w", w), init("b", b), init("g", gamma), init("be", beta),
                           init("m", mean), init("v", var), init("fw", fw), init("fb", fb)])
    save(out, "float_cnn", g)
    cal = rng.uniform(-1, 1, (32, 2, 6, 6)).astype(np.float32)
    np.save(os.path.join(out, "float_cnn.cal.npy"), cal)
    x = cal[3:4]
    c = conv_nchw(x.astype(np.float64), w, b, pad=1)
    bn = (c - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5) * \
        gamma[None, :, None, None] + beta[None, :, None, None]
    r = np.maximum(bn, 0)
    p = r.reshape(1, 4, 3, 2, 3, 2).max(axis=(3, 5))
    y = p.reshape(1, -1) @ fw.T + fb
    # the float model: compare against the calibrated range's step
    cy = []
    for i in range(32):
        ci = conv_nchw(cal[i:i + 1].astype(np.float64), w, b, pad=1)
        bi = np.maximum((ci - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5) *
                        gamma[None, :, None, None] + beta[None, :, None, None], 0)
        pi = bi.reshape(1, 4, 3, 2, 3, 2).max(axis=(3, 5))
        cy.append(pi.reshape(1, -1) @ fw.T + fb)
    cy = np.concatenate(cy)
    lo, hi = min(cy.min(), 0), max(cy.max(), 0)
    write_io(out, "float_cnn", x, y, (hi - lo) / 255)


def qdq_conv(out):
    """QDQ: Q/DQ on input, int8 per-channel weights, int32 bias, Relu."""
    xs, xz, ys, yz = 0.02, 3, 0.03, -100
    wq = rng.integers(-127, 128, (3, 2, 3, 3)).astype(np.int8)
    ws = rng.uniform(0.002, 0.01, 3).astype(np.float32)
    bq = rng.integers(-500, 500, 3).astype(np.int32)
    bs = (xs * ws).astype(np.float32)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="qx"),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"], name="dqx"),
        helper.make_node("DequantizeLinear", ["wq", "ws"], ["wd"], name="dqw", axis=0),
        helper.make_node("DequantizeLinear", ["bq", "bs"], ["bd"], name="dqb", axis=0),
        helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], name="conv0", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu0"),
        helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["rq"], name="qy"),
        helper.make_node("DequantizeLinear", ["rq", "ys", "yz"], ["y"], name="dqy"),
    ]
    g = helper.make_graph(nodes, "qdq_conv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 5, 5])],
                          [init("xs", np.float32(xs)), init("xz", np.int8(xz)),
                           init("wq", wq), init("ws", ws), init("bq", bq), init("bs", bs),
                           init("ys", np.float32(ys)), init("yz", np.int8(yz))])
    save(out, "qdq_conv", g)
    x = rng.uniform(-1, 1, (1, 2, 5, 5)).astype(np.float32)
    xd = dq(q(x.astype(np.float64), xs, xz), xs, xz)
    wd = wq.astype(np.float64) * ws[:, None, None, None]
    c = conv_nchw(xd, wd, bq * bs.astype(np.float64), pad=1)
    y = dq(q(np.maximum(c, 0), ys, yz), ys, yz)
    write_io(out, "qdq_conv", x, y, ys)


def qop_mlp(out):
    """QOperator: QuantizeLinear, QLinearMatMul, DequantizeLinear."""
    xs, xz, ys, yz = 0.05, 0, 0.1, 10
    wq = rng.integers(-127, 128, (8, 4)).astype(np.int8)
    ws = np.float32(0.01)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="qx"),
        helper.make_node("QLinearMatMul", ["xq", "xs", "xz", "wq", "ws", "wz", "ys", "yz"], ["yq"],
                         name="mm0"),
        helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], name="dqy"),
    ]
    g = helper.make_graph(nodes, "qop_mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                          [init("xs", np.float32(xs)), init("xz", np.int8(xz)), init("wq", wq),
                           init("ws", ws), init("wz", np.int8(0)), init("ys", np.float32(ys)),
                           init("yz", np.int8(yz))])
    save(out, "qop_mlp", g)
    x = rng.uniform(-3, 3, (1, 8)).astype(np.float32)
    xq = q(x.astype(np.float64), xs, xz)
    acc = (xq - xz) @ wq.astype(np.float64)
    y = dq(q(acc * xs * ws / ys * ys, ys, yz), ys, yz)
    write_io(out, "qop_mlp", x, y, ys)


def tree_node(**kw):
    """A two-tree ONNX-ML classifier on two features (kw: mutations)."""
    a = dict(nodes_treeids=[0, 0, 0, 1, 1, 1], nodes_nodeids=[0, 1, 2, 0, 1, 2],
             nodes_featureids=[0, 0, 0, 1, 0, 0],
             nodes_values=[0.5, 0, 0, -1.5, 0, 0],
             nodes_modes=["BRANCH_LEQ", "LEAF", "LEAF", "BRANCH_GT", "LEAF", "LEAF"],
             nodes_truenodeids=[1, 0, 0, 1, 0, 0],
             nodes_falsenodeids=[2, 0, 0, 2, 0, 0],
             class_treeids=[0, 0, 1, 1, 0, 0, 1, 1],
             class_nodeids=[1, 2, 1, 2, 1, 2, 1, 2],
             class_ids=[0, 0, 0, 0, 1, 1, 1, 1],
             class_weights=[1, -1, 0.5, 0.25, -1, 1, 0.5, -0.25],
             classlabels_int64s=[0, 1], base_values=[0.125, -0.125])
    a.update(kw)
    return helper.make_node("TreeEnsembleClassifier", ["x"], ["label", "scores"],
                            domain="ai.onnx.ml", name="trees", **a)


def tree_graph(node):
    return helper.make_graph(
        [node], "trees", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 2])])


def trees(out):
    # x0 <= 0.5 picks tree 0's left leaf; x1 > -1.5 is false: tree 1's
    # right leaf.  Values chosen exact in binary: the scores are exact.
    save(out, "trees", tree_graph(tree_node()), extra_opsets=(("ai.onnx.ml", 3),))
    x = np.array([[0.25, -2.0]])
    ref = np.array([[0.125 + 1 + 0.25, -0.125 - 1 - 0.25]])
    write_io(out, "trees", x, ref, 2.0 ** -28)


def refusals(out):
    def one(name, nodes, inputs, outputs, inits, why):
        g = helper.make_graph(nodes, name, inputs, outputs, inits)
        save(out, name, g)
        with open(os.path.join(out, name + ".why"), "w") as f:
            f.write(why + "\n")

    w = rng.normal(0, 0.3, (4, 2, 3)).astype(np.float32)
    one("refuse_conv1d_mean",
        [helper.make_node("Conv", ["x", "w"], ["c"], name="Conv_12"),
         helper.make_node("ReduceMean", ["c"], ["y"], name="m", axes=[2])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 1])],
        [init("w", w)], 'node "m" (ReduceMean): not supported on a 1-D signal (N,C,L)')
    # a symbolic batch axis runs sample by sample; any other is refused,
    # as is an op across the batch axis
    one("refuse_dynamic_dim",
        [helper.make_node("Relu", ["x"], ["y"], name="r")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "L"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "L"])],
        [], 'input "x": dynamic dimension "L"')
    one("refuse_batch_mean",
        [helper.make_node("ReduceMean", ["x"], ["y"], name="m", axes=[0, 1])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        [], 'node "m" (ReduceMean): works across the batch axis')
    one("refuse_op",
        [helper.make_node("Einsum", ["x", "x"], ["y"], name="e0", equation="ij,ij->ij")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [], 'node "e0" (Einsum): op not supported')
    one("refuse_uncalibrated",
        [helper.make_node("Sigmoid", ["x"], ["y"], name="s0")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [], "pass --calibrate")
    for name, kw, why in (
            ("refuse_tree_cycle", dict(nodes_truenodeids=[0, 0, 0, 1, 0, 0]),
             "a node its tree's root does not reach"),
            ("refuse_tree_dag", dict(nodes_falsenodeids=[1, 0, 0, 2, 0, 0]),
             "a node reached twice"),
            ("refuse_tree_lt", dict(nodes_modes=["BRANCH_LT", "LEAF", "LEAF",
                                                 "BRANCH_GT", "LEAF", "LEAF"]),
             "a split mode other than BRANCH_LEQ"),
            ("refuse_tree_feature", dict(nodes_featureids=[9, 0, 0, 1, 0, 0]),
             "a split on a feature the input does not have")):
        with open(os.path.join(out, name + ".why"), "w") as f:
            f.write('node "trees" (TreeEnsembleClassifier): ' + why + "\n")
        save(out, name, tree_graph(tree_node(**kw)), extra_opsets=(("ai.onnx.ml", 3),))
    lin = helper.make_node("LinearClassifier", ["x"], ["label", "scores"],
                           domain="ai.onnx.ml", name="lin",
                           coefficients=[1.0, 2.0, 3.0, 4.0], classlabels_ints=[0, 1],
                           post_transform="PROBIT")
    save(out, "refuse_linear", tree_graph(lin), extra_opsets=(("ai.onnx.ml", 1),))
    with open(os.path.join(out, "refuse_linear.why"), "w") as f:
        f.write('node "lin" (LinearClassifier): post_transform PROBIT not supported\n')


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    float_cnn(out)
    qdq_conv(out)
    qop_mlp(out)
    trees(out)
    refusals(out)


if __name__ == "__main__":
    main()
