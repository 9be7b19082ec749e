# SPDX-License-Identifier: GPL-2.0
#
# mcai: `make` builds mcai.ko and the tools; `make check` runs every test;
# `make demo` boots a guest and shows, step by step, what mcai does.
# Both install what they need first (`make deps`).

KDIR ?= $(shell d=/lib/modules/$$(uname -r)/build; \
		[ -d $$d ] && echo $$d || \
		ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1)
# Yocto's `module` class (and other image builders) name the kernel tree
# KERNEL_SRC and expect `make` and `make modules_install` to build and
# install the modules only: the tools need user-space libraries such a
# recipe does not provide.
ifdef KERNEL_SRC
KDIR := $(KERNEL_SRC)
endif

B := build
CC ?= cc
CLANG ?= clang
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -I. -MMD -MP
# Tests run with AddressSanitizer (leak checking included) and UBSan.
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
sobj = $(patsubst %.c,$(B)/san/%.o,$(1))

.SECONDARY:
.PHONY: all module tools deps check check-unit check-fuzz check-static \
	check-vm check-vibtrain check-debug check-faults soak bench demo check-demo \
	clean help \
	model vib-models modules_install arm64 check-arm64 check-arm64-short

ifdef KERNEL_SRC
all: module
else
all: module tools
endif

help:
	@echo "make            build kmod/mcai.ko (KDIR=$(KDIR)) and the tools in $(B)/"
	@echo "make deps       install the Debian packages the project needs"
	@echo "make check      every test: unit, mcaid over loopback TLS, fuzz, static checks, QEMU guests (6.1, 6.12, 6.12-rt; a short arm64 6.1 lane)"
	@echo "make check-debug  guest tests on a 6.1 KASAN/lockdep/UBSAN/kmemleak kernel (built once, ~20-40 min; not in CI)"
	@echo "make check-faults allocating guest tests on that kernel with allocations failing at random (not in CI)"
	@echo "make soak       one guest under every load for SOAK_MINUTES (60), SOAK_KERNEL=6.1|6.12|6.12-rt|debug; leak verdict and plots in tests/soak/ (not in CI)"
	@echo "make demo       the story in one guest: models (one from ONNX), sensor chain and MQTT alert, eBPF energy, a fleet hot-swapping versions"
	@echo "make install    the tools, units, udev rule, system user, man pages (DESTDIR, PREFIX=$(PREFIX))"
	@echo "make deb        mcai-dkms and mcai .deb packages into $(B)/deb/ (lintian-checked)"
	@echo "make check-deb  install them here (root), DKMS for each kernel, a guest per kernel, purge"
	@echo "make bench      engine and kernel-path benchmarks (prints figures)"
	@echo "make bench-fpu-section  the longest FPU section per shipped model and x86 path (prints figures)"
	@echo "make plots      render the committed figures as PNGs (gnuplot; make plot-data-* measures them again)"
	@echo "make model      retrain the shipped Fashion-MNIST model"
	@echo "make vib-models retrain the simulated-vibration models of mcai_simsensor.ko"
	@echo "make arm64      cross-build modules (Debian arm64 6.1 headers, fetched) and tools into $(B)/arm64/"
	@echo "make check-arm64  guest tests on Debian's arm64 6.1 kernel, -cpu cortex-a53 and max (not in CI)"
	@echo "make mlperf-models  rebuild the MLPerf Tiny reference models (models/mlperf-tiny/)"
	@echo "make cnn-model  retrain the PyTorch Fashion-MNIST CNN and re-import it (needs python3-torch)"
	@echo "make vib-trees  retrain the scikit-learn tree ensemble and re-import it (needs python3-sklearn)"
	@echo "make conformance  rewrite tests/import/conformance.md from ONNX's node tests"

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# INSTALL_MOD_PATH (or Yocto's MODLIB) reaches kbuild from the command line.
modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

# Each room's build: its sources and tools (each adds to `tools`).
include models/models.mk bpf/bpf.mk runtime/runtime.mk
# make install, install-dkms, deb, check-deb
include packaging/packaging.mk

tools: $(B)/mcai-hostile

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call simd_cflags,$<) -c $< -o $@

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) $(call simd_cflags,$<) -c $< -o $@

