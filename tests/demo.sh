#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`, run inside the guest: load mcai.ko and the shipped
# Fashion-MNIST model, classify the test images through /dev/mcai, print
# accuracy and a few predictions.
set -eu
R=${MCAI_ROOT:?run by make demo}
. "$R/tests/vm/lib.sh"
CTL=$R/build/mcaictl
DATA=/usr/share/datasets/fashion-mnist
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
LABELS=$DATA/t10k-labels-idx1-ubyte.gz
NAMES=(T-shirt/top Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag "Ankle boot")

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "insmod mcai.ko ($(uname -r))"
insmod "$MCAI_KO"
"$CTL" info

step "mcaictl load models/fmnist-mlp.mcai"
"$CTL" load "$R/models/fmnist-mlp.mcai"
"$CTL" list

step "the first 12 test images, classified in the kernel"
"$CTL" infer fmnist-mlp "$IMAGES" --labels "$LABELS" -n 12 |
	awk -v names="$(IFS=,; echo "${NAMES[*]}")" '
		BEGIN { n = split(names, cls, ",") }
		NF == 4 && $1 ~ /^[0-9]+$/ {
			printf "  image %2d: %-12s (label %-12s) %s\n", $1,
			       cls[$2 + 1], cls[$3 + 1], $2 == $3 ? "ok" : "WRONG"
			next
		}
		{ print "  " $0 }'

step "all 10,000 test images through /dev/mcai"
"$CTL" infer fmnist-mlp "$IMAGES" --labels "$LABELS" -q
echo "  (the trainer reported int8 accuracy $(sed -n 's/^int8_accuracy=//p' "$R/models/fmnist-mlp.txt"), float $(sed -n 's/^float_accuracy=//p' "$R/models/fmnist-mlp.txt"))"

step "unload and rmmod"
"$CTL" unload fmnist-mlp
rmmod mcai
echo "demo done"
