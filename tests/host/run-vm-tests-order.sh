#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/run-vm-tests --jobs N launches the longest tests first (issue 15):
# by a quarter of each test's --timeout before any run, then by the times
# it kept from the last run ($BLOCKJOB_CACHE/vm-times/KERNEL), so a long
# test never starts last and runs alone. Results are still reported in test
# order, each with its time. Runs the real script in a copy of the tree
# whose vm-run is a stand-in that logs the launch and sleeps as long as the
# test asks. Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin run-vm-tests-order

mkdir -p "$T/top/scripts" "$T/top/tests/vm"
cp "$TOP/scripts/run-vm-tests" "$TOP/scripts/lib.sh" "$T/top/scripts/"
# vm-run stand-in: log "start NAME", sleep the test's "# sleep:" seconds.
cat >"$T/top/scripts/vm-run" <<'EOF'
#!/bin/bash
t=${*: -1}
echo "start $(basename "$t" .sh)" >>"$BJ_ORDER_LOG"
sleep "$(sed -n 's/^# sleep: //p' "$t")"
EOF
chmod +x "$T/top/scripts/vm-run"
# mk NAME TIMEOUT SLEEP
mk() { printf '#!/bin/bash\n# vm-run: --disks 1 --timeout %s\n# sleep: %s\n' "$2" "$3" >"$T/top/tests/vm/$1.sh"; }
mk 10-short 400 0.5
mk 20-long 1200 1.2
mk 30-mid 800 0.6
mk 40-tiny 200 0.5

run() {
	: >"$T/order"
	BJ_ORDER_LOG=$T/order BJ_NO_BUILD=1 BLOCKJOB_CACHE=$T/cache \
		"$T/top/scripts/run-vm-tests" --kernel stock --jobs 2 >"$T/out" 2>&1
}
# The launch order; the first two start at once, so they are sorted.
order() {
	{ head -n2 "$T/order" | sort; tail -n +3 "$T/order"; } | awk '{print $2}' | tr '\n' ' '
}

run
expect_eq "$?" 0 "first run passes"
expect_eq "$(order)" "20-long 30-mid 10-short 40-tiny " \
	"first run: launched by --timeout, longest first"
expect_eq "$(grep -E '^PASS' "$T/out" | awk '{print $2}' | tr '\n' ' ')" \
	"10-short 20-long 30-mid 40-tiny " "results reported in test order"
expect_eq "$(grep -c '^PASS [0-9a-z-]* ([0-9]*s)$' "$T/out")" 4 "each result line has the test's time"
expect_eq "$(tail -n1 "$T/out")" "4 passed, 0 failed" "last line counts them"
expect_eq "$(sort "$T/cache/vm-times/stock" 2>/dev/null | awk '{print $1}' | tr '\n' ' ')" \
	"10-short 20-long 30-mid 40-tiny " "times of every test kept for the next run"

# Measured times beat the --timeout guess: make 10-short the longest.
mk 10-short 400 2.2
echo "10-short 30" >"$T/cache/vm-times/stock.new"
grep -v '^10-short ' "$T/cache/vm-times/stock" >>"$T/cache/vm-times/stock.new"
mv "$T/cache/vm-times/stock.new" "$T/cache/vm-times/stock"
sed -i 's/^20-long .*/20-long 1/; s/^30-mid .*/30-mid 1/; s/^40-tiny .*/40-tiny 2/' \
	"$T/cache/vm-times/stock"
run
expect_eq "$(order)" "10-short 40-tiny 20-long 30-mid " \
	"second run: launched by the times of the last run"
expect_eq "$(awk '$1 == "10-short" {print ($2 >= 2)}' "$T/cache/vm-times/stock")" 1 \
	"the times file is updated with this run's times"

# "# vm-kernel: stock": by default not run on another kernel, and said so;
# still run when named.
printf '# vm-kernel: stock (userspace only)\n' >>"$T/top/tests/vm/40-tiny.sh"
: >"$T/order"
BJ_ORDER_LOG=$T/order BJ_NO_BUILD=1 BLOCKJOB_CACHE=$T/cache \
	"$T/top/scripts/run-vm-tests" --kernel debug --jobs 2 >"$T/out" 2>&1
expect_eq "$(awk '{print $2}' "$T/order" | sort | tr '\n' ' ')" "10-short 20-long 30-mid " \
	"debug kernel: the stock-only test is not run"
expect_eq "$(grep '^not run' "$T/out")" "not run on this kernel (vm-kernel: stock): 40-tiny" \
	"and the run says so"
expect_eq "$(tail -n1 "$T/out")" "3 passed, 0 failed" "the others pass"
run
expect_eq "$(grep -c 'start 40-tiny' "$T/order")" 1 "stock kernel: it runs"
: >"$T/order"
BJ_ORDER_LOG=$T/order BJ_NO_BUILD=1 BLOCKJOB_CACHE=$T/cache \
	"$T/top/scripts/run-vm-tests" --kernel debug 40 >"$T/out" 2>&1
expect_eq "$(awk '{print $2}' "$T/order")" "40-tiny" "named on the command line, it runs on any kernel"

tap_end
