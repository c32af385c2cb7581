#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 64M --timeout 600
# The pivot and the suspends around it (issue 16, items 3 and 4):
#  - "complete", then a suspend/resume of the same table (fsfreeze, an
#    LVM-like stack, a pivot abandoned after its suspend): the job is ready
#    again, not concluded, so a duplicated write the destination then fails
#    is tracked, and the next pivot waits for its region to be copied again
#    and lands on a destination that holds that write;
#  - the pivot itself still concludes at the suspend and the destination's
#    passthrough table then serves the volume's data;
#  - a suspend interrupted by a signal while dm waits for I/O (the suspend
#    is undone) leaves the mirror copying: it still becomes ready;
#  - the kernel refuses a passthrough table on the destination of a mirror
#    that has not completed (at load, and at resume if the suspend did not
#    conclude the mirror), so no reload by hand can pivot onto a
#    destination that lacks a write.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/mirror-lib.sh"
load_blockjob || die "modprobe dm-blockjob"
SRC=/dev/vdb DST=/dev/vdc
SIZE=$((16 << 20)); SECT=$((SIZE / 512))

on_exit ml_teardown

# lost_write WHAT: a duplicated write that the destination fails; its data
# stays in /tmp/w (256 KiB at 2 MiB)
lost_write() {
	dd if=/dev/urandom of=/tmp/w bs=64K count=4 status=none
	ml_swap dst "0 $SECT error"
	if dd if=/tmp/w of=/dev/mapper/vol bs=64K seek=32 oflag=direct conv=fsync status=none; then
		ok "$1: the guest write succeeded"
	else
		not_ok "$1: the guest write failed"
	fi
	ml_swap dst "0 $SECT linear $DST 0"
}

# pivot_keeps_write WHAT: blockjob complete, then the volume (now on the
# destination) holds the write of lost_write
pivot_keeps_write() {
	if ml_wait_state vol ready 60; then
		ok "$1: ready again ($(ml_state))"
	else
		not_ok "$1: not ready after 60 s ($(dmsetup status vol))"
	fi
	check blockjob complete vol
	check_eq "$(dmsetup table vol | awk '{print $4, $5}')" "passthrough $(ml_devnum dst)" "$1: pivoted to dst"
	check_eq "$(dev_digest_at /dev/mapper/vol $((2 << 20)) $((256 << 10)))" "$(digest </tmp/w)" \
		"$1: the pivoted volume holds the write the destination failed before"
	check_eq "$(dev_digest /dev/mapper/dst)" "$(dev_digest /dev/mapper/src)" "$1: destination equals source"
}

# --- 3. a conclusion by a suspend that was not the pivot's ------------------
for how in suspend-resume abandoned-pivot; do
	ml_setup 41
	check blockjob mirror vol /dev/mapper/dst --on-target-error ignore --wait
	check dmsetup message vol 0 complete
	case $how in
	suspend-resume)
		check dmsetup suspend vol
		;;
	abandoned-pivot)
		# What "blockjob complete" does, up to a kill after the suspend.
		check dmsetup load vol --table "0 $SECT blockjob passthrough /dev/mapper/dst 0"
		check dmsetup suspend vol
		check_eq "$(ml_state)" "concluded completed" "$how: the suspend concluded the job"
		check dmsetup clear vol
		;;
	esac
	check dmsetup resume vol
	check_eq "$(ml_state)" "ready -" "$how: resuming the same table makes the job ready again"
	lost_write "$how"
	pivot_keeps_write "$how"
	ml_teardown
done

# --- the pivot still concludes at the suspend ------------------------------
ml_setup 42
check blockjob mirror vol /dev/mapper/dst --wait
check dd if=/dev/urandom of=/dev/mapper/vol bs=64K count=4 seek=64 oflag=direct status=none
check dmsetup message vol 0 complete
check dmsetup load vol --table "0 $SECT blockjob passthrough /dev/mapper/dst 0"
check dmsetup suspend vol
check_eq "$(ml_state)" "concluded completed" "pivot: the suspend concluded the job"
check dmsetup resume vol
check_eq "$(dmsetup table vol | awk '{print $4, $5}')" "passthrough $(ml_devnum dst)" "pivot: on dst"
check_eq "$(dev_digest /dev/mapper/vol)" "$(dev_digest /dev/mapper/src)" "pivot: the volume's data on dst"
ml_teardown

