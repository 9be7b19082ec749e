# SPDX-License-Identifier: GPL-2.0
#
# models/ (included by the top-level Makefile): the engine, which
# kmod/Kbuild compiles into mcai.ko from the same sources, and the
# user-space trainers.  models/README.md is the map.

# The model library, one source for the kernel and user space.
MODELS_CORE := models/engine/verify.c models/engine/engine.c \
	       models/engine/sha256.c
# The operator kernels of engine v2 (models/engine/ops.h).
MODELS_CORE += models/engine/ops.c models/engine/fixedpoint.c \
	       models/engine/op_conv.c models/engine/op_pool.c \
	       models/engine/op_elementwise.c models/engine/op_reduce.c \
	       models/engine/op_softmax.c models/engine/op_activation.c \
	       models/engine/op_head.c models/engine/op_tree.c
# Blob format v2, graphs: verifier and interpreter (models/engine/graph.h).
MODELS_CORE += models/engine/graph_verify.c models/engine/graph_run.c \
	       models/engine/model.c models/engine/graph_where.c
# SIMD (models/engine/simd.h): the dispatch and drivers are plain C; each
# ISA's kernels are one object with its own flags, appended after every
# other flag (the kernel-like build's -mno-avx among them), as kmod/Kbuild
# does with CFLAGS_<object>.o.
MODELS_CORE += models/engine/simd.c models/engine/op_conv_simd.c
# by the compiler's target, not the host: make arm64 cross-compiles
ifneq ($(findstring x86_64,$(shell $(CC) -dumpmachine)),)
MODELS_CORE += models/engine/op_conv_avx2.c models/engine/op_conv_avx512vnni.c \
	       models/engine/op_conv_avxvnni.c
endif
SIMD_CFLAGS_op_conv_avx2 := -mavx2
SIMD_CFLAGS_op_conv_avx512vnni := -mavx2 -mbmi2 -mavx512f -mavx512bw \
				  -mavx512vl -mavx512vnni
SIMD_CFLAGS_op_conv_avxvnni := -mavx2 -mavxvnni
# Kernels since 6.2 build with -funsigned-char, 6.1 without: the ISA
# objects' results must not depend on it (GCC 12 folds some byte-lane
# intrinsics through the char type), so user space, whose tests see every
# path the host has, builds them the way the newer kernels do; the 6.1
# guest covers the signed build.
SIMD_CFLAGS_op_conv_avx2 += -funsigned-char
SIMD_CFLAGS_op_conv_avx512vnni += -funsigned-char
SIMD_CFLAGS_op_conv_avxvnni += -funsigned-char
# op_conv_avxvnni.c a second time, for the unit tests and the FPU-section
# benchmark only: its one vpdpbusd in the EVEX encoding (AVX512VL), so
# that its kernels run where the CPU has AVX-512 VNNI but not AVX-VNNI
# (op_conv_avxvnni.c, mcai_simd_stand_in()).  Never in the kernel or
# the tools.
SIMD_EVEX_SRC := models/engine/op_conv_avxvnni.c
SIMD_EVEX_CFLAGS := -DMCAI_SIMD_AVXVNNI_EVEX -mavx2 -mavx512vl -mavx512vnni \
		    -funsigned-char
ifneq ($(findstring x86_64,$(shell $(CC) -dumpmachine)),)
SIMD_EVEX_SAN := $(B)/san/evex/models/engine/op_conv_avxvnni.o
SIMD_EVEX_KFLAGS := $(B)/kflags/evex/models/engine/op_conv_avxvnni.o
endif
$(B)/san/evex/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) $(SIMD_EVEX_CFLAGS) -c $< -o $@
# arm64: NEON is in the base architecture; SDOT only in this one object,
# run only where the CPU has it (models/engine/port_simd.h)
ifneq ($(findstring aarch64,$(shell $(CC) -dumpmachine)),)
MODELS_CORE += models/engine/op_conv_neon.c models/engine/op_conv_dotprod.c
endif
SIMD_CFLAGS_op_conv_dotprod := -march=armv8.2-a+dotprod
simd_cflags = $(SIMD_CFLAGS_$(basename $(notdir $(1))))
MODELS_USER := $(MODELS_CORE) models/train/writer.c models/train/graph_writer.c models/train/quant.c \
	       models/train/opquant.c models/train/dataset.c

