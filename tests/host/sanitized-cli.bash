# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# build_blockjob OUT [CMD [CLI_FILE...]]: an ASan/UBSan build of the blockjob
# CLI with only the command CMD (default qcow2) and the extra cli/ files
# given (names relative to userspace/cli); the commands none of them defines
# are stubs. For the host tests. Needs ROOT (the checkout) and TMP (a
# scratch directory). Sourced, not run.
build_blockjob() {
	local out=$1 cmd=${2:-qcow2} stubs=$TMP/stubs.c n f
	local -a cli=("$ROOT/userspace/cli/cmd-$cmd.c")
	shift 2 2>/dev/null || shift $#
	for f in "$@"; do cli+=("$ROOT/userspace/cli/$f"); done
	echo '#include <stdio.h>' >"$stubs"
	# the commands of the table, and hidden ones main.c calls (nbd-keeper)
	for n in $(sed -n 's/^BJ_DECLARE_COMMAND(\([a-z0-9_]*\));/\1/p
			s/^int cmd_\([a-z0-9_]*\)(int argc, char \*\*argv);/\1/p' \
			"$ROOT/userspace/cli/commands.h"); do
		grep -q "^int cmd_$n(" "${cli[@]}" && continue
		echo "int cmd_$n(int c, char **v) { (void)c; (void)v; return 1; }" >>"$stubs"
		echo "void usage_$n(FILE *f) { (void)f; }" >>"$stubs"
	done
	${CC:-cc} -O1 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
		-DBJ_VERSION='"test"' -I"$ROOT/include" -I"$ROOT/userspace/include" \
		-I"$ROOT/userspace/include/blockjob" -I"$ROOT/userspace/lib" \
		-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
		-o "$out" "$ROOT/userspace/cli/main.c" "$ROOT/userspace/cli/json-out.c" "${cli[@]}" \
		"$ROOT/userspace/lib/bj-util.c" "$ROOT/userspace/lib/qcow2.c" "$ROOT/userspace/lib/qcow2-open.c" "$stubs" \
		"$ROOT/userspace/lib/qcow2-table.c" "$ROOT/userspace/lib/qcow2-attach.c" "$ROOT/userspace/lib/qcow2-loop.c" "$ROOT/userspace/lib/qcow2-job.c" "$ROOT/userspace/lib/bj-dm.c" "$ROOT/userspace/lib/bj-job.c" "$ROOT/userspace/lib/bj-backup.c" \
		"$ROOT/userspace/lib/bj-md.c" "$ROOT/userspace/lib/bj-md-format.c" "$ROOT/userspace/lib/bj-err.c" \
		"$ROOT/userspace/lib/bj-volume-md.c" "$ROOT/userspace/lib/bj-record.c" "$ROOT/userspace/lib/bj-devid.c" \
		"$ROOT/userspace/lib/bj-volumes.c" "$ROOT/userspace/lib/bj-lock.c" "$ROOT/userspace/lib/bj-json.c" \
		$(pkg-config --cflags --libs devmapper json-c)
}
