# SPDX-License-Identifier: GPL-2.0
#
# mcai: `make` builds mcai.ko and the tools; `make check` runs every test;
# `make demo` boots a guest and classifies images through /dev/mcai.
# Both install what they need first (`make deps`).

KDIR ?= $(shell d=/lib/modules/$$(uname -r)/build; \
		[ -d $$d ] && echo $$d || \
		ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1)

B := build
CC ?= cc
CLANG ?= clang
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -I. -MMD -MP
# Tests run with AddressSanitizer (leak checking included) and UBSan.
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer

# The model library, one source for the kernel and user space.
MODELS_CORE := models/engine/verify.c models/engine/engine.c models/engine/sha256.c
MODELS_USER := $(MODELS_CORE) models/train/writer.c models/train/quant.c models/train/dataset.c
RUNTIME_LIB := runtime/lib/device.c runtime/lib/json.c
# Federation library (mcaid): protocol codec, config, version store,
# aggregation strategies, float MLP trainer.  Listed by name, each piece
# lands together with its unit tests.
FED_SRCS := $(wildcard runtime/fed/proto.c runtime/daemon/config.c runtime/fed/store.c \
		       runtime/lib/atomicfile.c \
		       runtime/fed/strategy.c models/train/mlp.c runtime/fed/provenance.c \
		       runtime/fed/secagg.c runtime/fed/dp.c runtime/fed/anomaly.c \
		       runtime/fed/fedsim.c runtime/fed/samples.c \
		       runtime/fed/adamstate.c)
# Quantise after aggregation the way mcai-train does (needs models/train/mlp.c).
FED_SRCS += models/train/mlpquant.c
# OpenSSL for what the federation signs, agrees keys with and encrypts.
FED_LIBS := -lssl -lcrypto

# eBPF telemetry, user side (bpf/telemetry.c needs the skeleton).
TELEMETRY_SRCS := bpf/telemetry.c bpf/power.c bpf/calibrate.c
BPF_LIBS := -lbpf -lelf -lz

MCAICTL_SRCS := runtime/ctl/mcaictl.c runtime/ctl/mcaictl_telemetry.c $(RUNTIME_LIB) \
		runtime/fed/sigtrailer.c runtime/daemon/energyfeed.c \
		runtime/ctl/mcaictl_fleet.c \
		runtime/ctl/mcaictl_provenance.c runtime/fed/provenance.c \
		runtime/ctl/mcaictl_samples.c runtime/fed/samples.c \
		runtime/lib/atomicfile.c \
		runtime/fed/proto.c \
		$(TELEMETRY_SRCS) \
		$(MODELS_USER)
TRAIN_SRCS := models/train/train.c models/train/mlp.c models/train/cli.c $(MODELS_USER)
TRAIN_SRCS += models/train/mlpquant.c
HOSTILE_SRCS := tests/hostile.c tests/hostile_main.c $(MODELS_USER)
VIBTRAIN_SRCS := models/train/vibtrain.c models/train/mlp.c models/sensor/vibration.c models/train/cli.c \
		 models/sensor/features.c $(MODELS_USER)

TOOLS := $(B)/mcaictl $(B)/mcai-train $(B)/mcai-hostile $(B)/mcai-vibtrain

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
sobj = $(patsubst %.c,$(B)/san/%.o,$(1))

.SECONDARY:
.PHONY: all module tools deps check check-unit check-fuzz check-static \
	check-vm check-vibtrain check-debug bench demo clean help model \
	vib-models

all: module tools

