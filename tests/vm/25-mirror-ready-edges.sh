#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 64M --timeout 600
# Edges of a ready mirror (issue 16, items 1 and 2):
#  - after a suspend/resume of the volume, or a pause/resume of the job,
#    while ready, a region that becomes dirty again (a duplicated write that
#    the destination fails, a write the source fails) is copied again and the
#    job becomes ready again: the copier runs in every state that may need it;
#  - after a cancel (after ready, before ready) or a failure under policy
#    report, the guest's flushes no longer wait for the destination: a
#    destination that stops answering (suspended with --noflush) does not
#    hold up `dd conv=fsync` on the volume; `blockjob cancel --force` puts
#    the volume back on its source without waiting for such a destination.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/mirror-lib.sh"
load_blockjob || die "modprobe dm-blockjob"
SRC=/dev/vdb DST=/dev/vdc
SIZE=$((16 << 20)); SECT=$((SIZE / 512))

# write_at OFF64K [DD-ARG...]: 256 KiB of new data at OFF64K x 64 KiB; the
# data stays in /tmp/w
write_at() {
	local off=$1
	shift
	dd if=/dev/urandom of=/tmp/w bs=64K count=4 status=none
	dd if=/tmp/w of=/dev/mapper/vol bs=64K seek="$off" oflag=direct status=none "$@"
}

on_exit ml_teardown

# ready_again WHAT: the volume must be ready again, and the copy equal
ready_again() {
	if ml_wait_state vol ready 60; then
		ok "$1: ready again once the region was copied again"
	else
		not_ok "$1: not ready again after 60 s ($(dmsetup status vol))"
	fi
	check_eq "$(dev_digest /dev/mapper/dst)" "$(dev_digest /dev/mapper/src)" "$1: copy equals source"
}

# dirty_by_destination WHAT: one duplicated write fails on the destination
dirty_by_destination() {
	ml_swap dst "0 $SECT error"
	if write_at 8 conv=fsync; then ok "$1: the guest write succeeded"; else not_ok "$1: the guest write failed"; fi
	case "$(dmsetup status vol)" in *" running "*target-write*) ok "$1: the failed duplicate left ready" ;;
	*) not_ok "$1: status $(dmsetup status vol)" ;; esac
	ml_swap dst "0 $SECT linear $DST 0"
}

# --- 1. the copier after a suspend/resume and a pause/resume while ready -----
HOWS=("suspend/resume" "pause/resume" "both")
on_debug_kernel && HOWS=(both)	# (the budget: both paths, one copy)
for how in "${HOWS[@]}"; do
	ml_setup 31
	check blockjob mirror vol /dev/mapper/dst --on-source-error ignore --on-target-error ignore --wait
	case $how in
	suspend/resume|both) check dmsetup suspend vol; check dmsetup resume vol ;;
	esac
	case $how in
	pause/resume|both)
		check dmsetup message vol 0 pause
		check_eq "$(dmsetup status vol | awk '{print $5}')" standby "$how: ready job paused is standby"
		check dmsetup message vol 0 resume
		;;
	esac
	check_eq "$(dmsetup status vol | awk '{print $5}')" ready "$how: ready after $how"
	dirty_by_destination "$how, destination"
	ready_again "$how, destination"

	# The source fails a write: the region may now differ, copy it again.
	ml_swap src "0 $SECT error"
	if write_at 20 conv=fsync 2>/dev/null; then
		not_ok "$how: a write the source failed succeeded"
	else
		ok "$how: a write the source failed fails"
	fi
	ml_swap src "0 $SECT linear $SRC 0"
	ready_again "$how, source"
	check blockjob complete vol
	check_eq "$(dev_digest /dev/mapper/vol)" "$(dev_digest /dev/mapper/src)" "$how: pivoted volume equals the source"
	ml_teardown
done

# --- 2. a dead destination after the job stopped mirroring ----------------
for how in cancel-after-ready cancel-before-ready report-failure; do
	ml_setup 32
	case $how in
	cancel-after-ready)
		check blockjob mirror vol /dev/mapper/dst --wait
		check dmsetup message vol 0 cancel
		;;
	cancel-before-ready)
		check blockjob mirror vol /dev/mapper/dst --speed 64K
		check dmsetup message vol 0 cancel
		;;
	report-failure)
		check blockjob mirror vol /dev/mapper/dst --speed 64K --on-target-error report
		ml_swap dst "0 $SECT error"
		ml_wait_state vol concluded 60
		check_eq "$(dmsetup status vol | awk '{print $5, $6}')" "concluded failed" "$how: job failed"
		;;
	esac
	# The destination stops answering: I/O to it queues, forever.
	check dmsetup suspend --noflush dst
	timeout 60 dd if=/dev/urandom of=/dev/mapper/vol bs=64K count=4 seek=40 oflag=direct \
		conv=fsync status=none
	check_eq "$?" 0 "$how: a write and flush to the volume complete with the destination dead"
	check dmsetup resume dst
	ml_teardown
done
# --- cancel --force: the reload to passthrough does not wait for a dead
# destination (a plain cancel after ready flushes it: Known issues) ---------
for how in force plain-then-force; do
	ml_setup 33
	check blockjob mirror vol /dev/mapper/dst --wait
	[ $how = plain-then-force ] && check dmsetup message vol 0 cancel
	check dmsetup suspend --noflush dst
	timeout 60 blockjob cancel vol --force
	check_eq "$?" 0 "cancel --force ($how) with the destination dead ends in time"
	check_eq "$(dmsetup table vol | awk '{print $4, $5}')" "passthrough $(dmsetup info -c --noheadings -o major,minor --separator : src)" \
		"cancel --force ($how): back on the source"
	check dd if=/dev/urandom of=/dev/mapper/vol bs=64K count=4 seek=40 oflag=direct conv=fsync status=none
	ml_teardown
done
check rmmod dm_blockjob
finish
