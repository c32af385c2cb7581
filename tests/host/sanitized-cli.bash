# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# build_blockjob OUT [CMD]: an ASan/UBSan build of the blockjob CLI with only
# the command CMD (default qcow2; the others are stubs), for the host tests.
# Needs ROOT (the checkout) and TMP (a scratch directory). Sourced, not run.
build_blockjob() {
	local out=$1 cmd=${2:-qcow2} stubs=$TMP/stubs.c n
	echo '#include <stdio.h>' >"$stubs"
	for n in $(sed -n 's/^BJ_DECLARE_COMMAND(\([a-z0-9_]*\));/\1/p' "$ROOT/userspace/cli/commands.h"); do
		[ "$n" = "$cmd" ] && continue
		echo "int cmd_$n(int c, char **v) { (void)c; (void)v; return 1; }" >>"$stubs"
		echo "void usage_$n(FILE *f) { (void)f; }" >>"$stubs"
	done
	${CC:-cc} -O1 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
		-DBJ_VERSION='"test"' -I"$ROOT/include" -I"$ROOT/userspace/lib" \
		-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
		-o "$out" "$ROOT/userspace/cli/main.c" "$ROOT/userspace/cli/cmd-$cmd.c" \
		"$ROOT/userspace/lib/bj-util.c" "$ROOT/userspace/lib/qcow2.c" "$stubs" \
		"$ROOT/userspace/lib/qcow2-table.c" "$ROOT/userspace/lib/bj-dm.c" "$ROOT/userspace/lib/bj-job.c" "$ROOT/userspace/lib/bj-backup.c" \
		"$ROOT/userspace/lib/bj-md.c" "$ROOT/userspace/lib/bj-md-format.c" "$ROOT/userspace/lib/bj-err.c" \
		$(pkg-config --cflags --libs devmapper)
}
