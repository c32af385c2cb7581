#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/vm-run and a guest livelock (a soft lockup of BJ_LIVELOCK_SECONDS
# or more in the console, as TCG on a loaded host sometimes leaves a guest):
# the boot ends at once instead of at --timeout; without a dm-blockjob frame
# in the console the test boots once more on new scratch disks and its
# result is the second boot's (the first console kept, the log says so);
# a boot of --boots boots once more on its disks as the boots before left
# them; twice, or with a dm-blockjob frame, the run fails and says why. The
# guest scripts write the soft-lockup lines into the kernel log themselves
# (8 boots, about a minute and a half; 16 cases).
# Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VMRUN=$TOP/scripts/vm-run
export BJ_NO_BUILD=1
. "$TOP/tests/host/tap.bash"
tap_begin vm-run-livelock
export BJ_TMPDIR=$T/tmp

# lockup [FRAME]: the kernel's soft-lockup lines (and a stack frame)
cat >"$T/lockup.sh" <<'EOF'
lockup() {
	echo "<4>watchdog: BUG: soft lockup - CPU#0 stuck for 130s! [kworker/0:1H:44]" >/dev/kmsg
	[ -z "${1:-}" ] || echo "<4> $1" >/dev/kmsg
	sleep 100
}
EOF
# 1. a livelock in the first boot only (a mark in --xfer), data on vdb
mkdir -p "$T/x1"
cat >"$T/once.sh" <<EOF
#!/bin/bash
. /xfer/lockup.sh
echo "vdb: \$(head -c 4 /dev/vdb | od -An -tx1 | tr -d ' ')"
if [ ! -e /xfer/booted ]; then
	echo first >/xfer/booted
	printf 'DATA' >/dev/vdb; sync
	lockup
fi
echo "second boot"
exit 0
EOF
cp "$T/lockup.sh" "$T/x1/"
t0=$(date +%s)
BJ_LOGDIR=$T/logs1 "$VMRUN" --smp 1 --disks 1 --disk-size 16M --timeout 300 --xfer "$T/x1" \
	"$T/once.sh" >"$T/1.out" 2>&1
expect_eq "$?" 0 "a livelock in the first boot: the second boot's result (exit 0)"
expect "...the log says it booted once more" grep -q 'the guest livelocked (a soft lockup of 45s or more; no dm-blockjob frame' "$T/1.out"
expect "...on new disks (vdb reads zeroes again)" grep -q '^vdb: 00000000$' "$T/1.out"
expect "...the first boot's console is kept" grep -q 'soft lockup - CPU#0 stuck for 130s' "$T/logs1/console-livelock-1.txt"
expect "...and ended long before --timeout" [ $(($(date +%s) - t0)) -lt 120 ]

# 2. twice: fails
mkdir -p "$T/x2"
cp "$T/lockup.sh" "$T/x2/"
printf '#!/bin/bash\n. /xfer/lockup.sh\nlockup\n' >"$T/always.sh"
"$VMRUN" --smp 1 --disks 1 --disk-size 16M --timeout 300 --xfer "$T/x2" "$T/always.sh" >"$T/2.out" 2>&1
expect_eq "$?" 125 "a livelock in both boots fails the run (exit 125)"
expect "...saying so" grep -q 'vm-run: FAIL: the guest livelocked twice' "$T/2.out"

# 3. a dm-blockjob frame: no second boot
mkdir -p "$T/x3"
cp "$T/lockup.sh" "$T/x3/"
printf '#!/bin/bash\n. /xfer/lockup.sh\nlockup "bj_mirror_map+0x1c/0x90 [dm_blockjob]"\n' >"$T/ours.sh"
"$VMRUN" --smp 1 --disks 1 --disk-size 16M --timeout 300 --xfer "$T/x3" "$T/ours.sh" >"$T/3.out" 2>&1
expect_eq "$?" 125 "a livelock with a dm-blockjob frame fails the run"
expect "...without a second boot" [ "$(grep -c 'booting it once more' "$T/3.out")" -eq 0 ]
expect "...naming the frames" grep -q 'with dm-blockjob frames in its stacks' "$T/3.out"
# 4. --boots 2: boot 1 writes ONE! and is cut; boot 2 writes TWO! and
# livelocks; booted once more, it finds the disks as boot 1 left them
mkdir -p "$T/x4"
cp "$T/lockup.sh" "$T/x4/"
cat >"$T/boots.sh" <<'EOF2'
#!/bin/bash
. /xfer/lockup.sh
echo "boot $BJ_BOOT vdb: $(head -c 4 /dev/vdb | od -An -tx1 | tr -d ' ')"
if [ "$BJ_BOOT" = 1 ]; then
	printf 'ONE!' >/dev/vdb; sync
	printf '\nBJ-POWER-CUT\n' >/dev/console
	sleep 60
	exit 1
fi
if [ ! -e /xfer/booted ]; then
	echo first >/xfer/booted
	printf 'TWO!' >/dev/vdb; sync
	lockup
fi
exit 0
EOF2
BJ_LOGDIR=$T/logs4 "$VMRUN" --smp 1 --disks 1 --disk-size 16M --disk-cache none --timeout 300 \
	--xfer "$T/x4" --boots 2 "$T/boots.sh" >"$T/4.out" 2>&1
expect_eq "$?" 0 "a livelock in boot 2 of --boots 2: its second try's result (exit 0)"
expect "...the log says it booted once more on the disks as they were" \
	grep -q 'booting it once more on the disks as they were before this boot' "$T/4.out"
expect "...the first try had written TWO!" [ -e "$T/x4/booted" ]
expect "...the second try read boot 1's ONE! (4f4e4521), not TWO!" \
	grep -q '^boot 2 vdb: 4f4e4521$' "$T/4.out"
expect "...twice: once per try of boot 2" [ "$(grep -c '^boot 2 vdb: 4f4e4521$' "$T/4.out")" -eq 2 ]

expect "no qemu process left" [ -z "$(pgrep -f "$T/tmp" || true)" ]

tap_end
