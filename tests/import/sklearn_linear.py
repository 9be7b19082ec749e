#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# scikit-learn linear models written as ONNX-ML (there is no skl2onnx in
# Debian: the `onnx` helper writes the nodes skl2onnx would), for
# sklearn_check.sh:
#   digits-logreg   LogisticRegression, 10 classes, 64 features:
#                   LinearClassifier, post_transform SOFTMAX
#   cancer-logreg   StandardScaler + LogisticRegression, 2 classes, 30
#                   features: Scaler -> LinearClassifier in ONNX's binary
#                   form (one coefficient row), post_transform LOGISTIC
#   diabetes-linreg LinearRegression, 10 features: LinearRegressor
# Each NAME.onnx with a symbolic batch dimension "N" (run sample by
# sample), NAME.cal.npy (training rows: the calibration set),
# NAME.test.npy (held-out rows), NAME.truth.npy (their labels or
# targets), NAME.sk.npy (scikit-learn's predict_proba or predict on them).
# Seeded: the same files every run.  With --guest DIR, also the files the
# guest test (tests/vm/guest/16-graphs.sh, no Python there) imports,
# committed in tests/import/sklearn/: cancer-logreg.onnx, 64 calibration
# rows (.cal.npy) and 8 held-out rows (.in.npy).
#
#   sklearn_linear.py OUT_DIR [--guest DIR]
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def io(name, feat, outs):
    return ([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", feat])],
            outs)


def classifier_outputs(classes):
    return [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                          ["N", classes])]


def save(out, name, nodes, feat, outs, x_tr, x_te, y_te, sk):
    ins, outs = io(name, feat, outs)
    g = helper.make_graph(nodes, name, ins, outs)
    m = helper.make_model(g, producer_name="mcai-sklearn-linear",
                          opset_imports=[helper.make_opsetid("", 13),
                                         helper.make_opsetid("ai.onnx.ml", 1)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))
    np.save(os.path.join(out, name + ".cal.npy"), x_tr.astype(np.float32))
    np.save(os.path.join(out, name + ".test.npy"), x_te.astype(np.float32))
    np.save(os.path.join(out, name + ".truth.npy"), y_te)
    np.save(os.path.join(out, name + ".sk.npy"), sk.astype(np.float32))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=15,
                                              stratify=y)
    lr = LogisticRegression(max_iter=5000, random_state=15).fit(x_tr, y_tr)
    node = helper.make_node("LinearClassifier", ["x"], ["label", "probabilities"],
                            domain="ai.onnx.ml", name="logreg",
                            coefficients=lr.coef_.ravel().tolist(),
                            intercepts=lr.intercept_.tolist(),
                            classlabels_ints=[int(c) for c in lr.classes_],
                            multi_class=1, post_transform="SOFTMAX")
    save(out, "digits-logreg", [node], 64, classifier_outputs(10),
         x_tr, x_te, y_te, lr.predict_proba(x_te.astype(np.float32)))

    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=15,
                                              stratify=y)
    sc = StandardScaler().fit(x_tr)
    lr = LogisticRegression(max_iter=5000, random_state=15).fit(sc.transform(x_tr), y_tr)
    scaler = helper.make_node("Scaler", ["x"], ["scaled"], domain="ai.onnx.ml",
                              name="scaler", offset=sc.mean_.tolist(),
                              scale=(1.0 / sc.scale_).tolist())
    node = helper.make_node("LinearClassifier", ["scaled"], ["label", "probabilities"],
                            domain="ai.onnx.ml", name="logreg",
                            coefficients=lr.coef_.ravel().tolist(),
                            intercepts=lr.intercept_.tolist(),
                            classlabels_ints=[int(c) for c in lr.classes_],
                            post_transform="LOGISTIC")
    save(out, "cancer-logreg", [scaler, node], 30, classifier_outputs(2),
         x_tr, x_te, y_te,
         lr.predict_proba(sc.transform(x_te.astype(np.float32))))
    if len(sys.argv) > 3 and sys.argv[2] == "--guest":
        guest = sys.argv[3]
        os.makedirs(guest, exist_ok=True)
        shutil.copy(os.path.join(out, "cancer-logreg.onnx"), guest)
        np.save(os.path.join(guest, "cancer-logreg.cal.npy"), x_tr[:64].astype(np.float32))
        np.save(os.path.join(guest, "cancer-logreg.in.npy"), x_te[:8].astype(np.float32))

    x, y = load_diabetes(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=15)
    reg = LinearRegression().fit(x_tr, y_tr)
    node = helper.make_node("LinearRegressor", ["x"], ["variable"],
                            domain="ai.onnx.ml", name="linreg",
                            coefficients=reg.coef_.ravel().tolist(),
                            intercepts=[float(reg.intercept_)], targets=1)
    save(out, "diabetes-linreg", [node], 10,
         [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])],
         x_tr, x_te, y_te.astype(np.float32),
         reg.predict(x_te.astype(np.float32)).reshape(-1, 1))


if __name__ == "__main__":
    main()
