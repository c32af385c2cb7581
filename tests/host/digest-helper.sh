#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The VM tests' digest helper (tests/vm/helpers/digest.c; dev_digest and
# digest in tests/vm/lib.sh): the same bytes give the same digest whether
# they come from a pipe in any chunking, a file or a range of one; any
# changed, missing or added byte changes it; bad ranges and files fail.
# Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin digest-helper

D=$TOP/tests/vm/helpers/bin/digest
make -s -C "$TOP/userspace" ../tests/vm/helpers/bin/digest >/dev/null || { not_ok "build"; tap_end; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
head -c $((3 << 20)) /dev/urandom >"$T/a"
whole=$("$D" <"$T/a")
expect "a digest is 16 hex digits ($whole)" grep -Eqx "[0-9a-f]{16}" <<<"$whole"
expect_eq "$("$D" "$T/a")" "$whole" "the file read by name gives the pipe's digest"
expect_eq "$(dd if="$T/a" bs=4099 status=none | "$D")" "$whole" "writes of 4099 bytes into the pipe: the same"
expect_eq "$("$D" "$T/a" 0 $((3 << 20)))" "$whole" "the whole file as a range: the same"
expect_eq "$("$D" "$T/a" 8192 100000)" "$(tail -c +8193 "$T/a" | head -c 100000 | "$D")" \
	"a range from byte 8192 equals the same bytes through a pipe"
cp "$T/a" "$T/b"
printf '\001' | dd of="$T/b" bs=1 seek=1234567 conv=notrunc status=none
expect "one changed byte changes it" not [ "$("$D" "$T/b")" = "$whole" ]
head -c -1 "$T/a" >"$T/b"
expect "one byte less changes it" not [ "$("$D" "$T/b")" = "$whole" ]
{ cat "$T/a"; printf '\0'; } >"$T/b"
expect "one zero byte more changes it" not [ "$("$D" "$T/b")" = "$whole" ]
expect "512 and 1024 zero bytes differ" \
	not [ "$("$D" /dev/zero 0 512)" = "$("$D" /dev/zero 0 1024)" ]
expect_eq "$(head -c 0 /dev/zero | "$D")" "$("$D" /dev/null)" "empty input: one digest"
"$D" "$T/a" $((3 << 20)) 1 >/dev/null 2>"$T/err"
expect_eq "$?" 2 "a range past the end fails (exit 2)"
expect "... saying so" grep -q "ends 1 bytes before" "$T/err"
"$D" "$T/nonexistent" >/dev/null 2>"$T/err"
expect_eq "$?" 2 "a missing file fails (exit 2)"
"$D" a b >/dev/null 2>"$T/err"
expect_eq "$?" 2 "two arguments: usage (exit 2)"
tap_end
