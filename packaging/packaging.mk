# SPDX-License-Identifier: GPL-2.0
#
# packaging/ (included by the top-level Makefile): `make install`,
# `make install-dkms`, `make deb` and `make check-deb`.
# packaging/README.md says what goes where.

# One version for everything: dkms.conf's (packaging/debian/changelog
# must agree; build-deb.sh checks).
MCAI_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
PKGLIBDIR ?= $(PREFIX)/lib/mcai
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/mcai
SYSCONFDIR ?= /etc
# Where systemd and udev look on this system (Debian 12: units and rules
# under /lib, sysusers.d and modules-load.d under /usr/lib).
mcai_pc = $(or $(shell pkg-config --variable=$(2) $(1) 2>/dev/null),$(3))
SYSTEMDUNITDIR ?= $(call mcai_pc,systemd,systemdsystemunitdir,/lib/systemd/system)
SYSUSERSDIR ?= $(call mcai_pc,systemd,sysusersdir,/usr/lib/sysusers.d)
MODULESLOADDIR ?= $(call mcai_pc,systemd,modulesloaddir,/usr/lib/modules-load.d)
UDEVRULESDIR ?= $(call mcai_pc,udev,udevdir,/lib/udev)/rules.d
DKMSSRCDIR ?= /usr/src/mcai-$(MCAI_VERSION)

MCAI_UNITS := mcaid.service mcai-telemetry.service mcai-telemetry.timer \
	      mcai-metrics.service mcai-metrics.timer
MCAI_MAN8 := mcaictl.8 mcaid.8
MCAI_MAN1 := mcai-sign.1
MCAI_MAN5 := mcaid.conf.5

.PHONY: install install-dkms deb check-deb

# User space: the tools, the BPF object, units (their paths follow
# BINDIR and SBINDIR), sample configurations, the udev rule, the system
# user, the module at boot, manual pages.  The modules themselves:
# `make install-dkms` (sources for DKMS) or `make modules_install`.
install: tools
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(PKGLIBDIR)/bpf $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/mcai $(DESTDIR)$(UDEVRULESDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(MODULESLOADDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	install -m 0755 $(B)/mcaictl $(B)/mcai-sign $(DESTDIR)$(BINDIR)/
	install -m 0755 $(B)/mcaid $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(B)/bpf/telemetry.bpf.o $(DESTDIR)$(PKGLIBDIR)/bpf/
	for u in $(MCAI_UNITS); do \
		sed -e 's|/usr/bin/mcaictl|$(BINDIR)/mcaictl|g' \
		    -e 's|/usr/sbin/mcaid|$(SBINDIR)/mcaid|g' \
		    -e 's|/usr/share/doc/mcai/|$(DOCDIR)/|g' \
		    runtime/dist/$$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		mv $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp \
			$(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done
	install -m 0644 runtime/dist/mcaid-node.conf \
		runtime/dist/mcaid-aggregator.conf $(DESTDIR)$(SYSCONFDIR)/mcai/
	install -m 0644 runtime/dist/60-mcai.rules $(DESTDIR)$(UDEVRULESDIR)/
	install -m 0644 runtime/dist/mcai.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/mcai.conf
	install -m 0644 runtime/dist/mcai-modules.conf \
		$(DESTDIR)$(MODULESLOADDIR)/mcai.conf
	install -m 0644 $(addprefix packaging/man/,$(MCAI_MAN1)) \
		$(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(addprefix packaging/man/,$(MCAI_MAN5)) \
		$(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(addprefix packaging/man/,$(MCAI_MAN8)) \
		$(DESTDIR)$(MANDIR)/man8/
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/

# The module sources as DKMS wants them in /usr/src/mcai-VERSION: what
# tests/vm/build-module.sh copies for a build, dkms.conf, and its build
# script with the placeholder module (packaging/dkms/, as dkms/).
MCAI_DKMS_DIRS := kmod models/engine models/sensor uapi
install-dkms:
	install -d $(addprefix $(DESTDIR)$(DKMSSRCDIR)/,$(MCAI_DKMS_DIRS) dkms)
	install -m 0644 Kbuild dkms.conf $(DESTDIR)$(DKMSSRCDIR)/
	install -m 0644 packaging/dkms/make.sh packaging/dkms/placeholder.c \
		$(DESTDIR)$(DKMSSRCDIR)/dkms/
	for d in $(MCAI_DKMS_DIRS); do \
		for f in $$d/*.[ch] $$d/Kbuild; do \
			case $$f in *.mod.c) continue ;; esac; \
			[ ! -e $$f ] || install -m 0644 $$f \
				$(DESTDIR)$(DKMSSRCDIR)/$$d/ || exit 1; \
		done; \
	done

# mcai-dkms_VERSION_all.deb and mcai_VERSION_ARCH.deb in $(B)/deb/, then
# lintian on both (an error fails).
deb: tools
	MAKE="$(MAKE)" B="$(B)" packaging/build-deb.sh

# The packages on this machine: install, DKMS for each kernel of the
# matrix, a guest per kernel loading the DKMS-built module, purge.
# Needs root; tests/README.md, "check-deb".
check-deb: deb
	MAKE="$(MAKE)" B="$(B)" packaging/check-deb.sh
