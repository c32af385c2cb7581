#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 256M --timeout 600
# Cancel mid-job (under writes, paused, from the CLI), pause/resume and
# set-speed while running, remove the volume while a job (and its view)
# runs, reload a running job's table, then rmmod: clean teardown, no
# kernel report.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"
on_exit bk_stop_writer

SEC=$((32 * 2048))
check mk_pattern vdb 5 $((SEC * 512))

# cancel under writes
check bk_vol vol /dev/vdb $SEC
want=$(dev_digest vol)
check blockjob backup vol /dev/vdc --speed 2M --chunk-size 4K
# First half only: the throttled copy of the second half (8 s at 2M/s)
# keeps the job running however fast copy-before-write saves the first.
bk_writer vol 600 1 $((SEC * 512 / 2))
sleep 2
check_eq "$(bk_state vol)" "running -" "running under writes"
check dmsetup message vol 0 cancel
check_eq "$(bk_state vol)" "concluded cancelled" "cancelled under writes"
if dmsetup message vol 0 cancel 2>/dev/null; then not_ok "second cancel accepted"; else ok "second cancel refused"; fi
sleep 1
bk_stop_writer
check bk_finish vol
check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "back to passthrough"
check_eq "$(dev_digest vol)" "$(dev_digest vdb $((SEC * 512)))" "volume maps its source"
check dmsetup remove vol

# pause / resume / set-speed, then let it complete
check bk_vol vol /dev/vdb $SEC
want=$(dev_digest vol)
check blockjob backup vol /dev/vdc --speed 1M
check dmsetup message vol 0 pause
d1=$(dmsetup status vol | awk '{print $7}')
sleep 1
d2=$(dmsetup status vol | awk '{print $7}')
check_eq "$d2" "$d1" "no progress while paused"
check_eq "$(bk_state vol)" "paused -" "paused"
check dmsetup message vol 0 set-speed 0
check dmsetup message vol 0 resume
check_eq "$(bk_wait vol 120)" completed "completes after resume with no speed limit"
check_eq "$(dev_digest_at /dev/vdc 0 $((SEC * 512)))" "$want" "backup equals the start"
if dmsetup message vol 0 pause 2>/dev/null; then not_ok "pause after conclusion accepted"; else ok "pause after conclusion refused"; fi
check dd if=/dev/urandom of=/dev/mapper/vol bs=64k count=4 oflag=direct status=none
check bk_finish vol
check dmsetup remove vol

# start_paused, then cancel from the CLI (events helper's verb)
check bk_vol vol /dev/vdb $SEC
check dmsetup load vol --table "0 $SEC blockjob backup /dev/vdb 0 /dev/vdc 0 128 1 start_paused"
check dmsetup suspend vol
check dmsetup resume vol
check_eq "$(bk_state vol)" "paused -" "start_paused"
check_eq "$(dmsetup status vol | awk '{print $7}')" "0/$((SEC * 512))" "nothing copied"
check dd if=/dev/urandom of=/dev/mapper/vol bs=64k seek=5 count=1 oflag=direct status=none
case $(dmsetup status vol) in *" full 1/512 1") ok "a write while paused saved its chunk" ;; *) not_ok "status: $(dmsetup status vol)" ;; esac
if command -v blockjob >/dev/null && blockjob cancel --help >/dev/null 2>&1; then
	check blockjob cancel vol
	check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "blockjob cancel: back to passthrough"
else
	check dmsetup message vol 0 cancel
	check bk_finish vol
fi
check dmsetup remove vol

# suspend/resume of a running job's table (same table): the job goes on
check bk_vol vol /dev/vdb $SEC
want=$(dev_digest vol)
check blockjob backup vol /dev/vdc --speed 4M
bk_writer vol 600 3
sleep 1
check dmsetup suspend vol
check dmsetup resume vol
check_eq "$(bk_wait vol 120)" completed "completes across a suspend/resume"
bk_stop_writer
check_eq "$(dev_digest_at /dev/vdc 0 $((SEC * 512)))" "$want" "backup equals the start"
check bk_finish vol
check dmsetup remove vol

# remove the volume while a job and a view run
check bk_vol vol /dev/vdb $SEC
check blockjob backup vol /dev/vdc --sync none --view vw
bk_writer vol 3 4
dd if=/dev/mapper/vw of=/dev/null bs=1M iflag=direct status=none &
sleep 1
wait $!
bk_stop_writer
if dmsetup remove vol 2>/dev/null; then not_ok "volume removed while its view holds it"; else ok "the view holds the volume: remove refused"; fi
check dmsetup remove vw
check dmsetup remove vol
check_eq "$(dmsetup ls | grep -c -w vol)" 0 "volume gone"

check bk_vol vol2 /dev/vdb $SEC
check blockjob backup vol2 /dev/vdc --speed 1M
check_eq "$(bk_state vol2)" "running -" "running"
check dmsetup remove vol2
check_eq "$(dmsetup ls | grep -c vol2)" 0 "removed while running"

# a job's table replaced by another backup table while running
check bk_vol vol3 /dev/vdb $SEC
check blockjob bitmap add vol3 bm
check blockjob backup vol3 /dev/vdc --bitmap bm --speed 64K
check dmsetup load vol3 --table "0 $SEC blockjob passthrough /dev/vdb 0"
check dmsetup suspend vol3
check dmsetup resume vol3
check_eq "$(blockjob bitmap list vol3 --json | grep -c '"busy": false')" 1 "bitmap released by the torn-down job"
check dmsetup remove vol3
check rmmod dm_blockjob
check_eq "$(lsmod | grep -c dm_blockjob)" 0 "module unloaded"
finish
