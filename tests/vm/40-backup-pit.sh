#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 256M --timeout 900
# Point in time: a full backup taken under a heavy mixed writer (unaligned
# writes of several sizes, discards, write-zeroes) equals the volume as it
# was at the start, byte for byte. Chunk sizes 4K, 64K, 1M, 4M on a volume that
# is not a multiple of any of them.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((48 * 2048 + 7))		# 48 MiB + 7 sectors
BYTES=$((SEC * 512))
on_exit bk_stop_writer

CHUNKS="4K 64K 1M 4M"		# 4M: chunks larger than one copy I/O
on_debug_kernel && CHUNKS="4K 4M"	# the extremes, for the budget
for chunk in $CHUNKS; do
	check mk_pattern vdb "$RANDOM" $((49 << 20))
	check mk_pattern vdc "$RANDOM" $((49 << 20))	# garbage destination
	check bk_vol vol /dev/vdb $SEC
	want=$(dev_digest vol)
	# Start slow (48 s for the volume) so that the writer, whose start may
	# take seconds on a loaded debug kernel, meets chunks not saved yet;
	# speed up once a write has waited for copy-before-write.
	check blockjob backup vol /dev/vdc --chunk-size $chunk --speed 1M
	bk_writer vol 600 $RANDOM
	waits=0
	for ((i = 0; i < 300 && waits == 0; i++)); do
		sleep 0.1
		st=$(dmsetup status vol)
		waits=$(echo "$st" | awk '$5 == "running" {print $NF}')
		[ -n "$waits" ] || break
	done
	if [ "${waits:-0}" -gt 0 ]; then ok "chunk $chunk: $waits writes waited for copy-before-write"; else not_ok "chunk $chunk: no write waited while the job ran ($st)"; fi
	# (with 1M chunks the writer may have had every chunk saved by
	# copy-before-write already: then the job completed, and that is fine)
	if out=$(blockjob set-speed vol 8M 2>&1); then
		ok "blockjob set-speed vol 8M"
	else
		case $(dmsetup status vol) in
		*" concluded completed "*) ok "chunk $chunk: copy-before-write saved every chunk before set-speed ($out)" ;;
		*) not_ok "blockjob set-speed vol 8M: $out" ;;
		esac
	fi
	res=$(bk_wait vol 400)
	st=$(dmsetup status vol)
	bk_stop_writer
	check_eq "$res" completed "chunk $chunk: job completed under writes ($st)"
	check_eq "$(dev_digest_at /dev/vdc 0 $BYTES)" "$want" "chunk $chunk: backup equals the volume at the start"
	check bk_finish vol
	check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "chunk $chunk: volume back in passthrough"
	check dmsetup remove vol
done

# Whole-device volume through the CLI, --wait, and the status fields: the
# CLI's part (the kernel's runs in the loop above), on the stock kernel only.
if ! on_debug_kernel; then
	check mk_pattern vdb 7
	check blockjob create vol /dev/vdb
	on_exit "dmsetup remove --retry vol"
	want=$(dev_digest vol)
	blockjob backup vol /dev/vdc --wait >/tmp/bk.out 2>&1 &
	bpid=$!
	for ((i = 0; i < 300; i++)); do
		dmsetup table vol | grep " backup " >/dev/null && break
		sleep 0.05
	done
	bk_writer vol 600 11
	wait $bpid
	check_eq "$?" 0 "blockjob backup --wait exits 0 ($(cat /tmp/bk.out))"
	bk_stop_writer
	check_eq "$(dev_digest vdc)" "$want" "whole 256M volume with --wait: backup equals the start"
	check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "--wait switched back to passthrough"
	check dmsetup remove vol
fi
check rmmod dm_blockjob
finish