help:
	@echo "make            build kmod/mcai.ko (KDIR=$(KDIR)) and the tools in $(B)/"
	@echo "make deps       install the Debian packages the project needs"
	@echo "make check      every test: unit, mcaid over loopback TLS, fuzz, static checks, QEMU guests (6.1, 6.12, 6.12-rt)"
	@echo "make check-debug  guest tests on a 6.1 KASAN/lockdep/UBSAN/kmemleak kernel (built once, ~20-40 min; not in CI)"
	@echo "make demo       boot a guest, load the shipped model, classify images"
	@echo "make bench      engine and kernel-path benchmarks (prints figures)"
	@echo "make model      retrain the shipped Fashion-MNIST model"
	@echo "make vib-models retrain the simulated-vibration models of mcai_simsensor.ko"

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tools: $(TOOLS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(B)/mcaictl: $(call obj,$(MCAICTL_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(BPF_LIBS) $(FED_LIBS) -lm

# The telemetry programs: CO-RE object, then its skeleton.  The shipped
# power tables are compiled in (bpf/power/embed.sh).
BPFTOOL ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	      -I/usr/include/$(shell uname -m)-linux-gnu -Ibpf
$(B)/bpf/telemetry.bpf.o: bpf/telemetry.bpf.c bpf/telemetry.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(B)/bpf/telemetry.skel.h: $(B)/bpf/telemetry.bpf.o
	$(BPFTOOL) gen skeleton $< name mcai_telemetry > $@.tmp
	mv $@.tmp $@
$(B)/gen/power_tables.h: bpf/power/embed.sh $(wildcard bpf/power/*.power)
	@mkdir -p $(dir $@)
	bpf/power/embed.sh $(wildcard bpf/power/*.power) > $@.tmp
	mv $@.tmp $@
$(call obj,bpf/telemetry.c) $(call sobj,bpf/telemetry.c): \
	$(B)/bpf/telemetry.skel.h
$(call obj,bpf/power.c) $(call sobj,bpf/power.c): $(B)/gen/power_tables.h

$(B)/mcai-train: $(call obj,$(TRAIN_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

$(B)/mcai-hostile: $(call obj,$(HOSTILE_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

$(B)/mcai-vibtrain: $(call obj,$(VIBTRAIN_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

# Signs blobs for require_signed=1 (OpenSSL CMS, like scripts/sign-file).
tools: $(B)/mcai-sign
$(B)/mcai-sign: $(call obj,runtime/ctl/mcai-sign.c runtime/fed/sigtrailer.c)
	$(CC) $(CFLAGS) -o $@ $^ -lcrypto

# The federation daemon; its integration tests are in tests/fed/fed.mk.
MCAID_SRCS := runtime/daemon/mcaid.c runtime/fed/net.c runtime/fed/tls.c \
	      runtime/daemon/privdrop.c runtime/lib/log.c $(FED_SRCS) \
	      runtime/daemon/aggregator.c runtime/daemon/node.c runtime/lib/device.c \
	      runtime/daemon/teleagent.c runtime/daemon/energyfeed.c $(TELEMETRY_SRCS) \
	      $(filter-out models/train/mlp.c,$(MODELS_USER))
MCAID_LIBS := -luring -lssl -lcrypto -lcap-ng $(BPF_LIBS) -lm
tools: $(B)/mcaid
$(B)/mcaid: $(call obj,$(MCAID_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(MCAID_LIBS)

# Guest test programs: one per tests/vm/prog/*.c, raw ABI + user engine.
VM_PROGS := $(patsubst tests/vm/prog/%.c,$(B)/vm/%,$(wildcard tests/vm/prog/*.c))
tools: $(VM_PROGS)
$(B)/vm/%: $(call obj,tests/vm/prog/%.c $(MODELS_USER))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

-include tests/unit/unit.mk tests/fuzz/fuzz.mk
-include tests/fed/fed.mk
-include tests/eval/eval.mk
-include tests/prov/prov.mk

# The engine as the kernel builds it: -O2, no SIMD, no FPU, no red zone.
KERNEL_LIKE := -O2 -mno-sse -mno-mmx -mno-sse2 -mno-3dnow -mno-avx \
	       -mno-red-zone -fno-tree-vectorize
$(B)/kflags/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O%,$(CFLAGS)) $(KERNEL_LIKE) -c $< -o $@

BENCH_ENGINE := $(patsubst %.c,$(B)/kflags/%.o,models/engine/engine.c)
$(B)/engine-bench: $(call obj,tests/bench/engine_bench.c \
		$(filter-out models/engine/engine.c,$(MODELS_USER))) $(BENCH_ENGINE)
	$(CC) $(CFLAGS) -o $@ $^ -lXNNPACK -lz -lm

# Secure aggregation cost vs number of nodes (complete graph vs SecAgg+).
$(B)/secagg-bench: $(call obj,tests/bench/secagg_bench.c runtime/fed/secagg.c \
		runtime/fed/proto.c)
	$(CC) $(CFLAGS) -o $@ $^ $(FED_LIBS) -lm

# Engine vs XNNPACK on the host, then ring / ioctl / user engine in a guest.
bench: deps $(B)/engine-bench
	$(B)/engine-bench models/fmnist-mlp.mcai
	$(MAKE) $(B)/secagg-bench && $(B)/secagg-bench
	tests/bench/kernel_bench.sh
	tests/bench/telemetry_bench.sh
	$(MAKE) $(B)/mcaid && tests/bench/fed_bench.sh

-include $(shell find $(B) -name '*.d' 2>/dev/null)

deps:
	@tests/deps.sh

# `make check` is what CI runs: unit tests (ASan+UBSan+LSan), a bounded
# fuzz run, sparse + checkpatch, then the guest tests under QEMU.
# tests/stages.sh runs them in this order and reports the time of each.
check: deps
	MAKE="$(MAKE)" tests/stages.sh all check-unit check-fed check-prov \
		check-vibtrain check-fuzz check-static check-vm

check-vibtrain: $(B)/mcai-vibtrain
	$(B)/mcai-vibtrain --selftest

check-static:
	tests/layout.sh
	KDIR=$(KDIR) tests/static.sh

# Guest tests on every kernel of the matrix (MCAI_KERNELS narrows it).
VM_TESTS ?= $(sort $(wildcard tests/vm/guest/*.sh))
check-vm: tools
	tests/vm/matrix.sh $(VM_TESTS)

# Deep check, not in CI: the guest tests on a 6.1 debug kernel built once
# in /var/tmp/mcai-debug-kernel (tests/vm/debug-kernel.sh).
check-debug: tools
	tests/vm/check-debug.sh $(VM_TESTS)

demo: deps
	$(MAKE) tools
	MCAI_KERNELS=6.1 tests/vm/matrix.sh tests/demo.sh

model: $(B)/mcai-train
	$(B)/mcai-train --out models/fmnist-mlp.mcai --report models/fmnist-mlp.txt

# The vibration models of mcai_simsensor.ko, trained on simulated data.
vib-models: $(B)/mcai-vibtrain
	$(B)/mcai-vibtrain --selftest
	$(B)/mcai-vibtrain --quiet --detector models/vib-detector.mcai \
		--classifier models/vib-classifier.mcai \
		--report models/vib-models.txt

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean || true
	rm -rf $(B)
