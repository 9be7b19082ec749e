#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# `make torch-models` (not in `make check`: python3-torch): small float
# models exported by PyTorch's own ONNX exporter, one per layer kind the
# importer maps (conv2d, depthwise, pools, residual add, linear, conv1d,
# and cnn1d: a 1-D CNN with BatchNorm1d, pools and a dynamic batch axis),
# with what torch_check.sh needs to compare `mcaictl run` against
# PyTorch without PyTorch:
#   NAME.onnx       the export (opset 13, batch 1; cnn1d's batch axis "N")
#   NAME.cal.npy    32 calibration inputs, NAME.in.npy the test input
#                   (cnn1d: a batch of 4, run sample by sample)
#   NAME.ref.npy    PyTorch's float output for it
#   NAME.scale      the int8 output scale calibration gives:
#                   (max(out, 0) - min(out, 0)) / 255 over the set
# Seeded, one thread: the same files every run.
#
#   torch_models.py OUT_DIR
import os
import sys

import numpy as np
import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(4, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        y = torch.relu(self.a(x))
        return torch.relu(y + self.b(y))


class Cnn1d(nn.Module):
    """A small vibration-style 1-D CNN: every 1-D layer kind the importer
    maps onto the 2-D ops with H = 1."""

    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv1d(3, 8, 5, padding=2, bias=False), nn.BatchNorm1d(8), nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(8, 12, 3, stride=2, dilation=2, padding=2), nn.ReLU6(),
            nn.AvgPool1d(3, stride=1, padding=1, count_include_pad=False),
            nn.Conv1d(12, 12, 3, padding=1, groups=12), nn.ReLU(),
            nn.AvgPool1d(2),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(12, 4))

    def forward(self, x):
        return self.f(x)


def models():
    return {
        "conv2d": (nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1),
                                 nn.ReLU(), nn.Conv2d(8, 4, 3)), (1, 3, 12, 12)),
        "depthwise": (nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=4),
                                    nn.BatchNorm2d(4), nn.ReLU6(),
                                    nn.Conv2d(4, 8, 1)), (1, 4, 10, 10)),
        "pools": (nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), nn.ReLU(),
                                nn.MaxPool2d(2), nn.AvgPool2d(3, stride=1,
                                                              padding=1,
                                                              count_include_pad=False),
                                nn.AdaptiveAvgPool2d(1), nn.Flatten()),
                  (1, 2, 16, 16)),
        "residual": (Residual(), (1, 4, 8, 8)),
        "linear": (nn.Sequential(nn.Flatten(), nn.Linear(24, 16), nn.ReLU(),
                                 nn.Linear(16, 5), nn.Softmax(dim=1)),
                   (1, 2, 3, 4)),
        "conv1d": (nn.Sequential(nn.Conv1d(3, 8, 5, padding=2), nn.ReLU(),
                                 nn.MaxPool1d(2)), (1, 3, 32)),
        "cnn1d": (Cnn1d(), (1, 3, 64)),
    }

# Exported with a dynamic batch axis, tested on a batch of this many.
BATCHED = {"cnn1d": 4}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for name, (net, shape) in models().items():
        torch.manual_seed(15)
        np.random.seed(15)
        net.eval()
        for mod in net.modules():
            if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
                # non-trivial statistics, so that the fold is exercised
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
        cal = torch.randn((32,) + shape[1:])
        x = cal[:BATCHED.get(name, 1)]
        with torch.no_grad():
            ref = net(x)
            outs = net(cal)
        dyn = {"x": {0: "N"}, "y": {0: "N"}} if name in BATCHED else None
        torch.onnx.export(net, x[:1], os.path.join(out, name + ".onnx"),
                          input_names=["x"], output_names=["y"],
                          opset_version=13, do_constant_folding=True,
                          dynamic_axes=dyn)
        np.save(os.path.join(out, name + ".cal.npy"), cal.numpy())
        np.save(os.path.join(out, name + ".in.npy"), x.numpy())
        np.save(os.path.join(out, name + ".ref.npy"), ref.numpy())
        lo, hi = min(float(outs.min()), 0.0), max(float(outs.max()), 0.0)
        with open(os.path.join(out, name + ".scale"), "w") as f:
            f.write("%.9g\n" % ((hi - lo) / 255.0))


if __name__ == "__main__":
    main()
