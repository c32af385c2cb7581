#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/run-vm-tests --batch N: tests whose "# vm-run:" lines are the same
# but for --timeout share a boot, up to N to a boot (never a --boots test);
# each still gets its own log, result and time; a test that fails fails
# alone, a kernel report in a shared boot fails every test of it, and the
# tests a failed reset kept from running boot alone. Runs the real script in
# a copy of the tree whose vm-run is a stand-in: it logs each boot and plays
# the guest's part (scripts/vm-batch-guest's BJ-BATCH lines) from each
# test's "# result:", "# abort:" and "# report:" lines.
# Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin run-vm-tests-batch

mkdir -p "$T/top/scripts" "$T/top/tests/vm"
cp "$TOP/scripts/run-vm-tests" "$TOP/scripts/lib.sh" "$TOP/scripts/vm-batch-guest" "$T/top/scripts/"
cat >"$T/top/scripts/vm-run" <<'EOF'
#!/bin/bash
# stand-in: "boot OPTIONS | NAMES" in $BJ_BOOT_LOG, then the guest's output
opts=() names=() batch=0
while [ $# -gt 0 ]; do
	case $1 in
	*/vm-batch-guest) batch=1; shift; names=("$@"); break ;;
	--*) opts+=("$1" "$2"); shift 2 ;;
	*) names=("$(basename "$1" .sh)"); break ;;
	esac
done
echo "boot ${opts[*]} | ${names[*]}" >>"$BJ_BOOT_LOG"
dir=$(dirname "$0")/../tests/vm
field() { sed -n "s/^# $2: //p" "$dir/$1.sh"; }
status=0 report=""
up=10
for n in "${names[@]}"; do
	rc=$(field "$n" result)
	if [ $batch = 1 ]; then
		echo "BJ-BATCH-BEGIN $n $up.0"
		echo "output of $n"
		up=$((up + 3))
		echo "BJ-BATCH-END $n $rc $up.5"
		[ -n "$(field "$n" report)" ] && report=1
		if [ -n "$(field "$n" abort)" ] && [ "$n" != "${names[-1]}" ]; then
			echo "BJ-BATCH-ABORT after $n: dm devices left: vol"
			status=1
			break
		fi
	else
		echo "output of $n alone"
		[ -n "$(field "$n" report)" ] && report=1
	fi
	[ "$rc" = 0 ] || status=$rc
done
if [ -n "$report" ]; then
	echo "vm-run: FAIL: the kernel log has reports (Oops/BUG/WARNING/lockdep/KASAN/hung task...), script exit status $status" >&2
	[ $status -ne 0 ] || status=1
fi
exit $status
EOF
chmod +x "$T/top/scripts/vm-run"
# mk NAME "HEADER" RESULT [KEY: VALUE]...
mk() {
	local f=$T/top/tests/vm/$1.sh
	printf '#!/bin/bash\n# vm-run: %s\n# result: %s\n' "$2" "$3" >"$f"
	shift 3
	for kv in "$@"; do echo "# $kv" >>"$f"; done
}
A="--disks 3 --disk-size 64M"
mk 10-a "$A --timeout 600" 0
mk 11-b "$A --timeout 300" 0
mk 12-c "$A --timeout 900" 0
mk 13-d "$A --timeout 600" 0
mk 20-other "--disks 2 --disk-size 64M --timeout 600" 0
mk 30-cut "--boots 3 $A --timeout 100" 0

# run [OPTIONS]: run-vm-tests with them, on a fresh cache; boots in
# $T/boots, output in $T/out
run() {
	: >"$T/boots"
	rm -rf "$T/cache"	# (no kept times: the order comes from --timeout)
	BJ_BOOT_LOG=$T/boots BJ_NO_BUILD=1 BLOCKJOB_CACHE=$T/cache \
		"$T/top/scripts/run-vm-tests" --kernel debug --jobs 1 "$@" >"$T/out" 2>&1
}
# the boots, each "NAME NAME...;" sorted within and across boots
boots() { sed 's/.* | //' "$T/boots" | while read -r l; do echo "$l" | tr ' ' '\n' | sort | paste -sd' ' -; done | sort | sed 's/$/;/' | tr '\n' ' '; }