HOSTILE_SRCS := tests/hostile.c tests/hostile_main.c $(MODELS_USER)
$(B)/mcai-hostile: $(call obj,$(HOSTILE_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

# Guest test programs: one per tests/vm/prog/*.c, raw ABI + user engine.
VM_PROGS := $(patsubst tests/vm/prog/%.c,$(B)/vm/%,$(wildcard tests/vm/prog/*.c))
tools: $(VM_PROGS)
$(B)/vm/%: $(call obj,tests/vm/prog/%.c $(MODELS_USER))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

-include tests/unit/unit.mk tests/fuzz/fuzz.mk
-include tests/fed/fed.mk
-include tests/ops/ops.mk
-include tests/eval/eval.mk
-include tests/prov/prov.mk
-include tests/import/import.mk
-include tests/plots.mk

# The engine as the kernel builds it: -O2, no SIMD, no FPU, no red zone;
# the SIMD kernels with their own flags, as kmod/Kbuild builds them.
KERNEL_LIKE := -O2 -mno-sse -mno-mmx -mno-sse2 -mno-3dnow -mno-avx \
	       -mno-red-zone -fno-tree-vectorize
$(B)/kflags/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O%,$(CFLAGS)) $(KERNEL_LIKE) $(call simd_cflags,$<) \
		-c $< -o $@

# Every engine source the bench runs is built kernel-like; the writers and
# the XNNPACK side are plain user space.
BENCH_ENGINE := $(patsubst %.c,$(B)/kflags/%.o,$(MODELS_CORE))
BENCH_SRCS := tests/bench/engine_bench.c tests/bench/xnn_graph.c \
	      tests/bench/synth_graphs.c $(filter-out $(MODELS_CORE),$(MODELS_USER))
$(B)/engine-bench: $(call obj,$(BENCH_SRCS)) $(BENCH_ENGINE)
	$(CC) $(CFLAGS) -o $@ $^ -lXNNPACK -lz -lm

# The longest FPU section per shipped model and path: the kernel-like
# engine with simd.c built to report each section's begin and end
# (models/engine/port_simd.h), and the AVX-VNNI kernels' EVEX build.
FPUSEC_ENGINE := $(patsubst %.c,$(B)/kflags/%.o,$(filter-out models/engine/simd.c,$(MODELS_CORE))) \
		 $(B)/kflags/fpuhook/models/engine/simd.o $(SIMD_EVEX_KFLAGS)
$(B)/kflags/fpuhook/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O%,$(CFLAGS)) $(KERNEL_LIKE) -DMCAI_FPU_SECTION_HOOK -c $< -o $@
$(B)/kflags/evex/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O%,$(CFLAGS)) $(KERNEL_LIKE) $(SIMD_EVEX_CFLAGS) -c $< -o $@
$(B)/fpu-section-bench: $(call obj,tests/bench/fpu_section_bench.c \
		$(filter-out $(MODELS_CORE),$(MODELS_USER))) $(FPUSEC_ENGINE)
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

# Prints the table models/engine/fpu-sections.txt holds (not a test).
.PHONY: bench-fpu-section
bench-fpu-section: $(B)/fpu-section-bench
	$(B)/fpu-section-bench $(wildcard models/*.mcai models/mlperf-tiny/*.mcai)

# Secure aggregation cost vs number of nodes (complete graph vs SecAgg+).
$(B)/secagg-bench: $(call obj,tests/bench/secagg_bench.c runtime/fed/secagg.c \
		runtime/fed/proto.c)
	$(CC) $(CFLAGS) -o $@ $^ $(FED_LIBS) -lm

# Engine vs XNNPACK on the host, then ring / ioctl / user engine in a guest.
bench: deps $(B)/engine-bench
	$(B)/engine-bench $(wildcard models/*.mcai models/mlperf-tiny/*.mcai)
	$(MAKE) $(B)/secagg-bench && $(B)/secagg-bench
	tests/bench/kernel_bench.sh
	tests/bench/telemetry_bench.sh
	$(MAKE) $(B)/mcaid && tests/bench/fed_bench.sh

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)

deps:
	@tests/deps.sh

# `make check` is what CI runs: unit tests (ASan+UBSan+LSan), a bounded
# fuzz run, sparse + checkpatch, a short arm64 guest lane, then the guest
# tests under QEMU.  tests/stages.sh runs them in this order and reports
# the time of each.
check: deps
	MAKE="$(MAKE)" tests/stages.sh all check-unit check-fed check-fed-personal \
		check-ops check-prov \
		check-import check-conformance check-cnn-model check-vib-trees \
		check-vibtrain check-mlperf check-fuzz check-static check-plots \
		check-deb check-arm64-short check-demo check-vm

check-static:
	tests/layout.sh
	KDIR=$(KDIR) tests/static.sh

# Guest tests on every kernel of the matrix (MCAI_KERNELS narrows it).
VM_TESTS ?= $(sort $(wildcard tests/vm/guest/*.sh))
check-vm: tools
	tests/vm/matrix.sh $(VM_TESTS)

# arm64 gateways (tests/vm/README.md, "arm64"): everything cross-built
# into build/arm64/ against Debian's arm64 headers, fetched and cached in
# /var/tmp/mcai-arm64 (ARM64_KERNELS="6.1 6.12" adds 6.12).
ARM64_KERNELS ?= 6.1
# The x86 guest program records the x86 user-space engine's Fashion-MNIST
# scores for the arm64 guest's 15-fmnist.sh to match.
arm64: deps $(B)/vm/fmnist_bitexact $(B)/gen/onnx/onnx.pb-c.h
	MAKE="$(MAKE)" ARM64_KERNELS="$(ARM64_KERNELS)" tests/vm/build-arm64.sh

# The guest tests on Debian's arm64 kernels (tests/vm/matrix.sh), each on a
# Cortex-A53 and on QEMU's `max` CPU.  ARM64_TESTS narrows them.
ARM64_TESTS ?= $(VM_TESTS)
ARM64_MATRIX ?= $(foreach k,$(ARM64_KERNELS),arm64-$(k)@cortex-a53 arm64-$(k)@max)
check-arm64: arm64
	MCAI_KERNELS="$(ARM64_MATRIX)" tests/vm/matrix.sh $(ARM64_TESTS)

# make check's arm64 lane: the tests that say the port works (sanity, ABI,
# Fashion-MNIST bit-exact with x86, the simulated sensor), on 6.1 and a
# Cortex-A53 only, within a few minutes of TCG.
ARM64_SHORT ?= 00-sanity 10-abi 15-fmnist 60-simsensor
check-arm64-short: arm64
	MCAI_KERNELS=arm64-6.1@cortex-a53 tests/vm/matrix.sh \
		$(patsubst %,tests/vm/guest/%.sh,$(ARM64_SHORT))

# Deep check, not in CI: the guest tests on a 6.1 debug kernel built once
# in /var/tmp/mcai-debug-kernel (tests/vm/debug-kernel.sh).
check-debug: tools
	tests/vm/check-debug.sh $(VM_TESTS)

# Allocations failing at random in the allocating guest tests, on the
# debug kernel (tests/vm/faults-run.sh; FAULT_TESTS= to choose).
check-faults: tools
	tests/vm/faults-run.sh $(FAULT_TESTS)

# Soak, not in CI: sensor, telemetry, swaps, sessions and an mcaid
# federation in one guest for SOAK_MINUTES; memory sampled, leaks judged
# (tests/soak/soak.sh; SOAK_KERNEL=debug for the debug kernel).
soak: deps tools
	tests/soak/soak.sh

# The demo's guest part is tests/demo.sh (tests/demo/run.sh boots it and
# shows its lines); the CNN it loads is imported from ONNX here, on the
# host.  check-demo runs it in `make check` and wants its verdict.
demo: deps
	$(MAKE) tools $(B)/demo/fmnist-cnn.mcai $(B)/demo/pki/ca.crt
	tests/demo/run.sh

check-demo: tools $(B)/demo/fmnist-cnn.mcai $(B)/demo/pki/ca.crt
	MCAI_DEMO_LOG=$(B)/demo/check-console.log tests/demo/run.sh \
		>$(B)/demo/check-demo.log 2>&1 || \
		{ tail -n 40 $(B)/demo/check-demo.log; exit 1; }
	grep -E '^demo: (PASS|wall time)' $(B)/demo/check-demo.log

# README.md's picture, rendered by Graphviz and committed.
architecture.png: architecture.dot
	dot -Tpng -Gdpi=80 $< -o $@

$(B)/demo/fmnist-cnn.mcai: models/fmnist-cnn.onnx $(B)/mcaictl $(B)/cnn/cal.npy
	@mkdir -p $(dir $@)
	$(CNN_IMPORT) -o $@

# the test PKI of the demo's MQTT node (emulated, openssl is slow)
$(B)/demo/pki/ca.crt: tests/fed/mkcerts.sh
	rm -rf $(B)/demo/pki
	tests/fed/mkcerts.sh $(B)/demo/pki >/dev/null
	chmod 755 $(B)/demo/pki

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean || true
	rm -rf $(B)