TRAIN_SRCS := models/train/train.c models/train/mlp.c models/train/cli.c \
	      $(MODELS_USER)
TRAIN_SRCS += models/train/mlpquant.c
VIBTRAIN_SRCS := models/train/vibtrain.c models/train/mlp.c models/train/cli.c \
		 models/sensor/vibration.c models/sensor/features.c \
		 $(MODELS_USER)

tools: $(B)/mcai-train $(B)/mcai-vibtrain
$(B)/mcai-train: $(call obj,$(TRAIN_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

$(B)/mcai-vibtrain: $(call obj,$(VIBTRAIN_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

model: $(B)/mcai-train
	$(B)/mcai-train --out models/fmnist-mlp.mcai --report models/fmnist-mlp.txt

# The vibration models of mcai_simsensor.ko, trained on simulated data.
vib-models: $(B)/mcai-vibtrain
	$(B)/mcai-vibtrain --selftest
	$(B)/mcai-vibtrain --quiet --detector models/vib-detector.mcai \
		--classifier models/vib-classifier.mcai \
		--report models/vib-models.txt

# The bigger vibration classifier mcaid escalates unsure results to
# (runtime/daemon/escalate.h): the same simulator, four times the hidden
# width and twice the windows.  Its detector is a by-product, not kept.
vib-large: $(B)/mcai-vibtrain
	$(B)/mcai-vibtrain --quiet --hidden 128 --train 24000 \
		--detector $(B)/vib-large-detector.mcai \
		--classifier models/vib-classifier-large.mcai \
		--classifier-name vib-classifier-large \
		--report models/vib-classifier-large.txt

check-vibtrain: $(B)/mcai-vibtrain
	$(B)/mcai-vibtrain --selftest

# The MLPerf Tiny reference models (models/mlperf-tiny/): three CNNs with
# synthetic weights, the autoencoder trained on the simulated sensor.
ZOO_SRCS := models/train/mlperf.c models/train/mlperf_blob.c \
	    models/train/mlperf_cnn.c models/train/mlperf_ad.c \
	    models/train/netbuild.c models/train/netquant.c \
	    models/train/autoencoder.c models/train/vibframes.c \
	    models/train/mlp.c models/train/cli.c \
	    models/sensor/vibration.c models/sensor/features.c $(MODELS_USER)

# Training is most of a run: let the compiler vectorise the trainer's
# loops (each output still sums in the same order: the same bytes).
$(B)/obj/models/train/autoencoder.o: CFLAGS += -O3

.PHONY: mlperf-models check-mlperf
tools: $(B)/mcai-zoo
$(B)/mcai-zoo: $(call obj,$(ZOO_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ -lz -lm

mlperf-models: $(B)/mcai-zoo
	@mkdir -p models/mlperf-tiny
	$(B)/mcai-zoo --out-dir models/mlperf-tiny

check-mlperf: $(B)/mcai-zoo
	$(B)/mcai-zoo --check models/mlperf-tiny

# The ONNX importer (models/import/, user space): protobuf-c's code for
# Debian's onnx.proto is generated at build time into $(B)/gen/onnx/,
# never committed.  protoc-c names the output after the .proto.
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
ONNX_GEN := $(B)/gen/onnx/onnx.pb-c.c
$(B)/gen/onnx/onnx.pb-c.c $(B)/gen/onnx/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(B)/gen/onnx
	protoc-c --proto_path=$(dir $(ONNX_PROTO)) --c_out=$(B)/gen/onnx $(notdir $(ONNX_PROTO))
IMPORT_SRCS := models/import/import.c models/import/onnx_load.c \
	       models/import/onnx_qnorm.c models/import/onnx_rewrite.c \
	       models/import/onnx_eval.c models/import/onnx_lower.c \
	       models/import/onnx_ml.c models/import/iofacts.c \
	       models/import/tensorfile.c
IMPORT_LIBS := -lprotobuf-c
# Every importer object includes the generated header.
$(call obj,$(IMPORT_SRCS)) $(call sobj,$(IMPORT_SRCS)): $(B)/gen/onnx/onnx.pb-c.h
# The generated source is compiled from build/, like any other.
$(B)/obj/$(B)/gen/%.o $(B)/san/$(B)/gen/%.o: $(B)/gen/onnx/onnx.pb-c.h

# A Fashion-MNIST CNN trained by PyTorch (not in `make check`: it needs
# python3-torch and minutes of CPU), exported to ONNX, imported with
# calibration on 1,000 training images.  check-cnn-model re-imports the
# shipped ONNX and wants the shipped blob byte for byte.
FMNIST_DIR ?= /usr/share/datasets/fashion-mnist
CNN_IMPORT = $(B)/mcaictl import models/fmnist-cnn.onnx --name fmnist-cnn \
	--calibrate $(B)/cnn/cal.npy
.PHONY: cnn-model check-cnn-model vib-trees check-vib-trees vib-large
$(B)/cnn/cal.npy: models/train/fmnist_cal.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 models/train/fmnist_cal.py $(FMNIST_DIR) 1000 $@

cnn-model: $(B)/mcaictl $(B)/vm/graph_agree $(B)/cnn/cal.npy
	/usr/bin/python3 models/train/fmnist_cnn.py $(FMNIST_DIR) \
		models/fmnist-cnn.onnx $(B)/cnn/float.txt
	$(CNN_IMPORT) -o models/fmnist-cnn.mcai
	models/train/model_report.sh models/fmnist-cnn.mcai $(B)/cnn/float.txt \
		"$(B)/vm/graph_agree models/fmnist-cnn.mcai - --fmnist $(FMNIST_DIR)" \
		> models/fmnist-cnn.txt
	cat models/fmnist-cnn.txt

check-cnn-model: $(B)/mcaictl $(B)/cnn/cal.npy
	$(CNN_IMPORT) -o $(B)/cnn/fmnist-cnn.mcai >/dev/null
	cmp models/fmnist-cnn.mcai $(B)/cnn/fmnist-cnn.mcai
	@echo "cnn-model: the shipped ONNX imports to the shipped blob, byte for byte"

# A gradient-boosted tree ensemble trained by scikit-learn on the
# simulated vibration features, written as ONNX-ML (not in `make check`:
# python3-sklearn).  The held-out windows and scikit-learn's classes for
# them ship as models/vib-trees-heldout.bin (42 int8 features + 1 class a
# record) for the guest test.
VIBTREES_IMPORT = $(B)/mcaictl import models/vib-trees.onnx --name vib-trees \
	--calibrate models/vib-trees-cal.npy
vib-trees: $(B)/mcai-vibtrain $(B)/mcaictl $(B)/vm/graph_agree
	@mkdir -p $(B)/vib
	$(B)/mcai-vibtrain --quiet --dump-features $(B)/vib
	/usr/bin/python3 models/train/vibtrees.py $(B)/vib/train.csv \
		$(B)/vib/test.csv models/vib-trees.onnx \
		models/vib-trees-heldout.bin models/vib-trees-cal.npy \
		> $(B)/vib/sklearn.txt
	$(VIBTREES_IMPORT) -o models/vib-trees.mcai
	models/train/model_report.sh models/vib-trees.mcai $(B)/vib/sklearn.txt \
		"$(B)/vm/graph_agree models/vib-trees.mcai - --records models/vib-trees-heldout.bin" \
		> models/vib-trees.txt
	cat models/vib-trees.txt

check-vib-trees: $(B)/mcaictl
	$(VIBTREES_IMPORT) -o $(B)/vib-trees.mcai >/dev/null
	cmp models/vib-trees.mcai $(B)/vib-trees.mcai
	@echo "vib-trees: the shipped ONNX imports to the shipped blob, byte for byte"
