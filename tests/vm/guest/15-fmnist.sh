#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# All 10,000 Fashion-MNIST test images through /dev/mcai: bit-identical to
# the user-space engine, and as accurate as the reports say, for the MLP
# of mcai-train and for the CNN trained by PyTorch and imported from
# ONNX (models/fmnist-cnn.*).  In the arm64 guest, the MLP's scores are
# also bit-identical to the x86 user-space engine's: make arm64 records
# their SHA-256 as build/arm64/fmnist-x86.sha256, which the guest sees as
# build/fmnist-x86.sha256.
set -u
R=${MCAI_ROOT:?}
[ -e "$R/models/fmnist-mlp.mcai" ] || exit 77
. "$R/tests/vm/lib.sh"
set --
if [ -e "$R/build/fmnist-x86.sha256" ]; then
	set -- --expect-sha256 "$(cat "$R/build/fmnist-x86.sha256")"
elif [ "$(uname -m)" != x86_64 ]; then
	echo "15-fmnist: FAIL: no build/fmnist-x86.sha256 (make arm64 writes it)"
	exit 1
fi
insmod "$MCAI_KO" || exit 1
"$R/build/vm/fmnist_bitexact" "$@" "$R/models/fmnist-mlp.mcai" "$R/models/fmnist-mlp.txt"
ret=$?
if [ "$(uname -m)" != x86_64 ]; then
	# 24 G MACs at TCG arm64's speed: too long for a lane; 16-graphs
	# holds the CNN bit-exact between this kernel and user space
	echo "15-fmnist: the CNN's 10,000 images run on x86 guests only"
elif [ -e "$R/models/fmnist-cnn.mcai" ]; then
	"$R/build/vm/graph_agree" --device "$R/models/fmnist-cnn.mcai" \
		"$R/models/fmnist-cnn.txt" --fmnist /usr/share/datasets/fashion-mnist || ret=1
fi
rmmod mcai || ret=1
exit $ret
