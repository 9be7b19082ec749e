#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# `make vib-trees`: a gradient-boosted classifier trained with
# scikit-learn on the simulated vibration features (the CSVs of
# `mcai-vibtrain --dump-features`), written as an ONNX-ML
# TreeEnsembleClassifier with onnx.helper (what skl2onnx would write for
# it: BRANCH_LEQ splits, leaf weights learning_rate * value, the prior's
# log-odds as base_values), plus the held-out features and sklearn's
# classes for the agreement check.
#
#   vibtrees.py TRAIN_CSV TEST_CSV OUT_ONNX OUT_HELDOUT_BIN OUT_CAL_NPY
#
# OUT_HELDOUT_BIN: a record per held-out window, its 42 int8 features and
# scikit-learn's class (graph_agree --records); OUT_CAL_NPY: 16 training
# windows, float, for the importer's test vector and feature range.
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.ensemble import GradientBoostingClassifier

CLASSES = ["normal", "outer-race", "inner-race", "imbalance"]


def main():
    tr_csv, te_csv, out_onnx, out_heldout, out_cal = sys.argv[1:6]
    tr = np.loadtxt(tr_csv, delimiter=",", dtype=np.float32)
    te = np.loadtxt(te_csv, delimiter=",", dtype=np.float32)
    xtr, ytr = tr[:, :-1], tr[:, -1].astype(np.int64)
    xte, yte = te[:, :-1], te[:, -1].astype(np.int64)
    nf = xtr.shape[1]

    clf = GradientBoostingClassifier(n_estimators=40, max_depth=3,
                                     learning_rate=0.2, subsample=1.0,
                                     random_state=15)
    clf.fit(xtr, ytr)
    lr = clf.learning_rate
    base = clf._raw_predict_init(xtr[:1])[0].astype(np.float64)

    nt, nn, nf_ids, nv, modes, tn, fn = [], [], [], [], [], [], []
    ct, cn, cid, cw = [], [], [], []
    tree_id = 0
    for stage in clf.estimators_:
        for k, est in enumerate(stage):
            t = est.tree_
            for i in range(t.node_count):
                nt.append(tree_id)
                nn.append(i)
                if t.children_left[i] == -1:
                    modes.append("LEAF")
                    nf_ids.append(0)
                    nv.append(0.0)
                    tn.append(0)
                    fn.append(0)
                    ct.append(tree_id)
                    cn.append(i)
                    cid.append(k)
                    cw.append(float(lr * t.value[i][0][0]))
                else:
                    modes.append("BRANCH_LEQ")
                    nf_ids.append(int(t.feature[i]))
                    nv.append(float(t.threshold[i]))
                    tn.append(int(t.children_left[i]))
                    fn.append(int(t.children_right[i]))
            tree_id += 1
    node = helper.make_node(
        "TreeEnsembleClassifier", ["features"], ["label", "scores"],
        domain="ai.onnx.ml", name="vib_trees",
        nodes_treeids=nt, nodes_nodeids=nn, nodes_featureids=nf_ids,
        nodes_values=nv, nodes_modes=modes, nodes_truenodeids=tn,
        nodes_falsenodeids=fn, class_treeids=ct, class_nodeids=cn,
        class_ids=cid, class_weights=cw,
        classlabels_int64s=list(range(len(CLASSES))),
        base_values=[float(b) for b in base], post_transform="SOFTMAX")
    graph = helper.make_graph(
        [node], "vib_trees",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, nf])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT,
                                       [1, len(CLASSES)])])
    model = helper.make_model(
        graph, producer_name="mcai vibtrees.py",
        opset_imports=[helper.make_opsetid("", 13),
                       helper.make_opsetid("ai.onnx.ml", 3)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out_onnx)

    # What the ONNX says, in float64, must be what sklearn decides.
    raw = clf.decision_function(xte)
    pred = clf.predict(xte)
    assert (np.argmax(raw, 1) == pred).all()
    assert (xte == np.round(xte)).all() and np.abs(xte).max() <= 128
    np.hstack([xte.astype(np.int8).view(np.uint8),
               pred.astype(np.uint8)[:, None]]).tofile(out_heldout)
    np.save(out_cal, xtr[:16])
    print("trees=%d\nmax_depth=3\nheldout_windows=%d\n"
          "sklearn_accuracy=%.4f\nsklearn_correct=%d\n"
          "# int8_correct: held-out windows on which the int8 blob picks"
          " scikit-learn's class"
          % (tree_id, len(yte), (pred == yte).mean(), int((pred == yte).sum())))


if __name__ == "__main__":
    main()
