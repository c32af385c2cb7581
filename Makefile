# SPDX-License-Identifier: GPL-2.0
#
# dm-blockjob: top-level build.
#
#   make            module (against KDIR) and userspace CLI/library
#   make check      every test: unit, style, VM suites (stock and debug kernels)
#   make demo       boot the test VM and show a live job
#   make soak       the randomized lifecycle test, many iterations (SEED=N ITERS=N)
#   make soak-md    the crash replay of persistent bitmaps, many seeds (SEED=N SEEDS=N)
#   make install    install the module, the CLI (with its man page and bash
#                   completion) and blockjob-activate.service (not enabled) on
#                   this host; make uninstall removes them
#   make install-dkms  the module's sources and dkms.conf in /usr/src, for
#                   dkms(8) to rebuild it at each kernel upgrade (make install
#                   does it too)
#
# Everything that needs Debian packages installs them first (scripts/setup-deps).

TOP := $(CURDIR)
# The kernel build tree is looked up by scripts/kdir when a recipe runs,
# after deps: on a fresh machine the headers are installed by that step.
# KDIR=<dir> on the command line wins over the lookup.
KDIR_OF := KDIR="$(KDIR)" scripts/kdir
SETUP_DEPS ?= scripts/setup-deps
BLOCKJOB_CACHE ?= /var/cache/dm-blockjob
DEBUG_BUILD := $(BLOCKJOB_CACHE)/build-debug
LINUX_SRC := $(BLOCKJOB_CACHE)/linux-source-6.1
PREFIX ?= /usr/local
DEPS_STAMP := $(BLOCKJOB_CACHE)/.deps-ok

