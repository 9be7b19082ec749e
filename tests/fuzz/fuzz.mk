# SPDX-License-Identifier: GPL-2.0
#
# Fuzzing (included by the top-level Makefile): a libFuzzer target for the
# blob verifier and the engine, built with clang and ASan + UBSan.
#
#   make check-fuzz [FUZZ_SECONDS=60]   run over a scratch copy of the
#                                       seed corpus; any crash fails
#   make fuzz-corpus                    regenerate tests/fuzz/corpus/
#
# Crash inputs land in $(B)/fuzz-run/artifacts/; reproduce one with
# `$(B)/mcai-fuzz FILE`.

FUZZ_SECONDS ?= 60
# check-fuzz starts each target from its committed corpus with seed
# FUZZ_SEED and stops after its *_RUNS inputs or its *_SECONDS, whichever
# comes first: every run explores about as far along about the same path
# (libFuzzer is not repeatable bit for bit: two runs of one seed end with
# corpora a few percent apart).  Hunting for new bugs is
# `make check-fuzz FUZZ_SEED=0` (a fresh seed each run) with larger
# *_RUNS and *_SECONDS; what it finds goes into the corpus.
FUZZ_SEED ?= 1
FUZZ_FIXED = -seed=$(FUZZ_SEED) -reload=0
fuzz_runs = -runs=$(1)
FUZZ_RUNS ?= 1200000
FUZZ_CC ?= $(CLANG)
FUZZ_SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
		 -fno-omit-frame-pointer
FUZZ_SRCS := tests/fuzz/fuzz_blob.c $(MODELS_CORE)
FUZZ_ARGS ?= -max_total_time=$(FUZZ_SECONDS) $(call fuzz_runs,$(FUZZ_RUNS)) \
	     $(FUZZ_FIXED) -max_len=8192 -timeout=10 \
	     -rss_limit_mb=2048 -print_final_stats=1 -dict=tests/fuzz/mcai.dict
fobj = $(patsubst %.c,$(B)/fuzz/%.o,$(1))

$(B)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out -O%,$(CFLAGS)) $(FUZZ_SANFLAGS) \
		-fsanitize=fuzzer-no-link $(call simd_cflags,$<) -c $< -o $@

$(B)/mcai-fuzz: $(call fobj,$(FUZZ_SRCS))
	$(FUZZ_CC) $(FUZZ_SANFLAGS) -fsanitize=fuzzer -o $@ $^

