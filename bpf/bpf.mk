# SPDX-License-Identifier: GPL-2.0
#
# bpf/ (included by the top-level Makefile): the CO-RE telemetry object,
# its skeleton and the user side that loads it (linked into mcaictl and
# mcaid).  bpf/README.md is the map.

# eBPF telemetry, user side (bpf/telemetry.c needs the skeleton).
TELEMETRY_SRCS := bpf/telemetry.c bpf/power.c bpf/calibrate.c
BPF_LIBS := -lbpf -lelf -lz

# The telemetry programs: CO-RE object, then its skeleton.  The shipped
# power tables are compiled in (bpf/power/embed.sh).
BPFTOOL ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
# The programs read raw tracepoint arguments (an array of u64, the same on
# every 64-bit architecture) and no vmlinux.h: the target only selects
# bpf_tracing.h's register macros and the <asm/types.h> of the C compiler's
# multiarch directory, so `make arm64` (CC=aarch64-linux-gnu-gcc) gets an
# arm64 object from the same rule.
BPF_TRIPLET := $(shell $(CC) -dumpmachine)
BPF_ARCH := $(if $(filter aarch64-%,$(BPF_TRIPLET)),arm64,x86)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
	      -I/usr/include/$(BPF_TRIPLET) -Ibpf
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
# The generated headers are included by bare name from $(B)'s directories,
# so a cross-build (B=build/arm64) compiles against its own skeleton.
$(call obj,bpf/telemetry.c) $(call sobj,bpf/telemetry.c): \
	$(B)/bpf/telemetry.skel.h
$(call obj,bpf/telemetry.c) $(call sobj,bpf/telemetry.c): CFLAGS += -I$(B)/bpf
$(call obj,bpf/power.c) $(call sobj,bpf/power.c): $(B)/gen/power_tables.h
$(call obj,bpf/power.c) $(call sobj,bpf/power.c): CFLAGS += -I$(B)/gen
