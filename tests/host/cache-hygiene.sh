#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Cache hygiene (issue 15): a new debug-kernel build keeps the newest two
# builds and drops older ones and source trees of other tarballs
# (bj_prune_builds, called by scripts/build-debug-kernel after publishing);
# unpublished builds are left to their builder. Cache keys depend on
# contents only: a clone at another path gets the same debug-kernel key and
# reuses the same base initramfs of the test VM.
# Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin cache-hygiene
present() { local f; for f; do [ -e "$f" ] || return 1; done; }
gone() { local f; for f; do [ ! -e "$f" ] || return 1; done; }
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
differ() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ]; }

# 1. Pruning: five published builds of increasing age, one unfinished
# build, the current source tree and an old one.
D=$T/debug-kernel
for i in 1 2 3 4 5; do
	mkdir -p "$D/key$i/build"
	echo "key$i" >"$D/key$i/key"
	touch -d "-$i hours" "$D/key$i/key"
done
mkdir -p "$D/unfinished/build" "$D/src-current" "$D/src-old"
(. "$TOP/scripts/lib.sh" && bj_prune_builds "$D" 2 "$D/src-current") 2>"$T/prune.log"
expect "the newest two builds are kept" present "$D/key1/key" "$D/key2/key"
expect "older builds are removed" gone "$D/key3" "$D/key4" "$D/key5"
expect "an unfinished build (no key yet) is left to its builder" [ -d "$D/unfinished/build" ]
expect "the current source tree is kept" [ -d "$D/src-current" ]
expect "another tarball's source tree is removed" gone "$D/src-old"
expect "each removal is logged" [ "$(grep -c removing "$T/prune.log")" = 4 ]
(. "$TOP/scripts/lib.sh" && bj_prune_builds "$D" 2 "$D/src-current") 2>"$T/prune.log"
expect "a second prune removes nothing more" not [ -s "$T/prune.log" ]
expect "build-debug-kernel prunes after it publishes" \
	grep -q 'bj_prune_builds "$TOPDIR" 2 "$SRC"' "$TOP/scripts/build-debug-kernel"

# 2. Keys depend on contents, not on the checkout's path.
git clone -q --no-hardlinks "$TOP" "$T/other-clone" 2>/dev/null ||
	cp -a "$TOP" "$T/other-clone"
# an uncommitted change in this checkout travels along, as in a copy
for f in scripts/build-debug-kernel scripts/debug-kernel.config scripts/lib.sh \
	scripts/vm-mkinitramfs scripts/guest-init; do
	cp "$TOP/$f" "$T/other-clone/$f"
done
k1=$("$TOP/scripts/build-debug-kernel" --key 2>/dev/null)
k2=$("$T/other-clone/scripts/build-debug-kernel" --key 2>/dev/null)
expect "debug-kernel key is the same from a clone at another path ($k1)" \
	same "$k1" "$k2"
echo "# changed" >>"$T/other-clone/scripts/debug-kernel.config"
k3=$("$T/other-clone/scripts/build-debug-kernel" --key 2>/dev/null)
expect "a changed config fragment changes the key" differ "$k3" "$k1"

. "$TOP/scripts/lib.sh"
if kver=$(bj_stock_kver); then
	b1=$("$TOP/scripts/vm-mkinitramfs" "$kver" "/lib/modules/$kver" 2>"$T/mk1.log")
	b2=$("$T/other-clone/scripts/vm-mkinitramfs" "$kver" "/lib/modules/$kver" 2>"$T/mk2.log")
	expect "the VM's base initramfs is reused from a clone at another path" \
		same "$b1" "$b2"
	expect "...without building it again" not grep -q building "$T/mk2.log"
else
	not_ok "no stock kernel installed (scripts/setup-deps)"
fi

tap_end