KSRC := $(wildcard kernel/*.c kernel/*.h kernel/tests/*.c include/uapi/linux/*.h) Kbuild

.PHONY: all module userspace deps check demo install uninstall install-dkms uninstall-dkms \
	clean checkpatch sparse \
	module-debug kunit bench unit-tests vm-tests vm-tests-debug host-tests soak soak-md \
	soak-activate

all: module userspace

deps:
	@$(SETUP_DEPS)

module: deps
	kdir=$$($(KDIR_OF)) && \
	$(MAKE) -C "$$kdir" M=$(TOP) modules

userspace: deps
	$(MAKE) -C userspace

# The module built against the debug kernel, in a copy outside the checkout.
# The sources are copied by content (-c), without their times: a file that
# changed gets the copy's time, newer than its object, so a tree checked out
# with older times (another worktree) never leaves a stale object behind.
module-debug: deps
	@kdir=$$(scripts/build-debug-kernel)/build && \
	mkdir -p $(DEBUG_BUILD) && \
	rsync -rlpc --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		--include='Kbuild' --include='kernel/***' --include='include/***' \
		--exclude='*' ./ $(DEBUG_BUILD)/ && \
	$(MAKE) -C $$kdir M=$(DEBUG_BUILD) modules

checkpatch: $(LINUX_SRC)/scripts/checkpatch.pl
	@perl $(LINUX_SRC)/scripts/checkpatch.pl --no-tree --quiet --strict \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,LINUX_VERSION_CODE \
		-f $(filter %.c %.h,$(KSRC)) && echo "checkpatch: clean"

$(LINUX_SRC)/scripts/checkpatch.pl: | deps
	@mkdir -p $(BLOCKJOB_CACHE) && cd $(BLOCKJOB_CACHE) && \
		tar -xf /usr/src/linux-source-6.1.tar.xz && touch $@

# C=2 runs sparse over every source file, rebuilt or not.
sparse: deps
	@mkdir -p $(BLOCKJOB_CACHE); kdir=$$($(KDIR_OF)) || exit 1; \
	$(MAKE) --no-silent -C "$$kdir" M=$(TOP) C=2 CF="-D__CHECK_ENDIAN__" modules >$(BLOCKJOB_CACHE)/sparse.log 2>&1; \
	rc=$$?; n=$$(grep -c '^  CHECK' $(BLOCKJOB_CACHE)/sparse.log); \
	if grep -E '(warning|error):' $(BLOCKJOB_CACHE)/sparse.log; then \
		echo "sparse: warnings above"; exit 1; \
	elif [ "$$rc" -ne 0 ]; then \
		tail -20 $(BLOCKJOB_CACHE)/sparse.log; echo "sparse: the build failed (see $(BLOCKJOB_CACHE)/sparse.log)"; exit 1; \
	elif [ "$${n:-0}" -eq 0 ]; then \
		echo "sparse: did not run (see $(BLOCKJOB_CACHE)/sparse.log)"; exit 1; \
	else echo "sparse: clean ($$n files checked)"; fi

unit-tests: deps
	$(MAKE) -C userspace test

# Every tests/host/*.sh, as make check runs them; fails if one fails.
host-tests: userspace
	@rc=0; for t in tests/host/*.sh; do echo "== $$t"; bash "$$t" || rc=1; done; exit $$rc

vm-tests: all
	@scripts/run-vm-tests --kernel stock

vm-tests-debug: module-debug userspace
	@scripts/run-vm-tests --kernel debug

kunit: deps
	@scripts/kunit

check: deps
	@scripts/check

demo: all
	@scripts/demo

bench: all
	@scripts/bench

# The randomized lifecycle test with many more iterations than in make check,
# on the stock kernel: ITERS iterations (default 2000), SEED=N replays a run
# (the test prints its seed first). The test's own vm-run options, with a
# time limit of 6 s an iteration more; the arguments go to the test.
SOAK_TEST := tests/vm/29-lifecycle-random.sh
ITERS ?= 2000
soak: all
	@opts=$$(sed -n '1,20s/^#[[:space:]]*vm-run:[[:space:]]*//p' $(SOAK_TEST) | head -n1) && \
	BJ_NO_BUILD=1 scripts/vm-run $$opts --timeout $$(( $(ITERS) * 6 + 600 )) \
		$(SOAK_TEST) --iters $(ITERS) $(if $(SEED),--seed $(SEED))

# The crash replay of persistent bitmaps with many more seeds than in make
# check (SEEDS, default 200; SEED=N replays one).
MD_SOAK_TEST := tests/vm/72-md-replay.sh
SEEDS ?= 200
soak-md: all
	@opts=$$(sed -n '1,20s/^#[[:space:]]*vm-run:[[:space:]]*//p' $(MD_SOAK_TEST) | head -n1) && \
	BJ_NO_BUILD=1 scripts/vm-run $$opts --timeout $$(( $(SEEDS) * 20 + 600 )) \
		$(MD_SOAK_TEST) $(if $(SEED),--seed $(SEED),--seeds $(SEEDS))

# Power cuts during jobs with many more instants than in make check: CHAINS
# chains of 49 cuts each (default 10), each with a new seed; SEED=N replays
# one chain of the test's own length.
ACT_SOAK_TEST := tests/vm/75-activate-power-cut.sh
CHAINS ?= 10
soak-activate: all
	@opts=$$(sed -n '1,20s/^#[[:space:]]*vm-run:[[:space:]]*//p' $(ACT_SOAK_TEST) | head -n1) && \
	if [ -n "$(SEED)" ]; then BJ_NO_BUILD=1 scripts/vm-run $$opts $(ACT_SOAK_TEST) --seed $(SEED); \
	else for i in $$(seq $(CHAINS)); do \
		BJ_NO_BUILD=1 scripts/vm-run $$(echo "$$opts" | sed "s/--boots [0-9]*/--boots 50/") $(ACT_SOAK_TEST) || exit 1; \
	done; fi

# The module goes to /lib/modules/<release of KDIR>/extra/dm-blockjob.ko
# (kbuild's place for external modules), below DESTDIR when given (and then
# no depmod runs); then what userspace installs (userspace/Makefile: the CLI
# in $(PREFIX)/sbin, its man page, its bash completion, the boot unit).
install: all
	@kdir=$$($(KDIR_OF)) && set -x && \
	$(MAKE) -C "$$kdir" M=$(TOP) $(if $(DESTDIR),INSTALL_MOD_PATH=$(abspath $(DESTDIR))) modules_install \
	$(if $(DESTDIR),,&& { depmod -a "$$(basename "$${kdir%/build}" | sed 's/^linux-headers-//')" 2>/dev/null || depmod -a; })
	$(MAKE) -C userspace install PREFIX=$(PREFIX)
	$(MAKE) -s install-dkms

# The module of the kernel make install built it for, then what userspace
# installed (SYSTEMD_UNIT_DIR, DESTDIR: userspace/Makefile). With DESTDIR,
# nothing outside it is touched (no depmod).
uninstall:
	@kdir=$$($(KDIR_OF)) && kver=$$(basename "$${kdir%/build}" | sed 's/^linux-headers-//') && \
	set -x && rm -f "$(DESTDIR)/lib/modules/$$kver/extra/dm-blockjob.ko" $(if $(DESTDIR),,&& depmod -a "$$kver")
	$(MAKE) -C userspace uninstall PREFIX=$(PREFIX)
	$(MAKE) -s uninstall-dkms

# dkms(8): what it builds the module from (Kbuild, kernel/, include/ and
# dkms.conf) in /usr/src/dm-blockjob-VERSION, its source tree for
# `dkms install dm-blockjob/VERSION`; nothing is built here and dkms need not
# be installed. DESTDIR stages it.
BJ_VERSION := $(shell cat VERSION)
DKMS_SRC := /usr/src/dm-blockjob-$(BJ_VERSION)

install-dkms:
	rm -rf $(DESTDIR)$(DKMS_SRC)
	install -d $(DESTDIR)$(DKMS_SRC)
	tar -c --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.cmd' --exclude='*.a' dkms.conf VERSION Kbuild kernel include | \
		tar -x --no-same-owner -C $(DESTDIR)$(DKMS_SRC)
	@echo "dm-blockjob's sources are in $(DKMS_SRC): dkms install dm-blockjob/$(BJ_VERSION) builds and installs the module"

uninstall-dkms:
	rm -rf $(DESTDIR)$(DKMS_SRC)

clean:
	-@kdir=$$($(KDIR_OF) 2>/dev/null) && $(MAKE) -C "$$kdir" M=$(TOP) clean
	$(MAKE) -C userspace clean
