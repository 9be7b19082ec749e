#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# `make cnn-model`, step one: train the Fashion-MNIST CNN with PyTorch,
# export it to ONNX and write its float accuracy for the report.
# Deterministic: fixed seeds, one thread, deterministic kernels, the
# shuffles drawn from a seeded generator.  The importer does the rest,
# calibrated on fmnist_cal.py's training images (models/models.mk).
#
#   fmnist_cnn.py DATASET_DIR OUT_ONNX OUT_FLOAT_TXT
import gzip
import sys

import numpy as np
import torch
from torch import nn


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Net(nn.Module):
    # Two 3x3 conv blocks and a small head: about 1.2 M MACs, an arena
    # of a few tens of KiB, well inside the kernel's default limits.
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(32 * 7 * 7, 96),
            nn.ReLU(), nn.Linear(96, 10))

    def forward(self, x):
        return self.head(self.features(x))


def main():
    d, out_onnx, out_txt = sys.argv[1:4]
    torch.manual_seed(15)
    np.random.seed(15)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    xtr = idx(d + "/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    ytr = idx(d + "/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = idx(d + "/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    yte = idx(d + "/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    xtr = torch.from_numpy(xtr).unsqueeze(1)
    xte = torch.from_numpy(xte).unsqueeze(1)
    ytr = torch.from_numpy(ytr)
    yte = torch.from_numpy(yte)

    net = Net()
    epochs, batch = 12, 128
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=4e-3, epochs=epochs,
        steps_per_epoch=(len(xtr) + batch - 1) // batch)
    lossf = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(15)
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), batch):
            sel = perm[i:i + batch]
            xb = xtr[sel]
            # Horizontal flips: clothes are left-right symmetric enough,
            # and it buys a few tenths of a point on the test set.
            flip = torch.rand(len(sel), generator=g) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            opt.zero_grad()
            loss = lossf(net(xb), ytr[sel])
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            acc = (net(xte).argmax(1) == yte).float().mean().item()
        print("epoch %d: loss %.4f, test accuracy %.4f" % (ep + 1, loss.item(), acc),
              flush=True)

    net.eval()
    with torch.no_grad():
        correct = int((net(xte).argmax(1) == yte).sum())
    torch.onnx.export(net, xte[:1], out_onnx, input_names=["image"],
                      output_names=["logits"], opset_version=13,
                      do_constant_folding=True)
    with open(out_txt, "w") as f:
        f.write("float_correct=%d\nfloat_accuracy=%.4f\n" % (correct, correct / 10000))
    print("float: %d / 10000" % correct)


if __name__ == "__main__":
    main()
