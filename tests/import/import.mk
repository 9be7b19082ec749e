# SPDX-License-Identifier: GPL-2.0
#
# `make check-import`: mcaictl import and run on ONNX models written by
# tests/import/gen_fixtures.py, compared with a NumPy reference (+-1 LSB).
.PHONY: check-import
check-import: $(B)/mcaictl
	tests/import/check.sh $(B)/mcaictl
