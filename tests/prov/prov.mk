# SPDX-License-Identifier: GPL-2.0
#
# Provenance end to end (included by the top-level Makefile): `make
# check-prov` builds mcaictl with ASan/LSan/UBSan and runs
# tests/prov/test-*.sh against it (keygen, sign, verify, accept, history).
# Each script prints one verdict line and exits 0 (pass), 77 (skip) or
# anything else (fail).  The library's own cases are in
# tests/unit/test_provenance.c (make check-unit).

PROV_TESTS ?= $(sort $(wildcard tests/prov/test-*.sh))

$(B)/mcaictl-san: $(call sobj,$(MCAICTL_SRCS))
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(BPF_LIBS) $(FED_LIBS) $(IMPORT_LIBS) -lm

.PHONY: check-prov
check-prov: $(B)/mcaictl-san
	@pass=0; fail=0; skip=0; \
	for t in $(PROV_TESTS); do \
		ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		MCAICTL=$(abspath $(B)/mcaictl-san) bash $$t; rc=$$?; \
		case $$rc in \
		0) pass=$$((pass + 1)) ;; \
		77) skip=$$((skip + 1)) ;; \
		*) fail=$$((fail + 1)); echo "FAIL: $$t (exit $$rc)" ;; \
		esac; \
	done; \
	echo "check-prov: $$pass passed, $$fail failed, $$skip skipped"; \
	[ $$fail -eq 0 ]
