#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Pipelines that fail at random under pipefail. `producer | grep -q PATTERN`
# ends grep at the first match; a producer with more to write then dies of
# SIGPIPE and, with pipefail (every script and test here sets it), the
# pipeline fails although the pattern was found. Whether it does depends on
# how the producer's writes interleave with grep's exit: CI's KUnit step
# failed so once (objdump -h wrote 4124 bytes, one stdio buffer and 28
# bytes more). `| head -n1 |` is the same trap. The project's form is
# `producer | grep PATTERN >/dev/null` (grep reads to the end) and
# `sed -n 1p` for the first line.
# Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin shell-pipes

# 1. The trap is real: a producer that writes past grep's first match.
seq 200000 | grep -q '^1$'
expect_eq "$?" 141 "under pipefail, 'seq 200000 | grep -q ^1\$' fails (SIGPIPE, 141)"
seq 200000 | grep '^1$' >/dev/null
expect_eq "$?" 0 "'seq 200000 | grep ^1\$ >/dev/null' succeeds"
seq 200000 | sed -n 1p | grep '^1$' >/dev/null
expect_eq "$?" 0 "'seq 200000 | sed -n 1p | grep' succeeds"

# 2. No script or test of the project uses the trap.
mapfile -t files < <(cd "$TOP" && grep -rlE --exclude-dir=.git '^#!.*\b(ba)?sh\b|^# shellcheck shell=' \
	scripts tests .ci Makefile 2>/dev/null | sort)
expect "there are shell scripts to check (${#files[@]})" [ ${#files[@]} -gt 50 ]
bad=$(cd "$TOP" && grep -nE '\|[[:space:]]*grep[[:space:]]+(-[a-zA-Z]*q|--quiet)|\|[[:space:]]*head[^|;&]*\|[[:space:]]*grep' \
	"${files[@]}" | grep -v '^tests/host/shell-pipes.sh:')
expect_eq "$bad" "" "no '| grep -q' and no '| head ... | grep' in scripts/ tests/ .ci/"

tap_end
