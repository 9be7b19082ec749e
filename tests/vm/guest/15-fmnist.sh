#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# All 10,000 Fashion-MNIST test images through /dev/mcai: bit-identical to
# the user-space engine, and as accurate as the reports say, for the MLP
# of mcai-train and for the CNN trained by PyTorch and imported from
# ONNX (models/fmnist-cnn.*).
set -u
R=${MCAI_ROOT:?}
[ -e "$R/models/fmnist-mlp.mcai" ] || exit 77
. "$R/tests/vm/lib.sh"
insmod "$MCAI_KO" || exit 1
"$R/build/vm/fmnist_bitexact" "$R/models/fmnist-mlp.mcai" "$R/models/fmnist-mlp.txt"
ret=$?
if [ -e "$R/models/fmnist-cnn.mcai" ]; then
	"$R/build/vm/graph_agree" --device "$R/models/fmnist-cnn.mcai" \
		"$R/models/fmnist-cnn.txt" --fmnist /usr/share/datasets/fashion-mnist || ret=1
fi
rmmod mcai || ret=1
exit $ret
