#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of scripts/vm-run, run on the host (7 boots, some at once, < 1 min
# on an idle host): exit status and ARGs reach host and guest, --xfer works
# both ways, --append and --disk-cache work and refuse bad values, a kernel
# WARNING fails the run, a panic fails it with a clear
# message, --timeout and SIGTERM fail cleanly without leaving a qemu process or
# a temp dir behind (a timeout shows the guest watchdog's dump of its tasks),
# a boot that hangs before the script is retried once.
# Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VMRUN=$TOP/scripts/vm-run
export BJ_NO_BUILD=1
. "$TOP/tests/host/tap.bash"
tap_begin vm-run-selftest
export BJ_TMPDIR=$T/tmp
show() { sed 's/^/#   /' "$1" | tail -n 25; }
no_qemu() { ! pgrep -f "bj.selftest=$1" >/dev/null; }

# (the --timeout case runs in the background meanwhile: it only waits)
printf '#!/bin/bash\necho sleeping\nsleep infinity\n' >"$T/sleep.sh"
tstart=$(date +%s)
(BJ_APPEND="bj.selftest=$$-timeout" "$VMRUN" --smp 1 --disks 0 --timeout 30 "$T/sleep.sh" >"$T/3.out" 2>&1
	echo $? >"$T/3.rc"; echo $(($(date +%s) - tstart)) >"$T/3.secs") &
tjob=$!

# 1. exit status, ARGs, --xfer both ways
mkdir -p "$T/xfer"
echo "from-host" >"$T/xfer/in.txt"
cat >"$T/args.sh" <<'EOF'
#!/bin/bash
printf 'arg=<%s>\n' "$@"
echo "nargs=$#"
cat /xfer/in.txt
echo "from-guest" >/xfer/out.txt
[ -f "$BJ_TESTS/vm/lib.sh" ] && echo "lib-present"
grep -o 'bj.selftest-append=[a-z]*' /proc/cmdline
dd if=/dev/urandom of=/dev/vdb bs=64k count=4 status=none && sync /dev/vdb && echo "flush-ok"
exit 3
EOF
"$VMRUN" --smp 1 --disks 1 --disk-size 64M --timeout 120 --xfer "$T/xfer" --disk-cache writeback \
	--append bj.selftest-append=yes "$T/args.sh" one 'two words' '$HOME;*' >"$T/1.out" 2>&1
rc=$?
expect "exit 3 in the guest makes vm-run exit 3 (got $rc)" test $rc -eq 3
expect "ARGs reach the script" grep -qx 'arg=<two words>' "$T/1.out"
expect "ARGs are not expanded" grep -qxF 'arg=<$HOME;*>' "$T/1.out"
expect "ARG count" grep -qx 'nargs=3' "$T/1.out"
expect "--xfer host -> guest" grep -qx 'from-host' "$T/1.out"
expect "--xfer guest -> host" grep -qx 'from-guest' "$T/xfer/out.txt"
expect "the tests tree is at \$BJ_TESTS" grep -qx 'lib-present' "$T/1.out"
expect "boot time printed" grep -q 'guest booted in' "$T/1.out"
expect "--append reaches the kernel command line" grep -qx 'bj.selftest-append=yes' "$T/1.out"
"$VMRUN" --append 'two words' "$T/args.sh" >"$T/1b.out" 2>&1
rc=$?
expect "--append with a space is refused before booting (exit $rc)" test $rc -eq 125
expect "... with one line saying why" grep -q -- '--append wants one kernel argument' "$T/1b.out"
expect "--disk-cache writeback: a guest flush of a scratch disk succeeds" grep -qx 'flush-ok' "$T/1.out"
"$VMRUN" --disk-cache fast "$T/args.sh" >"$T/1c.out" 2>&1
rc=$?
expect "--disk-cache with an unknown mode is refused before booting (exit $rc)" test $rc -eq 125
expect "... with one line saying why" grep -q -- '--disk-cache wants unsafe, writeback' "$T/1c.out"
[ $fail -eq 0 ] || show "$T/1.out"

