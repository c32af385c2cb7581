#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check's end of run (issue 15): each VM test's time taken from the
# runner's "PASS|FAIL NAME (Ns...)" lines, the ten slowest tests and steps
# (the VM suites' own totals left out), the budget line, and a run over the
# budget of its kind (warm, cold) failing with a message that says what to
# do. The budget comes from scripts/check-budget, as in scripts/check.
# Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin check-budget
. "$TOP/scripts/check-budget"

expect_eq "$(echo "$BJ_BUDGET_WARM $BJ_BUDGET_COLD" | grep -cE '^[0-9]+ [0-9]+$')" 1 \
	"the budget file sets a warm and a cold budget in seconds"
[ "$BJ_BUDGET_WARM" -le "$BJ_BUDGET_COLD" ] && [ "$BJ_BUDGET_COLD" -lt 5400 ]
expect_eq "$?" 0 "warm <= cold < CI's 5400 s"

# A runner's log: passes, a failure with its exit status, other lines.
cat >"$T/vm.log" <<'EOF'
PASS 00-vm-smoke (20s)
FAIL 48-copy-nomem (exit 1, 471s; log: /x/48-copy-nomem.log)
    ok - something PASS 99-not-a-result (5s)
PASS 42-backup-incremental (684s)
logs: /x
2 passed, 1 failed
EOF
expect_eq "$(bj_test_times vm-debug "$T/vm.log" | tr '\n' ';')" \
	"20 vm-debug 00-vm-smoke;471 vm-debug 48-copy-nomem;684 vm-debug 42-backup-incremental;" \
	"each test's time from the runner's result lines, failed ones too"

{
	bj_test_times vm-debug "$T/vm.log"
	echo "1528 step vm-debug"
	echo "508 step vm-stock"
	for i in $(seq 1 12); do echo "$i step host-$i"; done
} >"$T/times"
bj_check_budget "$T/times" "$BJ_BUDGET_WARM" warm /logs >"$T/out"
expect_eq "$?" 0 "a run that takes exactly its budget passes"
expect_eq "$(sed -n 2,11p "$T/out" | awk '{print $1}' | tr '\n' ' ')" \
	"684 471 20 12 11 10 9 8 7 6 " "the ten slowest, slowest first, without the suites' totals"
expect_eq "$(sed -n 1p "$T/out")" "slowest ten (seconds, step, test):" "a heading names the list"
expect_eq "$(sed -n 12p "$T/out")" \
	"check took ${BJ_BUDGET_WARM}s; budget ${BJ_BUDGET_WARM}s (warm; scripts/check-budget); logs in /logs" \
	"the budget line: total, budget, kind and where it is set"
expect_eq "$(wc -l <"$T/out")" 12 "nothing more when within budget"

bj_check_budget "$T/times" $((BJ_BUDGET_WARM + 1)) warm /logs >"$T/out"
expect_eq "$?" 1 "a warm run one second over its budget fails"
grep -q "^check: over budget: $((BJ_BUDGET_WARM + 1))s > ${BJ_BUDGET_WARM}s (warm)" "$T/out" &&
	grep -q 'scripts/check-budget only with a measured reason' "$T/out"
expect_eq "$?" 0 "...with a message that says by how much and what to do"

bj_check_budget "$T/times" $((BJ_BUDGET_WARM + 1)) cold /logs >"$T/out"
expect_eq "$?" 0 "the same time passes a cold run (debug kernel built)"
bj_check_budget "$T/times" $((BJ_BUDGET_COLD + 1)) cold /logs >"$T/out"
expect_eq "$?" 1 "a cold run over the cold budget fails"

# scripts/check uses these two.
expect_eq "$(grep -c 'bj_test_times\|bj_check_budget' "$TOP/scripts/check")" 2 \
	"scripts/check calls bj_test_times and bj_check_budget"

tap_end
