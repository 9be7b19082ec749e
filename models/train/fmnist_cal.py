#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# The calibration set of models/fmnist-cnn.onnx: the first N Fashion-MNIST
# training images (never test images), pixel / 255, as a float32 .npy of
# shape [N, 1, 28, 28].  NumPy only, so that `make check` can rebuild it
# from Debian's dataset and re-import the shipped ONNX byte for byte.
#
#   fmnist_cal.py DATASET_DIR N OUT_NPY
import gzip
import sys

import numpy as np


def main():
    d, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with gzip.open(d + "/train-images-idx3-ubyte.gz", "rb") as f:
        data = f.read()
    x = np.frombuffer(data, np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    np.save(out, x.astype(np.float32) / np.float32(255.0))


if __name__ == "__main__":
    main()
