#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 1G --timeout 600
# vm-kernel: stock
# Regions under pressure (issue 16, items 5 and 8).
#
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

# The first 8 MiB of each disk, so that the copy is short.
check mk_pattern $SRC 71 $SIZE
check dmsetup create hsrc --table "0 $SECT linear $SRC 0"
check dmsetup create hdst --table "0 $SECT linear $DST 0"
dm_nodes
check dd if=/dev/urandom of=/dev/mapper/hdst bs=1M count=8 oflag=direct status=none
check blockjob create vol /dev/mapper/hsrc
on_exit "blockjob remove vol 2>/dev/null; dmsetup remove hsrc 2>/dev/null; dmsetup remove hdst 2>/dev/null"

# Writers on the first 64 KiB region for 30 s: several jobs, small random
# writes, so that some write is in flight nearly all the time, with short
# gaps.
fio --name=hot --filename=/dev/mapper/vol --rw=randwrite --bs=4k --size=64k \
	--direct=1 --ioengine=libaio --iodepth=4 --numjobs=3 --time_based --runtime=30 \
	--output=/dev/null >/dev/null 2>&1 &
fio_pid=$!
# The copy of the other 127 regions takes well under a second; the hot
# region is copied only if its writes are held back for it.
check blockjob mirror vol /dev/mapper/hdst --mode write-blocking --granularity 64K
if timeout 25 blockjob wait vol --for ready; then
	ok "ready while the hot region is written"
else
	not_ok "not ready after 25 s under a hot region ($(dmsetup status vol))"
fi
if kill -0 $fio_pid 2>/dev/null; then ok "the writers still run when ready"; else not_ok "the writers had stopped"; fi
wait $fio_pid
check_eq "$?" 0 "the writers ran to their end without an error"
check_eq "$(dmsetup status vol | awk '{print $5}')" ready "still ready once the writers stopped"
check_eq "$(dev_digest /dev/mapper/hdst)" "$(dev_digest /dev/mapper/vol)" "the copy equals the volume"
check blockjob cancel vol
check blockjob remove vol
check dmsetup remove hsrc
check dmsetup remove hdst

# Whole-device discard and write-zeroes of a 1 GiB mirror (sync none: ready
# at once, every write duplicated): the block layer cuts them per region
# (the queue says so), they complete in bounded time, and both devices then
# read what they return for discarded blocks (these disks: zeroes).
check blockjob create vol $SRC
check blockjob mirror vol $DST --sync none --granularity 64K --wait
dmdev=$(dmsetup info -c --noheadings -o blkdevname vol)
# per_region LIMIT: 65536 if the disks take such requests at all, else 0
per_region() {
	[ "$(cat /sys/block/vdb/queue/$1)" -gt 0 ] && [ "$(cat /sys/block/vdc/queue/$1)" -gt 0 ] &&
		echo 65536 || echo 0
}
check_eq "$(cat /sys/block/$dmdev/queue/discard_max_bytes)" "$(per_region discard_max_bytes)" \
	"discards are cut per 64 KiB region"
check_eq "$(cat /sys/block/$dmdev/queue/write_zeroes_max_bytes)" "$(per_region write_zeroes_max_bytes)" \
	"write-zeroes are cut per 64 KiB region"
zero_digest() {	# BYTES
	"$DIGEST" /dev/zero 0 "$1"
}
SAMPLES="0 508 1016"	# MiB: 8 MiB at the start, the middle and the end
sample_zero() {	# DEV WHAT: the samples read zeroes
	local off
	for off in $SAMPLES; do
		check_eq "$(dev_digest_at "$1" $((off << 20)) $((8 << 20)))" "$(zero_digest $((8 << 20)))" "$2 at $off MiB"
	done
}
fill_samples() {	# data in the samples of the volume (so on both devices)
	local off
	for off in $SAMPLES; do
		dd if=/dev/urandom of=/dev/mapper/vol bs=1M count=8 seek=$off oflag=direct status=none || return
	done
}
check fill_samples
t0=$SECONDS
check timeout 300 blkdiscard /dev/mapper/vol
ok "whole-device discard of 1 GiB took $((SECONDS - t0)) s"
sample_zero /dev/mapper/vol "discarded volume reads zeroes"
sample_zero $DST "discarded destination reads zeroes"
check fill_samples
t0=$SECONDS
check timeout 300 blkdiscard -z /dev/mapper/vol
ok "whole-device write-zeroes of 1 GiB took $((SECONDS - t0)) s"
sample_zero /dev/mapper/vol "zeroed volume reads zeroes"
sample_zero $DST "zeroed destination reads zeroes"
check_eq "$(dmsetup status vol | awk '{print $5}')" ready "still ready"
check blockjob cancel vol
check blockjob remove vol
check rmmod dm_blockjob
finish
