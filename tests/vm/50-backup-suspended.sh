#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 128M --timeout 600
# A suspended backup copies nothing (issue 16, item 7): a "resume" message
# sent while the volume is suspended is taken (the job is running), but the
# copier starts only when the table is resumed. A table swapped out while
# suspended must not go on reading a source that copy-before-write no
# longer protects. After the resume the backup completes and equals the
# volume at its start.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"
SEC=$((32 * 2048))
BYTES=$((SEC * 512))

done_bytes() {
	dmsetup status vol | awk '{split($7, a, "/"); print a[1]}'
}

check mk_pattern vdb "$RANDOM" $BYTES
check bk_vol vol /dev/vdb $SEC
check bk_linear tgt /dev/vdc 0 $SEC
want=$(dev_digest vol)
check dmsetup load vol --table "0 $SEC blockjob backup /dev/vdb 0 /dev/mapper/tgt 0 128 1 start_paused"
check dmsetup suspend vol
check dmsetup resume vol
check_eq "$(bk_state vol) $(done_bytes)" "paused - 0" "the backup starts paused"

check dmsetup suspend vol
check dmsetup message vol 0 resume
check_eq "$(bk_state vol)" "running -" "resume message taken while suspended"
# What is shown here is an absence: give a copier that wrongly runs the
# time to copy (unthrottled, 32 MiB take well under a second here).
sleep 2
check_eq "$(done_bytes)" 0 "nothing copied while the volume is suspended"
check dmsetup resume vol
check_eq "$(bk_wait vol 120)" completed "the backup completes once resumed"
check_eq "$(dev_digest /dev/mapper/tgt)" "$want" "the backup equals the volume at its start"
check bk_finish vol
check dmsetup remove vol
check dmsetup remove tgt
check rmmod dm_blockjob
finish