run
expect_eq "$?" 0 "without --batch: every test passes"
expect_eq "$(boots)" "10-a; 11-b; 12-c; 13-d; 20-other; 30-cut; " "without --batch every test boots alone"

run --batch 3
expect_eq "$?" 0 "--batch 3: every test passes"
expect_eq "$(boots)" "10-a 12-c 13-d; 11-b; 20-other; 30-cut; " \
	"--batch 3: tests of one vm-run line share a boot, three to one, the longest together; other lines and --boots alone"
expect_eq "$(grep -c '| 10-a 12-c 13-d\|| 12-c 10-a 13-d\|| 12-c 13-d 10-a' "$T/boots")" 1 "...launched longest first"
expect_eq "$(grep ' | 12-c ' "$T/boots" | grep -o -- '--timeout [0-9]*')" "--timeout 2100" \
	"a shared boot's --timeout is the sum of its tests'"
expect_eq "$(grep -E '^PASS' "$T/out" | awk '{print $2}' | tr '\n' ' ')" \
	"10-a 11-b 12-c 13-d 20-other 30-cut " "each test has its own result, in test order"
L=$(sed -n 's/^logs: //p' "$T/out")
expect_eq "$(grep -h '^output of' "$L/10-a.log" "$L/13-d.log" | tr '\n' ' ')" "output of 10-a output of 13-d " \
	"each test's log has its own output only"
expect "a test's log names the boot it shared" grep -q '^# one boot with: .*10-a' "$L/10-a.log"
expect "...and the shared boot's whole log is kept" test -s "$L/batch-12-c.log"
expect_eq "$(awk '$1 == "10-a" { print ($2 >= 3) }' "$T/cache/vm-times/debug")" 1 \
	"its time kept for the next run's order (its span in the guest and a share of the boot)"

# A failing test fails alone; a kernel report fails its whole boot.
mk 13-d "$A --timeout 600" 1
run --batch 3
expect_eq "$?" 1 "a failing test in a shared boot: the run fails"
expect_eq "$(grep -E '^(PASS|FAIL)' "$T/out" | awk '{print $1 "-" $2}' | tr '\n' ' ')" \
	"PASS-10-a PASS-11-b PASS-12-c FAIL-13-d PASS-20-other PASS-30-cut " \
	"...only that test fails; the tests it shared the boot with pass"
mk 13-d "$A --timeout 600" 0 "report: yes"
run --batch 3
expect_eq "$(grep -E '^FAIL' "$T/out" | awk '{print $2}' | tr '\n' ' ')" "10-a 12-c 13-d " \
	"a kernel report in a shared boot fails every test of that boot"
L=$(sed -n 's/^logs: //p' "$T/out")
expect "...each log says so" grep -q 'the kernel log has reports' "$L/10-a.log"

# A failed reset: the tests after it boot alone, and pass.
mk 13-d "$A --timeout 600" 0
mk 12-c "$A --timeout 900" 0 "abort: yes"
run --batch 3
expect_eq "$?" 0 "a failed reset after a test: every test still passes"
expect_eq "$(grep -c ' | 12-c \(10-a\|13-d\) ' "$T/boots")" 1 "...the shared boot stopped after that test"
expect_eq "$(grep -c ' | 10-a$\| | 13-d$' "$T/boots")" 2 "...and the two tests it kept from running booted alone"
L=$(sed -n 's/^logs: //p' "$T/out")
expect "...their logs say why" grep -q 'did not run in that boot (BJ-BATCH-ABORT after 12-c' "$L/10-a.log"

tap_end
