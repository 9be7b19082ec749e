#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The report of a model trained by a framework and imported (make
# cnn-model, make vib-trees): the framework's facts (key=value lines),
# the int8 blob's correct count on the same test set (graph_agree), its
# MACs, arena and size, and whether the kernel's default limits take it.
#   model_report.sh BLOB FRAMEWORK_FACTS "GRAPH_AGREE COMMAND"
set -eu
blob=$1 facts=$2 cmd=$3
ctl=${MCAICTL:-build/mcaictl}
json=$("$ctl" --json inspect "$blob")
field() { sed -n "s/^  \"$1\": \([0-9]*\),*$/\1/p" <<<"$json"; }
macs=$(field macs)
arena=$(field arena_size)
size=$(field size)
out=$($cmd)
correct=$(sed -n 's/^int8_correct=//p' <<<"$out")
samples=$(sed -n 's/^[^:]*: \([0-9]*\) samples,.*/\1/p' <<<"$out")
[ -n "$correct" ] || { echo "model_report: no int8_correct= from $cmd" >&2; exit 1; }
echo "model=$(basename "$blob" .mcai)"
grep -E '=|^#' "$facts"
echo "int8_correct=$correct"
echo "int8_accuracy=$(awk -v c="$correct" -v n="$samples" 'BEGIN { printf "%.4f", c / n }')"
echo "macs=$macs"
echo "arena_bytes=$arena"
echo "blob_bytes=$size"
# the module's defaults: max_arena 256 KiB, max_macs 64 M
if [ "$arena" -le 262144 ] && [ "$macs" -le 67108864 ]; then
	echo "default_limits=fit"
else
	echo "default_limits=exceeded"
fi
