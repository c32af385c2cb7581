#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 256M --timeout 900 --append slub_debug=A,bj_copy_req
# Copies when memory is short. Every copy takes a request with a buffer from
# the "bj_copy_req" slab cache; when that fails it falls back to a small
# reserve of full-size requests, and waits for one if all are in use. On a
# kernel with failslab (the debug kernel) the boot marks that cache for
# failslab's cache filter, and its allocations fail, sleeping ones too:
# with all of them failing (every copy from the reserve) a mirror under a
# writer still reaches ready with the source's data and pivots, and a
# backup under a writer still equals the volume at the start; and every
# write lands. A table load
# when no request can be allocated is refused and leaves the device as it
# was. On a kernel without failslab the same runs go without injection.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((32 * 2048))
BYTES=$((SEC * 512))
FS=/sys/kernel/debug/failslab
TIMES=1000000
[ -d $FS ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null

INJECT=0
if [ -d $FS ] && [ "$(cat /sys/kernel/slab/bj_copy_req/failslab 2>/dev/null)" = 1 ]; then
	INJECT=1
	setup() {
		echo Y >$FS/cache-filter && echo N >$FS/ignore-gfp-wait &&
			echo N >$FS/task-filter && echo 0 >$FS/space && echo 0 >$FS/verbose &&
			echo 1 >$FS/interval
	}
	check setup
	on_exit "echo 0 >$FS/probability"
else
	echo "# no failslab mark on bj_copy_req on this kernel: the runs go without injection"
fi
# inject PERCENT: fail that share of bj_copy_req allocations from now on
inject() {
	[ $INJECT = 1 ] || return 0
	echo $TIMES >$FS/times && echo "$1" >$FS/probability
}
# injected WHAT: ok if failures were injected since inject (if injecting)
injected() {
	[ $INJECT = 1 ] || return 0
	local n=$((TIMES - $(cat $FS/times)))
	if [ $n -gt 0 ]; then ok "$1: $n copy request allocations failed"; else not_ok "$1: no allocation failure was injected"; fi
}
wait_ready() {
	local i
	for ((i = 0; i < 3000; i++)); do
		[ "$(dmsetup status "$1" | awk '{print $5}')" = ready ] && return 0
		sleep 0.1
	done
	return 1
}

echo "# a table load that cannot allocate its copy requests"
check mk_pattern vdb "$RANDOM" $BYTES
check bk_vol vol /dev/vdb $SEC
if [ $INJECT = 1 ]; then
	inject 100
	if dmsetup load vol --table "0 $SEC blockjob mirror /dev/vdb 0 /dev/vdc 0 128" 2>/tmp/err; then
		not_ok "mirror table load accepted with no memory for copies"
		dmsetup clear vol
	else
		ok "mirror table load refused: $(tr '\n' ' ' </tmp/err | cut -c1-160)"
	fi
	injected "refused load"
	inject 0
	if dmesg | grep 'Cannot start the copier' >/dev/null; then
		ok "the kernel log says why"
	else
		not_ok "no 'Cannot start the copier' in the kernel log"
	fi
	check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "volume still in passthrough"
	check_eq "$(dmsetup info vol | grep -c INACTIVE)" 0 "no inactive table left"
fi
check dmsetup remove vol

echo "# mirror under a writer"
check mk_pattern vdb "$RANDOM" $BYTES
check mk_pattern vdc "$RANDOM" $BYTES	# garbage destination
check bk_vol vol /dev/vdb $SEC
# Every allocation fails, as for the backup below: a mirror's copies reuse
# their kept requests, so with half failing a run may make a few new ones
# and see none fail (CI saw it). Loaded paused, so that nothing is copied
# before injection starts.
check dmsetup load vol --table "0 $SEC blockjob mirror /dev/vdb 0 /dev/vdc 0 128 1 start_paused"
check dmsetup suspend vol
check dmsetup resume vol
check_eq "$(dmsetup status vol | awk '{print $5, $7}')" "paused 0/$BYTES" "mirror: nothing copied before injection"
inject 100
check dmsetup message vol 0 resume
fio_verify_write vol --size=$BYTES --rw=randwrite --bs=4k --iodepth=8
check_eq "$?" 0 "mirror: every write succeeded"
wait_ready vol
check_eq "$?" 0 "mirror: ready ($(dmsetup status vol))"
injected "mirror"
inject 0
check_eq "$(dev_digest_at /dev/vdc 0 $BYTES)" "$(dev_digest_at /dev/vdb 0 $BYTES)" \
	"mirror: destination equals source when ready"
check blockjob complete vol
check_eq "$(dmsetup table vol | awk '{print $4, $5}')" "passthrough 254:32" "mirror: pivoted"
check fio_verify_check vol --size=$BYTES --rw=randwrite --bs=4k --iodepth=8
check dmsetup remove vol

echo "# backup under a writer, every copy from the reserve"
# Every allocation fails here, not half: a backup's copies reuse their
# requests (kept and spare ones), so with half failing a run can make only
# a few new ones and see none fail. Loaded paused, so that none exists when
# injection starts; copy-before-write runs while paused.
CHUNK_SECTORS="128 2048"
on_debug_kernel && CHUNK_SECTORS=128	# for the budget
for cs in $CHUNK_SECTORS; do
	chunk=$((cs / 2))K
	check mk_pattern vdb "$RANDOM" $BYTES
	check bk_vol vol /dev/vdb $SEC
	check bk_linear tgt /dev/vdc 0 $SEC
	want=$(dev_digest vol)
	check dmsetup load vol --table "0 $SEC blockjob backup /dev/vdb 0 /dev/mapper/tgt 0 $cs 1 start_paused"
	check dmsetup suspend vol
	check dmsetup resume vol
	inject 100
	fio_verify_write vol --size=$BYTES --rw=randwrite --bs=4k --iodepth=8
	check_eq "$?" 0 "backup $chunk: every write succeeded"
	check dmsetup message vol 0 resume
	res=$(bk_wait vol 300)
	check_eq "$res" completed "backup $chunk: job completed ($(dmsetup status vol))"
	injected "backup $chunk"
	inject 0
	check_eq "$(dev_digest_at /dev/mapper/tgt 0 $BYTES)" "$want" "backup $chunk: equals the volume at the start"
	check bk_finish vol
	check fio_verify_check vol --size=$BYTES --rw=randwrite --bs=4k --iodepth=8
	check dmsetup remove vol
	check dmsetup remove tgt
done
check rmmod dm_blockjob
finish
