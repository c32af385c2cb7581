#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 64M --timeout 600
# write_blocking converges under a writer that never leaves a region alone
# (issue 16, item 5): writers keep one region busy at every moment; the
# copier, finding it busy, marks it wanted, and new writes to it then wait
# until it is copied, however often the writes in flight drop to none and
# start again. The mirror becomes ready while the writers run, and the
# copy equals the source.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"
SRC=/dev/vdb DST=/dev/vdc
SIZE=$((8 << 20)); SECT=$((SIZE / 512))

check mk_pattern $SRC 71 $SIZE
check dd if=/dev/urandom of=$DST bs=1M count=8 status=none
check blockjob create vol $SRC
on_exit "blockjob remove vol 2>/dev/null"

# Writers on the first 64 KiB region for 30 s: several jobs, small random
# writes, so that some write is in flight nearly all the time, with short
# gaps.
fio --name=hot --filename=/dev/mapper/vol --rw=randwrite --bs=4k --size=64k \
	--direct=1 --ioengine=libaio --iodepth=4 --numjobs=3 --time_based --runtime=30 \
	--output=/dev/null >/dev/null 2>&1 &
fio_pid=$!
# The copy of the other 127 regions takes well under a second; the hot
# region is copied only if its writes are held back for it.
check blockjob mirror vol $DST --mode write-blocking --granularity 64K
if timeout 25 blockjob wait vol --for ready; then
	ok "ready while the hot region is written"
else
	not_ok "not ready after 25 s under a hot region ($(dmsetup status vol))"
fi
if kill -0 $fio_pid 2>/dev/null; then ok "the writers still run when ready"; else not_ok "the writers had stopped"; fi
wait $fio_pid
check_eq "$?" 0 "the writers ran to their end without an error"
check_eq "$(dmsetup status vol | awk '{print $5}')" ready "still ready once the writers stopped"
check_eq "$(dev_sha $DST)" "$(dev_sha /dev/mapper/vol)" "the copy equals the volume"
check blockjob cancel vol
check blockjob remove vol
check rmmod dm_blockjob
finish
