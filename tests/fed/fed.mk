# SPDX-License-Identifier: GPL-2.0
#
# mcaid integration tests (included by the top-level Makefile).
# `make check-fed` builds mcaid with ASan/LSan/UBSan and runs every
# tests/fed/test-*.sh against it: aggregator and nodes as separate
# processes over loopback TLS.  Each script prints one verdict line and
# exits 0 (pass), 77 (skip) or anything else (fail).

FED_TESTS ?= $(sort $(wildcard tests/fed/test-*.sh))
# A test that hangs fails alone instead of holding CI (the longest takes
# about a minute here).
FED_TEST_TIMEOUT ?= 600

# The test build carries the hostile-aggregator hooks (MCAI_TEST_SECAGG_HOSTILE,
# runtime/daemon/aggregator.c); the installed mcaid never does.
$(call sobj,runtime/daemon/aggregator.c): CFLAGS += -DMCAI_TEST_HOOKS
# ... and the nodes' MCAI_TEST_SA_DUMP (runtime/daemon/node.c).
$(call sobj,runtime/daemon/node.c): CFLAGS += -DMCAI_TEST_HOOKS

$(B)/mcaid-san: $(call sobj,$(MCAID_SRCS))
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(MCAID_LIBS)

.PHONY: check-fed
check-fed: $(B)/mcaid-san
	@pass=0; fail=0; skip=0; \
	for t in $(FED_TESTS); do \
		MCAID=$(CURDIR)/$(B)/mcaid-san \
			timeout -k 10 $(FED_TEST_TIMEOUT) bash $$t; rc=$$?; \
		case $$rc in \
		0) pass=$$((pass + 1)) ;; \
		77) skip=$$((skip + 1)) ;; \
		124|137) fail=$$((fail + 1)); \
			echo "FAIL: $$t (timed out after $(FED_TEST_TIMEOUT) s)" ;; \
		*) fail=$$((fail + 1)); echo "FAIL: $$t (exit $$rc)" ;; \
		esac; \
	done; \
	echo "check-fed: $$pass passed, $$fail failed, $$skip skipped"; \
	[ $$fail -eq 0 ]

# Personalisation with real rounds, FedPer then Ditto (about 2 to 4.5
# minutes on a loaded 2-core machine: too long for check-fed's glob).
.PHONY: check-fed-personal
check-fed-personal: $(B)/mcaid-san $(B)/mcaictl
	MCAID=$(CURDIR)/$(B)/mcaid-san MCAICTL=$(CURDIR)/$(B)/mcaictl \
		timeout -k 10 $(FED_TEST_TIMEOUT) bash tests/fed/long-round-personal.sh

# Federated learning on real data (long; not part of `make check`):
# 20 mcaid nodes + 1 aggregator, IID and Dirichlet(0.5), against the
# centralised baseline.  Results: tests/eval/eval-results.txt.
.PHONY: eval
eval: $(B)/mcaid $(B)/mcai-train
	OUT=$(CURDIR)/tests/eval/eval-results.txt.new \
		bash tests/eval/eval.sh
	mv tests/eval/eval-results.txt.new tests/eval/eval-results.txt
