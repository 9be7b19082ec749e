# SPDX-License-Identifier: GPL-2.0
#
# `make check-import`: mcaictl import and run on ONNX models written by
# tests/import/gen_fixtures.py, compared with a NumPy reference (+-1 LSB),
# and on the PyTorch-exported models of tests/import/torch/ against
# PyTorch's own outputs (committed, so that no torch is needed here), and
# on scikit-learn linear models written as ONNX-ML (sklearn_linear.py,
# trained at check time: python3-sklearn) against scikit-learn.
#
# `make conformance` rewrites tests/import/conformance.md from ONNX's node
# tests (Debian's libonnx-testdata); `make check-conformance` re-runs
# them and fails on any difference from the committed table.
ONNX_NODE_TESTS ?= /usr/share/libonnx-testdata/data/node
.PHONY: check-import conformance check-conformance torch-models
check-import: $(B)/mcaictl
	tests/import/check.sh $(B)/mcaictl
	tests/import/torch_check.sh $(B)/mcaictl
	tests/import/sklearn_check.sh $(B)/mcaictl

conformance: $(B)/mcaictl
	/usr/bin/python3 tests/import/conformance.py $(B)/mcaictl \
		$(ONNX_NODE_TESTS) > tests/import/conformance.md

check-conformance: $(B)/mcaictl
	@mkdir -p $(B)/import
	/usr/bin/python3 tests/import/conformance.py $(B)/mcaictl \
		$(ONNX_NODE_TESTS) > $(B)/import/conformance.md
	diff -u tests/import/conformance.md $(B)/import/conformance.md
	@sed -n 's/^| \*\*total\*\* | \*\*\([0-9]*\)\*\* | \*\*\([0-9]*\)\*\* | \*\*\([0-9]*\)\*\* |$$/conformance: as committed: \1 passed, \2 refused, \3 failed/p' \
		tests/import/conformance.md

# Not in `make check` (python3-torch): re-export tests/import/torch/.
torch-models:
	/usr/bin/python3 tests/import/torch_models.py tests/import/torch
