# SPDX-License-Identifier: GPL-2.0
#
# Unit tests (included by the top-level Makefile): the Check suites of
# tests/unit in one runner, built with $(SANFLAGS) (ASan, LeakSanitizer,
# UBSan, no recovery).  `make check-unit` builds and runs it; any failed
# test, sanitizer report or leak fails the target.

UNIT_SRCS := $(sort $(wildcard tests/unit/*.c)) tests/hostile.c
# The model library minus the dataset loader, which the tests do not use.
UNIT_LIB_SRCS := $(filter-out models/train/dataset.c,$(MODELS_USER)) $(FED_SRCS) \
		 $(TELEMETRY_SRCS) $(IMPORT_SRCS) $(ONNX_GEN)
UNIT_CHECK_CFLAGS = $(shell pkg-config --cflags check)
UNIT_CHECK_LIBS = $(shell pkg-config --libs check)

$(call sobj,$(UNIT_SRCS)): CFLAGS += $(UNIT_CHECK_CFLAGS)
# the importer's tests build models with the generated protobuf structs
$(call sobj,$(UNIT_SRCS)): $(B)/gen/onnx/onnx.pb-c.h

# and the AVX-VNNI kernels' EVEX build (models/models.mk), x86 only
$(B)/unit-tests: $(call sobj,$(UNIT_SRCS) $(UNIT_LIB_SRCS)) $(SIMD_EVEX_SAN)
	$(if $(UNIT_CHECK_LIBS),,$(error Check not found: apt-get install check pkg-config, or make deps))
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(UNIT_CHECK_LIBS) $(BPF_LIBS) $(FED_LIBS) $(IMPORT_LIBS) -lm

# Check's per-test timeouts (4 s unless a case sets its own) only bound a
# test that hangs; under ASan on a loaded 2-core machine a heavy case can
# take many times its idle time, so they are stretched tenfold: a verdict
# must not depend on the machine's load.
check-unit: $(B)/unit-tests
	CK_TIMEOUT_MULTIPLIER=10 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(B)/unit-tests
