#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check: alone (builds in the checkout itself: make check runs it before
# the host tests that run side by side)
# The Makefile looks up the kernel build tree when the module is built, after
# `deps` has installed the headers, not when make parses the Makefile (a
# fresh machine has no headers at that point: issue 15). Runs `make module`
# and `make sparse` against an empty root (BJ_KERNEL_ROOT)
# whose headers a stand-in for scripts/setup-deps (SETUP_DEPS) installs, and
# checks which directory kbuild was entered in. The headers' Makefile is a
# stand-in that records its directory and target. Precedence: KDIR= given,
# then the running kernel's build tree, then the newest Debian headers.
# Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin makefile-kdir
# expect, showing make's output when it fails
expect_mk() {	# WHAT COND...
	expect "$@" || sed 's/^/#   /' "$T/out" | tail -n 15
}

LOG=$T/kbuild.log
printf 'modules modules_install clean:\n\t@echo "$(CURDIR) $@ M=$(M)" >>%s\n' "$LOG" >"$T/fake.mk"
# fake_tree DIR: a kernel build tree whose Makefile only records its use.
fake_tree() { mkdir -p "$1" && cp "$T/fake.mk" "$1/Makefile"; }

# A stand-in for scripts/setup-deps: installs image and headers of two
# kernels into the root, as apt-get install linux-image-amd64
# linux-headers-amd64 would (the newer one must be picked; headers without
# an image do not count).
cat >"$T/setup-deps" <<EOF
#!/bin/bash
R=\$BJ_KERNEL_ROOT
for v in 6.1.0-9-amd64 6.1.0-10-amd64 6.1.0-11-amd64; do
	mkdir -p "\$R/usr/src/linux-headers-\$v"
	cp "$T/fake.mk" "\$R/usr/src/linux-headers-\$v/Makefile"
done
mkdir -p "\$R/boot"
: >"\$R/boot/vmlinuz-6.1.0-9-amd64"
: >"\$R/boot/vmlinuz-6.1.0-10-amd64"
EOF
chmod +x "$T/setup-deps"
printf '#!/bin/sh\nexit 0\n' >"$T/no-deps"
chmod +x "$T/no-deps"

# mk ROOT ARGS...: make in the checkout with the lookup pointed at ROOT.
mk() {
	local root=$1
	shift
	: >"$LOG"
	(cd "$TOP" && env -u KDIR BJ_KERNEL_ROOT="$root" make --no-print-directory "$@") >"$T/out" 2>&1
}
used() { [ "$(cut -d' ' -f1-2 "$LOG")" = "$1" ]; }

# 1. Fresh root: no headers when make starts; deps installs them.
R=$T/root1
mkdir -p "$R"
expect_mk "fresh root: make module succeeds once deps installed the headers" \
	mk "$R" module SETUP_DEPS="$T/setup-deps"
expect_mk "fresh root: kbuild entered in the headers deps installed (newest with an image)" \
	used "$R/usr/src/linux-headers-6.1.0-10-amd64 modules"
expect_mk "kbuild was given M=<checkout>" grep -qx ".* M=$TOP" "$LOG"
expect_mk "no empty headers path tried" not grep -q 'linux-headers-[:/ ]\|linux-headers-$' "$T/out"

# 2. The same for sparse (make install takes the same lookup).
R=$T/root2
mkdir -p "$R"
mk "$R" sparse SETUP_DEPS="$T/setup-deps" BLOCKJOB_CACHE="$T/cache"
expect_mk "fresh root: make sparse enters the installed headers" \
	used "$R/usr/src/linux-headers-6.1.0-10-amd64 modules"
# 3. Nothing installed: one clear line, no kbuild run in an empty path.
R=$T/root4
mkdir -p "$R"
mk "$R" module SETUP_DEPS="$T/no-deps"
rc=$?
expect_mk "no headers at all: make module fails" [ $rc -ne 0 ]
expect_mk "no headers at all: the error says to run scripts/setup-deps or give KDIR" \
	grep -q 'no kernel build tree.*scripts/setup-deps.*KDIR=' "$T/out"
expect_mk "no headers at all: kbuild never entered" not [ -s "$LOG" ]

# 4. Precedence: the running kernel's build tree beats the headers...
R=$T/root5
mkdir -p "$R"
fake_tree "$R/lib/modules/$(uname -r)/build"
mk "$R" module SETUP_DEPS="$T/setup-deps"
expect_mk "the running kernel's build tree wins over Debian headers" \
	used "$R/lib/modules/$(uname -r)/build modules"
# ...and KDIR= beats both.
fake_tree "$T/given"
mk "$R" module SETUP_DEPS="$T/setup-deps" KDIR="$T/given"
expect_mk "KDIR= on the command line wins" used "$T/given modules"
: >"$LOG"
(cd "$TOP" && KDIR=$T/given BJ_KERNEL_ROOT=$R make --no-print-directory module \
	SETUP_DEPS="$T/setup-deps") >"$T/out" 2>&1
expect_mk "KDIR in the environment wins" used "$T/given modules"

tap_end
