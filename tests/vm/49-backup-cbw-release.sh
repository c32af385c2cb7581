#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 256M --timeout 600
# When a guest write is let go during copy-before-write. The destination is
# a dm-linear device held suspended, so the copy's write to it cannot end:
# under break-snapshot the write still completes (the copy has read the
# old data), later writes to the chunk too, and a view read of that chunk
# waits for the copy and then returns the old data; under break-guest-write
# the write waits for the destination. If the held copy then fails, the job
# fails and the view answers EIO, never the new data; a cancel with such a
# copy in flight ends cleanly.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((16 * 2048))
CH=65536
PIDS=()
on_exit 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; dmsetup resume tgt 2>/dev/null'

setup() {
	bk_pit_setup $SEC
	dd if=/dev/urandom of=/tmp/new bs=$CH count=1 status=none
}
teardown() {
	dmsetup resume tgt 2>/dev/null
	dmsetup remove --retry vw 2>/dev/null
	bk_finish vol
	dmsetup remove tgt
	dmsetup remove vol
}
# A view read of chunk $1 into /tmp/view.$1, in the background: sets VPID.
view_read() {
	dd if=/dev/mapper/vw of=/tmp/view.$1 bs=$CH skip="$1" count=1 iflag=direct status=none &
	VPID=$!
	PIDS+=($VPID)
}
# Is process $1 still waiting after a second? (It cannot end while the
# destination is suspended, so a wait that shows it ended is a failure.)
still_waits() { sleep 1; _bk_alive "$1"; }
# bounded CMD...: run CMD (stdout to /tmp/out), which must end while the
# destination stays suspended. I/O that waits for the destination cannot be
# killed, so a CMD still running after 60 s is reported, and let go by
# resuming the destination: the test goes on instead of hanging. Returns
# CMD's status, 124 if it had to be let go.
bounded() {
	local pid i
	"$@" >/tmp/out &
	pid=$!
	PIDS+=($pid)
	for ((i = 0; i < 600; i++)); do
		_bk_alive $pid || break
		sleep 0.1
	done
	if _bk_alive $pid; then
		echo "# still waiting after 60 s: $*"
		dmsetup resume tgt
		wait $pid
		return 124
	fi
	wait $pid
}
released_write() {	# FILE CHUNK WHAT
	if bounded dd if="$1" of=/dev/mapper/vol bs=$CH seek="$2" count=1 oflag=direct status=none; then
		ok "$3"
	else
		not_ok "$3"
	fi
}

echo "# break-snapshot: the write goes once the old data is read"
setup
check blockjob backup vol /dev/mapper/tgt --sync none --chunk-size 64K --view vw
check dmsetup suspend tgt
released_write /tmp/new 5 "first write to a chunk completes while the copy's write is held"
dd if=/dev/urandom of=/tmp/new4k bs=4k count=1 status=none
cp /tmp/new /tmp/both
dd if=/tmp/new4k of=/tmp/both bs=4k seek=3 conv=notrunc status=none
check dd if=/tmp/new4k of=/dev/mapper/vol bs=4k seek=$((5 * 16 + 3)) count=1 oflag=direct status=none
check_eq "$(bk_chunk /dev/mapper/vol 5)" "$(digest </tmp/both)" "a second write to the released chunk completes too"
view_read 5
if still_waits $VPID; then ok "a view read of the chunk waits for the copy"; else not_ok "a view read of the chunk ended while its copy was held"; fi
bounded dd if=/dev/mapper/vw bs=$CH skip=7 count=1 iflag=direct status=none
check_eq "$(digest </tmp/out)" "$(bk_pit_chunk 7)" "a view read of an untouched chunk reads the source meanwhile"
check dmsetup resume tgt
if wait $VPID; then ok "the held view read completes"; else not_ok "the held view read failed"; fi
check_eq "$(digest </tmp/view.5)" "$(bk_pit_chunk 5)" "the view read the old data"
check_eq "$(bk_chunk /dev/mapper/tgt 5)" "$(bk_pit_chunk 5)" "the destination holds the old data"
check_eq "$(bk_chunk /dev/mapper/vw 5)" "$(bk_pit_chunk 5)" "the view reads the old data from the destination"
check_eq "$(bk_state vol)" "running -" "the job goes on"
check dmsetup message vol 0 cancel
teardown