check-fuzz: $(B)/mcai-fuzz
	rm -rf $(B)/fuzz-run
	mkdir -p $(B)/fuzz-run/corpus $(B)/fuzz-run/artifacts
	cp tests/fuzz/corpus/* $(B)/fuzz-run/corpus/
	@echo "fuzz: seed $(FUZZ_SEED), $(FUZZ_RUNS) inputs or $(FUZZ_SECONDS) s from $$(ls tests/fuzz/corpus | wc -l) seeds (log: $(B)/fuzz-run/log)"
	@if $(B)/mcai-fuzz $(FUZZ_ARGS) -artifact_prefix=$(B)/fuzz-run/artifacts/ \
		$(B)/fuzz-run/corpus > $(B)/fuzz-run/log 2>&1; then \
		grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss)' $(B)/fuzz-run/log; \
	else \
		tail -n 80 $(B)/fuzz-run/log; echo "fuzz: FAILED"; exit 1; \
	fi

# The seed corpus generator (a normal build: writer + hostile variants).
$(B)/mcai-fuzz-corpus: $(call obj,tests/fuzz/gen_corpus.c tests/hostile.c \
		$(filter-out models/train/dataset.c,$(MODELS_USER)))
	$(CC) $(CFLAGS) -o $@ $^ -lm

.PHONY: fuzz-corpus
fuzz-corpus: $(B)/mcai-fuzz-corpus
	rm -rf tests/fuzz/corpus
	mkdir -p tests/fuzz/corpus
	$(B)/mcai-fuzz-corpus tests/fuzz/corpus

# Second target: the federation protocol (runtime/fed/proto.c), frame header
# and every payload decoder, with a re-encode oracle (tests/fuzz/
# fuzz_frame.c).  check-fuzz runs it first, for FUZZ_FRAME_SECONDS.
#   make fuzz-frame-corpus    regenerate tests/fuzz/corpus-frame/
FUZZ_FRAME_SECONDS ?= 20
FUZZ_FRAME_RUNS ?= 3000000
FUZZ_FRAME_ARGS ?= -max_total_time=$(FUZZ_FRAME_SECONDS) $(FUZZ_FIXED) \
		   $(call fuzz_runs,$(FUZZ_FRAME_RUNS)) -max_len=65536 \
		   -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

$(B)/mcai-fuzz-frame: $(call fobj,tests/fuzz/fuzz_frame.c runtime/fed/proto.c)
	$(FUZZ_CC) $(FUZZ_SANFLAGS) -fsanitize=fuzzer -o $@ $^

.PHONY: check-fuzz-frame fuzz-frame-corpus
check-fuzz: check-fuzz-frame
check-fuzz-frame: $(B)/mcai-fuzz-frame
	rm -rf $(B)/fuzz-frame-run
	mkdir -p $(B)/fuzz-frame-run/corpus $(B)/fuzz-frame-run/artifacts
	cp tests/fuzz/corpus-frame/* $(B)/fuzz-frame-run/corpus/
	@echo "fuzz-frame: seed $(FUZZ_SEED), $(FUZZ_FRAME_RUNS) inputs or $(FUZZ_FRAME_SECONDS) s from $$(ls tests/fuzz/corpus-frame | wc -l) seeds (log: $(B)/fuzz-frame-run/log)"
	@if $(B)/mcai-fuzz-frame $(FUZZ_FRAME_ARGS) \
		-artifact_prefix=$(B)/fuzz-frame-run/artifacts/ \
		$(B)/fuzz-frame-run/corpus > $(B)/fuzz-frame-run/log 2>&1; then \
		grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss)' $(B)/fuzz-frame-run/log; \
	else \
		tail -n 80 $(B)/fuzz-frame-run/log; echo "fuzz-frame: FAILED"; exit 1; \
	fi

# Third target: signed model manifests (runtime/fed/provenance.c), run by
# check-fuzz for FUZZ_MANIFEST_SECONDS over tests/fuzz/corpus-manifest.
FUZZ_MANIFEST_SECONDS ?= 10
FUZZ_MANIFEST_RUNS ?= 3000000
$(B)/mcai-fuzz-manifest: $(call fobj,tests/fuzz/fuzz_manifest.c \
		runtime/fed/provenance.c runtime/fed/modelcheck.c \
		runtime/fed/sigtrailer.c runtime/fed/proto.c runtime/fed/store.c \
		runtime/lib/atomicfile.c $(MODELS_CORE))
	$(FUZZ_CC) $(FUZZ_SANFLAGS) -fsanitize=fuzzer -o $@ $^ $(FED_LIBS)

.PHONY: check-fuzz-manifest
check-fuzz: check-fuzz-manifest
check-fuzz-manifest: $(B)/mcai-fuzz-manifest
	rm -rf $(B)/fuzz-manifest-run
	mkdir -p $(B)/fuzz-manifest-run/corpus $(B)/fuzz-manifest-run/artifacts
	cp tests/fuzz/corpus-manifest/* $(B)/fuzz-manifest-run/corpus/
	@echo "fuzz-manifest: seed $(FUZZ_SEED), $(FUZZ_MANIFEST_RUNS) inputs or $(FUZZ_MANIFEST_SECONDS) s (log: $(B)/fuzz-manifest-run/log)"
	@if $(B)/mcai-fuzz-manifest -max_total_time=$(FUZZ_MANIFEST_SECONDS) \
		$(FUZZ_FIXED) $(call fuzz_runs,$(FUZZ_MANIFEST_RUNS)) \
		-max_len=1024 -timeout=10 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz-manifest-run/artifacts/ \
		$(B)/fuzz-manifest-run/corpus > $(B)/fuzz-manifest-run/log 2>&1; then \
		grep -E '^(Done|stat::number_of_executed_units)' $(B)/fuzz-manifest-run/log; \
	else \
		tail -n 80 $(B)/fuzz-manifest-run/log; echo "fuzz-manifest: FAILED"; exit 1; \
	fi

# Fourth target: secure-aggregation messages (runtime/fed/secagg.c) from a
# hostile peer, FUZZ_SECAGG_SECONDS in check-fuzz, no seed corpus needed.
FUZZ_SECAGG_SECONDS ?= 10
FUZZ_SECAGG_RUNS ?= 40000
$(B)/mcai-fuzz-secagg: $(call fobj,tests/fuzz/fuzz_secagg.c \
		runtime/fed/secagg.c runtime/fed/proto.c)
	$(FUZZ_CC) $(FUZZ_SANFLAGS) -fsanitize=fuzzer -o $@ $^ $(FED_LIBS)

.PHONY: check-fuzz-secagg
check-fuzz: check-fuzz-secagg
check-fuzz-secagg: $(B)/mcai-fuzz-secagg
	rm -rf $(B)/fuzz-secagg-run
	mkdir -p $(B)/fuzz-secagg-run/corpus $(B)/fuzz-secagg-run/artifacts
	@echo "fuzz-secagg: seed $(FUZZ_SEED), $(FUZZ_SECAGG_RUNS) inputs or $(FUZZ_SECAGG_SECONDS) s (log: $(B)/fuzz-secagg-run/log)"
	@if $(B)/mcai-fuzz-secagg -max_total_time=$(FUZZ_SECAGG_SECONDS) \
		$(FUZZ_FIXED) $(call fuzz_runs,$(FUZZ_SECAGG_RUNS)) \
		-max_len=4096 -timeout=10 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz-secagg-run/artifacts/ \
		$(B)/fuzz-secagg-run/corpus > $(B)/fuzz-secagg-run/log 2>&1; then \
		grep -E '^(Done|stat::number_of_executed_units)' $(B)/fuzz-secagg-run/log; \
	else \
		tail -n 80 $(B)/fuzz-secagg-run/log; echo "fuzz-secagg: FAILED"; exit 1; \
	fi

$(B)/mcai-frame-seeds: tests/fuzz/fuzz_frame.c $(call obj,runtime/fed/proto.c)
	$(CC) $(CFLAGS) -DMCAI_FRAME_SEEDS -o $@ $(filter %.c %.o,$^)

fuzz-frame-corpus: $(B)/mcai-frame-seeds
	rm -rf tests/fuzz/corpus-frame
	mkdir -p tests/fuzz/corpus-frame
	$(B)/mcai-frame-seeds tests/fuzz/corpus-frame

# Fifth target: the ONNX importer and the .npy / TensorProto readers
# (models/import/), FUZZ_ONNX_SECONDS in check-fuzz over the committed
# seeds of tests/fuzz/corpus-onnx (tiny models from
# tests/import/gen_fixtures.py and tensors, and a two-tree ensemble).
FUZZ_ONNX_SECONDS ?= 20
FUZZ_ONNX_RUNS ?= 800000
FUZZ_ONNX_SRCS := tests/fuzz/fuzz_onnx.c $(IMPORT_SRCS) $(ONNX_GEN) \
		  $(filter-out models/train/dataset.c,$(MODELS_USER))
$(call fobj,tests/fuzz/fuzz_onnx.c $(IMPORT_SRCS)): $(B)/gen/onnx/onnx.pb-c.h
$(B)/mcai-fuzz-onnx: $(call fobj,$(FUZZ_ONNX_SRCS))
	$(FUZZ_CC) $(FUZZ_SANFLAGS) -fsanitize=fuzzer -o $@ $^ $(IMPORT_LIBS) -lm

.PHONY: check-fuzz-onnx
check-fuzz: check-fuzz-onnx
check-fuzz-onnx: $(B)/mcai-fuzz-onnx
	rm -rf $(B)/fuzz-onnx-run
	mkdir -p $(B)/fuzz-onnx-run/corpus $(B)/fuzz-onnx-run/artifacts
	cp tests/fuzz/corpus-onnx/* $(B)/fuzz-onnx-run/corpus/
	@echo "fuzz-onnx: seed $(FUZZ_SEED), $(FUZZ_ONNX_RUNS) inputs or $(FUZZ_ONNX_SECONDS) s (log: $(B)/fuzz-onnx-run/log)"
	@if $(B)/mcai-fuzz-onnx -max_total_time=$(FUZZ_ONNX_SECONDS) \
		$(FUZZ_FIXED) $(call fuzz_runs,$(FUZZ_ONNX_RUNS)) \
		-max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz-onnx-run/artifacts/ \
		$(B)/fuzz-onnx-run/corpus > $(B)/fuzz-onnx-run/log 2>&1; then \
		grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss)' $(B)/fuzz-onnx-run/log; \
	else \
		tail -n 80 $(B)/fuzz-onnx-run/log; echo "fuzz-onnx: FAILED"; exit 1; \
	fi
