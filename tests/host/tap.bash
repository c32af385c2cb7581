# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# The shared frame of host tests (tests/host/*.sh). Sourced, not run.
#
#   tap_begin NAME         T: a scratch directory /tmp/NAME.XXXXXX, removed at exit
#   ok WHAT / not_ok WHAT  print "ok - WHAT" / "not ok - WHAT", count
#   expect WHAT CMD...     ok WHAT if CMD succeeds, else not_ok
#   expect_eq GOT WANT WHAT   ok WHAT if GOT = WANT, else not_ok with both
#   expect_out WHAT CMD... as expect, showing the last lines of $T/out (the
#                          output of the command before) when it fails
#   not CMD...             succeed if CMD fails
#   tap_end                the last line "N passed, N failed"; exit 1 on a failure
pass=0 fail=0

tap_begin() {
	T=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
	# shellcheck disable=SC2064
	trap "rm -rf '$T'" EXIT
}

ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
not() { ! "$@"; }

expect() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

expect_eq() {
	if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3 (got '$1', want '$2')"; fi
}

expect_out() {
	local what=$1
	shift
	if "$@"; then
		ok "$what"
	else
		not_ok "$what"
		sed 's/^/#   /' "$T/out" | tail -n 15
	fi
}

tap_end() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