echo "# break-guest-write: the write waits for the destination"
setup
check blockjob backup vol /dev/mapper/tgt --sync none --chunk-size 64K --view vw --on-cbw-error break-guest-write
check dmsetup suspend tgt
dd if=/tmp/new of=/dev/mapper/vol bs=$CH seek=5 count=1 oflag=direct status=none &
WPID=$!
PIDS+=($WPID)
if still_waits $WPID; then ok "the write waits while the copy's write is held"; else not_ok "the write ended before the copy's write"; fi
bounded dd if=/dev/mapper/vw bs=$CH skip=5 count=1 iflag=direct status=none
check_eq "$(digest </tmp/out)" "$(bk_pit_chunk 5)" "a view read of the chunk reads the (unchanged) source"
check dmsetup resume tgt
if wait $WPID; then ok "the write completes with the destination back"; else not_ok "the write failed"; fi
check_eq "$(bk_chunk /dev/mapper/vol 5)" "$(digest </tmp/new)" "the write reached the source"
check_eq "$(bk_chunk /dev/mapper/vw 5)" "$(bk_pit_chunk 5)" "the view reads the old data"
check dmsetup message vol 0 cancel
teardown

echo "# the held copy of a released chunk fails: the view never shows the new data"
setup
check blockjob backup vol /dev/mapper/tgt --sync none --chunk-size 64K --view vw
check dmsetup suspend tgt
released_write /tmp/new 5 "the write completes"
view_read 5
if still_waits $VPID; then ok "the view read waits"; else not_ok "the view read ended while its copy was held"; fi
check dmsetup load tgt --table "0 $SEC error"
check dmsetup resume tgt
if wait $VPID; then
	not_ok "the view read of the lost chunk succeeded (new data: $([ "$(digest </tmp/view.5)" = "$(digest </tmp/new)" ] && echo yes || echo no))"
else
	ok "the view read of the lost chunk fails (EIO)"
fi
check_eq "$(bk_wait vol 60)" failed "the job failed"
case $(dmsetup status vol) in *"cbw-target-write"*) ok "error reported in status" ;; *) not_ok "status: $(dmsetup status vol)" ;; esac
if dd if=/dev/mapper/vw of=/dev/null bs=$CH skip=7 count=1 iflag=direct status=none 2>/dev/null; then
	not_ok "the failed job's view still reads"
else
	ok "the failed job's view answers EIO"
fi
dd if=/tmp/new of=/tmp/pit.img bs=$CH seek=5 count=1 conv=notrunc status=none
check_eq "$(dev_digest vol)" "$(digest </tmp/pit.img)" "the source holds the write and nothing else changed"
teardown

echo "# cancel with a released copy in flight"
setup
check blockjob backup vol /dev/mapper/tgt --sync none --chunk-size 64K --view vw
check dmsetup suspend tgt
released_write /tmp/new 5 "the write completes"
check bounded dmsetup message vol 0 cancel
check_eq "$(bk_state vol)" "concluded cancelled" "cancelled"
if bounded dd if=/dev/mapper/vw bs=$CH skip=5 count=1 iflag=direct status=none 2>/dev/null; then
	not_ok "the cancelled job's view read the unsaved chunk"
else
	ok "the cancelled job's view answers EIO for the unsaved chunk"
fi
check dmsetup resume tgt
check_eq "$(bk_chunk /dev/mapper/vol 5)" "$(digest </tmp/new)" "the write is on the source"
teardown
check rmmod dm_blockjob
check_eq "$(lsmod | grep -c dm_blockjob)" 0 "module unloaded"
finish
