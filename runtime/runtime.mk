# SPDX-License-Identifier: GPL-2.0
#
# runtime/ (included by the top-level Makefile, after models.mk and
# bpf.mk): mcaictl, mcai-sign and mcaid from runtime/ctl, runtime/daemon,
# runtime/fed and runtime/lib.  runtime/README.md is the map.

RUNTIME_LIB := runtime/lib/device.c runtime/lib/json.c
# Federation library (mcaid): protocol codec, config, version store,
# aggregation strategies, float MLP trainer.  Listed by name, each piece
# lands together with its unit tests.
FED_SRCS := $(wildcard runtime/fed/proto.c runtime/daemon/config.c \
		       runtime/fed/store.c runtime/lib/atomicfile.c \
		       runtime/fed/strategy.c models/train/mlp.c \
		       runtime/fed/provenance.c runtime/fed/modelcheck.c \
		       runtime/fed/sigtrailer.c \
		       runtime/fed/secagg.c runtime/fed/dp.c runtime/fed/anomaly.c \
		       runtime/fed/fedsim.c runtime/fed/samples.c \
		       runtime/fed/adamstate.c runtime/fed/drift.c \
		       runtime/fed/compress.c runtime/fed/personal.c \
		       runtime/fed/persstate.c \
		       runtime/fed/fedmlp.c runtime/fed/stream.c \
		       runtime/daemon/escalate.c)
# Quantise after aggregation the way mcai-train does (needs models/train/mlp.c).
FED_SRCS += models/train/mlpquant.c
# An imported graph's trailing FC head, trained in float and requantised.
FED_SRCS += runtime/fed/fedhead.c
# OpenSSL for what the federation signs, agrees keys with and encrypts.
FED_LIBS := -lssl -lcrypto

MCAICTL_SRCS := runtime/ctl/mcaictl.c runtime/ctl/mcaictl_telemetry.c \
		$(RUNTIME_LIB) \
		runtime/fed/sigtrailer.c runtime/fed/modelcheck.c \
		runtime/daemon/energyfeed.c \
		runtime/ctl/mcaictl_fleet.c runtime/ctl/mcaictl_metrics.c \
		runtime/daemon/metrics.c \
		runtime/fed/drift.c \
		runtime/ctl/mcaictl_provenance.c runtime/fed/provenance.c \
		runtime/ctl/mcaictl_samples.c runtime/fed/samples.c \
		runtime/lib/atomicfile.c \
		runtime/fed/proto.c \
		runtime/ctl/mcaictl_import.c runtime/ctl/mcaictl_run.c \
		$(IMPORT_SRCS) $(ONNX_GEN) \
		$(TELEMETRY_SRCS) \
		$(MODELS_USER)
# import and run include the importer's headers, which need the generated one
$(call obj,runtime/ctl/mcaictl_import.c runtime/ctl/mcaictl_run.c): \
	$(B)/gen/onnx/onnx.pb-c.h

tools: $(B)/mcaictl
$(B)/mcaictl: $(call obj,$(MCAICTL_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(BPF_LIBS) $(FED_LIBS) $(IMPORT_LIBS) -lm

# Signs blobs for require_signed=1 (OpenSSL CMS, like scripts/sign-file).
tools: $(B)/mcai-sign
$(B)/mcai-sign: $(call obj,runtime/ctl/mcai-sign.c runtime/fed/sigtrailer.c)
	$(CC) $(CFLAGS) -o $@ $^ -lcrypto

# The federation daemon; its integration tests are in tests/fed/fed.mk.
MCAID_SRCS := runtime/daemon/mcaid.c runtime/fed/net.c runtime/fed/tls.c \
	      runtime/daemon/privdrop.c runtime/lib/log.c $(FED_SRCS) \
	      runtime/daemon/aggregator.c runtime/daemon/node.c \
	      runtime/daemon/nodepers.c \
	      runtime/lib/device.c runtime/daemon/teleagent.c \
	      runtime/daemon/energyfeed.c $(TELEMETRY_SRCS) \
	      $(filter-out models/train/mlp.c,$(MODELS_USER))
MCAID_LIBS := -luring -lssl -lcrypto -lcap-ng $(BPF_LIBS) -lm
# The MQTT publisher when the target has libmosquitto (the arm64 cross
# lane may not): without it, mcaid refuses a config naming mqtt.broker.
MCAI_HAVE_MQTT := $(shell printf 'int main(void){return 0;}' | \
	$(CC) -x c - -lmosquitto -o /dev/null 2>/dev/null && echo y)
ifeq ($(MCAI_HAVE_MQTT),y)
MCAID_SRCS += runtime/daemon/mqtt.c
MCAID_LIBS += -lmosquitto
$(call obj,runtime/daemon/mcaid.c) $(call sobj,runtime/daemon/mcaid.c): \
	CFLAGS += -DMCAI_HAVE_MQTT
endif
# The HTTP /metrics endpoint when the target has libmicrohttpd: without
# it, mcaid refuses a config naming metrics.listen.
MCAI_HAVE_MHD := $(shell printf 'int main(void){return 0;}' | \
	$(CC) -x c - -lmicrohttpd -o /dev/null 2>/dev/null && echo y)
ifeq ($(MCAI_HAVE_MHD),y)
MCAID_SRCS += runtime/daemon/httpmetrics.c runtime/daemon/metrics.c
MCAID_LIBS += -lmicrohttpd
$(call obj,runtime/daemon/mcaid.c) $(call sobj,runtime/daemon/mcaid.c): \
	CFLAGS += -DMCAI_HAVE_MHD
endif
tools: $(B)/mcaid
$(B)/mcaid: $(call obj,$(MCAID_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(MCAID_LIBS)

# mcaid reads a configuration file once the config library is there.
MCAID_HAVE_CONFIG := $(filter runtime/daemon/config.c,$(FED_SRCS))
$(call obj,runtime/daemon/mcaid.c) $(call sobj,runtime/daemon/mcaid.c): \
	CFLAGS += $(if $(MCAID_HAVE_CONFIG),-DMCAI_HAVE_CONFIG)
$(call obj,runtime/daemon/mcaid.c) $(call sobj,runtime/daemon/mcaid.c): $(MCAID_HAVE_CONFIG)