# --- 4. a suspend undone by a signal ---------------------------------------
ml_setup 43
check blockjob mirror vol /dev/mapper/dst --speed 256K
# A guest write held in the source (suspended without flushing) keeps the
# volume's suspend waiting for it; a signal then makes dm give up.
ml_hold_write
dmsetup suspend vol &
sus_pid=$!
if ml_in_suspend $sus_pid; then
	ok "the volume's suspend waits for the held write"
else
	not_ok "the volume's suspend is not waiting: $(tr '\n' ' ' <"/proc/$sus_pid/stack" 2>&1)"
fi
kill -KILL $sus_pid
wait $sus_pid
check_eq "$(dmsetup info -c --noheadings -o suspended vol)" Active "the interrupted suspend left vol active"
ml_release_write
check dmsetup message vol 0 set-speed 0
if ml_wait_state vol ready 60; then
	ok "the mirror still copies after the undone suspend: ready"
else
	not_ok "not ready 60 s after the undone suspend ($(dmsetup status vol))"
fi
check blockjob complete vol
check_eq "$(dev_digest /dev/mapper/vol)" "$(dev_digest /dev/mapper/src)" "undone suspend: pivoted data"
ml_teardown

# --- 10 (kernel): a passthrough table on the destination of a mirror that
# has not completed never serves the volume --------------------------------
ml_setup 44
PT_DST="0 $SECT blockjob passthrough /dev/mapper/dst 0"
check blockjob mirror vol /dev/mapper/dst --speed 256K --on-target-error ignore
if dmsetup load vol --table "$PT_DST" 2>/tmp/err; then
	not_ok "load of passthrough on the destination of a running mirror accepted"
	dmsetup clear vol
else
	ok "load on the destination of a running mirror refused"
fi
check_eq "$(dmesg | grep -c 'Destination of an unfinished mirror')" 1 "the kernel log says why"
check dmsetup message vol 0 set-speed 0
check blockjob wait vol --for ready
if dmsetup load vol --table "$PT_DST" 2>/dev/null; then
	not_ok "load on the destination of a ready mirror without complete accepted"
	dmsetup clear vol
else
	ok "load on the destination of a ready mirror without complete refused"
fi
# Asked to complete, the load is taken; a duplicate the destination then
# fails keeps the suspend from concluding, and the resume is refused.
# The destination keeps failing until after the suspend, so that the
# region cannot be copied again meanwhile.
check dmsetup message vol 0 complete
check dmsetup load vol --table "$PT_DST"
dd if=/dev/urandom of=/tmp/w bs=64K count=4 status=none
check ml_swap dst "0 $SECT error"
check dd if=/tmp/w of=/dev/mapper/vol bs=64K seek=32 oflag=direct conv=fsync status=none
check dmsetup suspend vol
check_eq "$(ml_state)" "running -" "the failed duplicate kept the suspend from concluding"
if dmsetup resume vol 2>/dev/null; then
	not_ok "resume onto a destination that lacks a write accepted"
else
	ok "resume onto a destination that lacks a write refused"
fi
if dmsetup resume vol 2>/dev/null; then
	not_ok "a second resume of the refused table accepted"
else
	ok "a second resume of the refused table refused too"
fi
check ml_swap dst "0 $SECT linear $DST 0"
check dmsetup load vol --table "0 $SECT blockjob passthrough /dev/mapper/src 0"
check dmsetup resume vol
check_eq "$(dev_digest_at /dev/mapper/vol $((2 << 20)) $((256 << 10)))" "$(digest </tmp/w)" \
	"back on the source, the volume holds the write"
ml_teardown

check rmmod dm_blockjob
finish
