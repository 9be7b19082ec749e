# SPDX-License-Identifier: GPL-2.0
#
# Operations tests (included by the top-level Makefile): mcaid's MQTT
# publisher against a real mosquitto broker started by each test on a
# free loopback port.  `make check-ops` builds the driver with
# ASan/LSan/UBSan and runs every tests/ops/test-*.sh; each prints one
# verdict line and exits 0 (pass), 77 (skip) or anything else (fail).

OPS_TESTS ?= $(sort $(wildcard tests/ops/test-*.sh))
OPS_TEST_TIMEOUT ?= 300
MQTT_SRCS := runtime/daemon/mqtt.c
MQTT_DRIVE_SRCS := tests/ops/mqtt_drive.c $(MQTT_SRCS) runtime/fed/net.c \
		   runtime/fed/tls.c runtime/fed/proto.c runtime/lib/log.c

$(B)/mcai-mqtt-drive: $(call sobj,$(MQTT_DRIVE_SRCS))
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ -lmosquitto -luring -lssl -lcrypto

.PHONY: check-ops
check-ops: $(B)/mcai-mqtt-drive $(B)/mcaid-san
	@pass=0; fail=0; skip=0; \
	for t in $(OPS_TESTS); do \
		DRIVE=$(CURDIR)/$(B)/mcai-mqtt-drive MCAID=$(CURDIR)/$(B)/mcaid-san \
			timeout -k 10 $(OPS_TEST_TIMEOUT) bash $$t; rc=$$?; \
		case $$rc in \
		0) pass=$$((pass + 1)) ;; \
		77) skip=$$((skip + 1)) ;; \
		124|137) fail=$$((fail + 1)); \
			echo "FAIL: $$t (timed out after $(OPS_TEST_TIMEOUT) s)" ;; \
		*) fail=$$((fail + 1)); echo "FAIL: $$t (exit $$rc)" ;; \
		esac; \
	done; \
	echo "check-ops: $$pass passed, $$fail failed, $$skip skipped"; \
	[ $$fail -eq 0 ]