# 2. a kernel WARNING fails a script that exits 0
cat >"$T/warn.sh" <<'EOF'
#!/bin/bash
echo "WARNING: CPU: 0 PID: 1 at selftest (fake report)" >/dev/kmsg
exit 0
EOF
printf '#!/bin/bash\necho c >/proc/sysrq-trigger\nsleep 30\n' >"$T/panic.sh"
"$VMRUN" --smp 1 --disks 0 --timeout 120 "$T/panic.sh" >"$T/p.out" 2>&1 &
pjob=$!
"$VMRUN" --smp 1 --disks 0 --timeout 120 "$T/warn.sh" >"$T/2.out" 2>&1
rc=$?
expect "a kernel WARNING fails the run (got $rc)" test $rc -ne 0
expect "the report line is printed" grep -q 'WARNING: CPU: 0 PID: 1 at selftest' "$T/2.out"
expect "the reason is printed" grep -q 'FAIL: the kernel log has reports' "$T/2.out"
[ $rc -ne 0 ] || show "$T/2.out"

# 3. a kernel panic (sysrq crash) fails with a clear message
wait $pjob
rc=$?
expect "a kernel panic fails the run (got $rc)" test $rc -eq 125
expect "the panic is named" grep -q 'FAIL: kernel panic' "$T/p.out"
grep -q 'FAIL: kernel panic' "$T/p.out" || show "$T/p.out"

# 4. --timeout: a script sleeping forever (started above)
wait $tjob
rc=$(cat "$T/3.rc")
secs=$(cat "$T/3.secs")
expect "--timeout 30 fails (got $rc)" test "$rc" -ne 0
expect "--timeout message" grep -q 'timed out after 30s' "$T/3.out"
expect "--timeout took ${secs}s (< 55s)" test "$secs" -lt 55
expect "no qemu left after a timeout" no_qemu "$$-timeout"
# the guest's watchdog fired 10 s before the deadline (its least margin: 5 s
# missed it once, a guest that booted in 9 s on a loaded host): sysrq w
# reached the console (at its KERN_INFO level), the sleeping script is
# listed, vm-run repeated the dump before its FAIL line and found no kernel
# report in it
expect "the watchdog dump is shown" grep -q '^BJ-WATCHDOG: test still running' "$T/3.out"
expect "the dump has the sysrq blocked-task list" grep -q 'sysrq: Show Blocked State' "$T/3.out"
expect "the dump lists the script's processes" grep -q 'state S: sleep infinity' "$T/3.out"
expect "vm-run repeats the dump" grep -q "the guest's watchdog dump before the timeout" "$T/3.out"
expect "the dump has no kernel report" not grep -q 'kernel reports' "$T/3.out"
if ! grep -q 'timed out after 30s' "$T/3.out" || ! grep -q '^BJ-WATCHDOG: end of dump' "$T/3.out"; then
	show "$T/3.out"
fi

# 6. a boot that does not reach the script in time is booted once more (a
#    1-second boot limit: the first boot cannot make it, the second has none)
printf '#!/bin/bash\necho second-boot-ran\n' >"$T/boot.sh"
BJ_BOOT_TIMEOUT=1 "$VMRUN" --smp 1 --disks 0 --timeout 120 "$T/boot.sh" >"$T/6.out" 2>&1
rc=$?
expect "a hung boot is retried and the script then runs (got $rc)" \
	test $rc -eq 0 -a "$(grep -c '^second-boot-ran' "$T/6.out")" = 1
expect "the retry is logged once" test "$(grep -c 'booting it once more' "$T/6.out")" = 1
[ $rc -eq 0 ] || show "$T/6.out"

# 5. SIGTERM to vm-run while the script runs
BJ_APPEND="bj.selftest=$$-term" "$VMRUN" --smp 1 --disks 0 --timeout 120 "$T/sleep.sh" >"$T/4.out" 2>&1 &
pid=$!
for _ in $(seq 300); do
	grep -q '^sleeping' "$T/4.out" && break
	sleep 0.2
done
kill -TERM $pid
wait $pid
rc=$?
expect "SIGTERM fails the run (got $rc)" test $rc -ne 0
sleep 0.5
expect "no qemu left after SIGTERM" no_qemu "$$-term"
expect "no temp dir left" test -z "$(ls -A "$T/tmp" 2>/dev/null)"

tap_end
