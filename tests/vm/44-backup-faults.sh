#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 256M --timeout 600
# The backup destination fails mid-job (dm-error by table reload) under both
# copy-before-write error policies: break-guest-write fails the guest write
# with EIO and keeps the backup intact (it completes once the destination
# is back); break-snapshot lets the write through and fails the job. A
# failing background copy fails the job. The source is never damaged.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((16 * 2048))
BYTES=$((SEC * 512))
CH=65536
LAST=$((SEC / 128 - 1))		# last 64K chunk: copied last by the background copier

setup() {
	bk_pit_setup $SEC
	want=$(digest </tmp/pit.img)
}
teardown() {
	bk_finish vol
	dmsetup remove tgt
	dmsetup remove vol
}

echo "# break-guest-write"
setup
check blockjob backup vol /dev/mapper/tgt --on-cbw-error break-guest-write --chunk-size 64K --speed 1M
check dmsetup message vol 0 pause
check_eq "$(bk_state vol)" "paused -" "job paused"
check bk_error tgt
dd if=/dev/urandom of=/tmp/new bs=$CH count=1 status=none
if dd if=/tmp/new of=/dev/mapper/vol bs=$CH seek=$LAST count=1 oflag=direct status=none 2>/dev/null; then
	not_ok "break-guest-write: the guest write should fail with EIO"
else
	ok "break-guest-write: the guest write failed (EIO)"
fi
check_eq "$(bk_chunk /dev/mapper/vol $LAST)" "$(bk_pit_chunk $LAST)" "the failed write left the source chunk untouched"
check_eq "$(bk_state vol)" "paused -" "the job goes on"
case $(dmsetup status vol) in *"cbw-target-write"*) ok "error reported in status" ;; *) not_ok "no error in status: $(dmsetup status vol)" ;; esac
check bk_relinear tgt /dev/vdc 0
check dd if=/tmp/new of=/dev/mapper/vol bs=$CH seek=$LAST count=1 oflag=direct status=none
check_eq "$(bk_chunk /dev/mapper/vol $LAST)" "$(digest </tmp/new)" "with the destination back, the write succeeds"
check dmsetup message vol 0 resume
check_eq "$(bk_wait vol 120)" completed "the backup completes"
check_eq "$(dev_digest tgt)" "$want" "break-guest-write: the backup is the intact start-time image"
teardown

echo "# break-snapshot"
setup
check blockjob backup vol /dev/mapper/tgt --chunk-size 64K --speed 1M
check dmsetup message vol 0 pause
check bk_error tgt
check dd if=/tmp/new of=/dev/mapper/vol bs=$CH seek=$LAST count=1 oflag=direct status=none
ok "break-snapshot: the guest write succeeded"
# The write may end before the copy's write fails (it goes once the copy
# has read the old data): wait for the job's end.
check_eq "$(bk_wait vol 60)" failed "the job failed"
check_eq "$(bk_chunk /dev/mapper/vol $LAST)" "$(digest </tmp/new)" "the write reached the source"
dd if=/tmp/new of=/tmp/pit.img bs=$CH seek=$LAST count=1 conv=notrunc status=none
check_eq "$(dev_digest vol)" "$(digest </tmp/pit.img)" "the rest of the source is undamaged"
# after the failure writes flow freely
check dd if=/dev/urandom of=/dev/mapper/vol bs=$CH seek=3 count=4 oflag=direct status=none
teardown

echo "# background copy fails (both policies)"
for pol in break-snapshot break-guest-write; do
	setup
	check blockjob backup vol /dev/mapper/tgt --on-cbw-error $pol --chunk-size 64K --speed 2M
	sleep 1
	check bk_error tgt
	check_eq "$(bk_wait vol 60)" failed "$pol: a failing destination fails the job"
	check_eq "$(dev_digest vol)" "$want" "$pol: source undamaged"
	teardown
done

echo "# source read error of the background copy"
check mk_pattern vdb 9 $BYTES
check bk_linear srcdev /dev/vdb 0 $SEC
check bk_vol vol /dev/mapper/srcdev $SEC
check bk_linear tgt /dev/vdc 0 $SEC
check blockjob backup vol /dev/mapper/tgt --chunk-size 64K --speed 2M
sleep 1
# the second half of the source turns unreadable
printf '0 %d linear /dev/vdb 0\n%d %d error\n' $((SEC / 2)) $((SEC / 2)) $((SEC / 2)) >/tmp/t
check dmsetup load srcdev /tmp/t
check dmsetup suspend srcdev
check dmsetup resume srcdev
check_eq "$(bk_wait vol 60)" failed "source read error fails the job"
case $(dmsetup status vol) in *"source-read"*) ok "source-read error reported" ;; *) not_ok "status: $(dmsetup status vol)" ;; esac
check bk_finish vol
check dmsetup remove vol
check dmsetup remove tgt
check dmsetup remove srcdev
check rmmod dm_blockjob
finish
