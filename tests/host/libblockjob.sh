#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check: alone (builds in the checkout itself: make check runs it before
# the host tests that run side by side)
# libblockjob as a shared library (issue 19; Documentation/libblockjob.rst).
#
# The build tree's lib/libblockjob.so.0: its soname; the symbols it exports
# (nm -D) all start with bj_, all carry the version LIBBLOCKJOB_0, and are
# exactly the functions the public headers declare and lib/libblockjob.map
# lists; it calls nothing that prints to stdout/stderr, exits, aborts or
# registers an exit hook; its objects hold no writable data but one
# pthread_once_t (objdump: nothing in .data or .bss else).
# A DESTDIR install (make install-lib): each public header compiles alone
# as <blockjob/NAME.h>; the example client Documentation/examples/
# mirror-client.c builds through pkg-config against it (PKG_CONFIG_SYSROOT_DIR)
# and loads with every symbol bound (LD_BIND_NOW); make uninstall removes it.
# The CLI links nothing but libblockjob (so it uses only the public API: the
# map hides the rest), finds it through $ORIGIN/lib in the build tree; the
# installed one has no run path. Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin libblockjob

U=$TOP/userspace
LIB=$U/lib/libblockjob.so.0
make -s -C "$U" >"$T/out" 2>&1
expect_out "make -C userspace builds lib/libblockjob.so.0 and the CLI" [ -f "$LIB" -a -x "$U/blockjob" ]
words() { tr -s ' \t\n' '\n' | grep . | sort | paste -sd' ' -; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | words; }
runpath() { readelf -d "$1" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p'; }

# --- 1. the library's symbols ----------------------------------------------
expect_eq "$(readelf -d "$LIB" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" libblockjob.so.0 "soname libblockjob.so.0"
exported=$(nm -D --defined-only "$LIB" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | words)
expect_eq "$(tr ' ' '\n' <<<"$exported" | grep -v '^bj_' | words)" "" \
	"nm -D --defined-only: every exported symbol starts with bj_ ($(wc -w <<<"$exported") of them)"
expect_eq "$(objdump -T "$LIB" | awk '$4 != "*UND*" && / bj_/ { print $(NF - 1) }' | sort -u | words)" \
	LIBBLOCKJOB_0 "...each of version LIBBLOCKJOB_0"
# the functions the public headers declare: after cpp, a bj_ name followed by '('
declared=$(cc -E -P -D_GNU_SOURCE -I"$U/include" -x c - <<<'#include <blockjob/blockjob.h>' |
	grep -oE '\bbj_[a-z0-9_]+[[:space:]]*\(' | tr -d '( \t' | words)
expect_eq "$exported" "$declared" "the exported symbols are exactly the functions the public headers declare"
mapped=$(sed -n '/global:/,/local:/s/^[[:space:]]*\(bj_[a-z0-9_]*\);$/\1/p' "$U/lib/libblockjob.map" | words)
expect_eq "$mapped" "$declared" "lib/libblockjob.map lists exactly those"
bad=$(nm -D --undefined-only "$LIB" | awk '{ print $2 }' | sed 's/@.*//' |
	grep -xE 'stdout|stderr|printf|vprintf|puts|putchar|perror|psignal|exit|_exit|_Exit|abort|atexit|on_exit|__cxa_atexit|__assert_fail|err|errx|verr|warn|warnx|vwarn|error|syslog' | words)
expect_eq "$bad" "" "the library neither prints on stdout/stderr, nor exits, aborts, asserts or registers exit hooks"
expect_eq "$(objdump -t "$U"/lib/*.o | awk '/ O / { print $4, $NF }' | grep -vE '^\.(rodata|data\.rel\.ro)' | words)" \
	".bss once.0" "no writable data in the library's objects but dm_setup's pthread_once_t"

# --- 2. an install and a client built from it ------------------------------
D=$T/dest
make -s -C "$U" install-lib DESTDIR="$D" PREFIX=/usr >"$T/out" 2>&1
expect_out "make install-lib DESTDIR=... PREFIX=/usr" [ -f "$D/usr/lib/pkgconfig/libblockjob.pc" ]
expect_eq "$(readlink "$D/usr/lib/libblockjob.so") $(readlink "$D/usr/lib/libblockjob.so.0")" \
	"libblockjob.so.0 libblockjob.so.$(cat "$TOP/VERSION")" "libblockjob.so -> libblockjob.so.0 -> libblockjob.so.VERSION"
bad=
for h in "$D"/usr/include/blockjob/*.h; do
	cc -fsyntax-only -std=gnu11 -Wall -Wextra -Werror -I"$D/usr/include" -x c - \
		<<<"#include <blockjob/${h##*/}>" >"$T/out" 2>&1 || bad+=" ${h##*/}"
done
expect_eq "$bad" "" "each installed header compiles alone as <blockjob/NAME.h> (no -D_GNU_SOURCE)"
pc() { PKG_CONFIG_PATH=$D/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D pkg-config "$@"; }
expect_eq "$(pc --modversion libblockjob 2>&1)" "$(cat "$TOP/VERSION")" "pkg-config --modversion libblockjob"
C=$T/mirror-client
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Wextra -Werror -o "$C" "$TOP/Documentation/examples/mirror-client.c" \
	$(pc --cflags --libs libblockjob) >"$T/out" 2>&1
expect_out "the example client builds with pkg-config --cflags --libs libblockjob only" [ -x "$C" ]
expect_eq "$(needed "$C")" "libblockjob.so.0 libc.so.6" "...and needs libblockjob.so.0 (and libc)"
LD_BIND_NOW=1 LD_LIBRARY_PATH=$D/usr/lib "$C" >"$T/out" 2>&1
expect_eq "$?: $(cat "$T/out")" "2: usage: mirror-client NAME TARGET" \
	"...it loads against the installed library with every symbol bound (usage, exit 2)"

# --- 3. the CLI: the public API only ---------------------------------------
# json-c too: the CLI writes the JSON documents the library builds
# (cli/json-out.c calls json-c itself); libdevmapper and libnl only through
# the library.
expect_eq "$(needed "$U/blockjob")" "libblockjob.so.0 libc.so.6 libjson-c.so.5" \
	"the CLI links libblockjob, json-c and libc only (libdevmapper, libnl: through the library)"
expect_eq "$(runpath "$U/blockjob")" '$ORIGIN/lib' "...the build tree's finds it beside it (\$ORIGIN/lib)"
cli_defined=$(nm --defined-only "$U"/cli/*.o | awk 'NF == 3 { print $3 }' | sort -u)
used=$(nm --undefined-only "$U"/cli/*.o | awk '$2 ~ /^bj_/ { print $2 }' | sort -u | grep -vxF "$cli_defined" | words)
expect_eq "$(comm -23 <(tr ' ' '\n' <<<"$used") <(tr ' ' '\n' <<<"$exported") | words)" "" \
	"every bj_ function the CLI calls is exported ($(wc -w <<<"$used") of $(wc -w <<<"$exported"))"
I=$T/inst
make -s -C "$U" install DESTDIR="$I" PREFIX=/usr >"$T/out" 2>&1
expect_out "make install DESTDIR=... PREFIX=/usr" [ -x "$I/usr/sbin/blockjob" ]
expect_eq "$(runpath "$I/usr/sbin/blockjob")" "" "the installed CLI has no run path"
expect_eq "$(LD_BIND_NOW=1 LD_LIBRARY_PATH=$I/usr/lib "$I/usr/sbin/blockjob" --version 2>&1)" \
	"blockjob $(cat "$TOP/VERSION")" "...and runs against the installed library, every symbol bound"
make -s -C "$U" uninstall DESTDIR="$I" PREFIX=/usr >"$T/out" 2>&1
expect_eq "$(cd "$I" && find . \( -type f -o -type l \) -print | words)" "" "make uninstall leaves no file"
expect_eq "$(cd "$I" && find . -path '*/include/blockjob*' | words)" "" "...nor include/blockjob"

tap_end
