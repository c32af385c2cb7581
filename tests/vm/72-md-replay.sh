#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 1G --smp 1 --timeout 1200
# vm-kernel: stock
# Crash replay of persistent bitmaps (issue 17; the method of xfstests
# generic/482): the metadata device and the data device of a volume are two
# ranges of one dm-log-writes device, so their writes are in one ordered log;
# a seeded random write load (fio, several jobs, flushes now and then) runs
# on the volume with two persistent bitmaps (64 KiB and 4 KiB granules);
# then tests/vm/helpers/log-replay-check replays the log and, at every FLUSH
# and FUA point, loads the metadata as it was there and checks that every
# data write logged before that point is covered by the bitmap. The device
# under dm-log-writes is a memory-backed null_blk with a write cache and FUA
# (replay-lib.sh: rl_nullb), so that an O_SYNC data write is logged when it
# completes, and a bit not yet flushed then shows. One vCPU and one queue,
# so that dm-log-writes logs flushes in order.
#
#   72-md-replay.sh [--seeds N] [--seed S]   (make soak-md SEEDS=N: many seeds)
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/replay-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

rl_seeds 12 "$@"

RL_MD_SECT=2048		# 1 MiB of metadata
check rl_nullb 1
VOL_MB=128		# the load's range of the data device
total_points=0 total_writes=0

for ((i = 0; i < SEEDS; i++)); do
	seed=$((SEED + i))
	check rl_setup $RL_MD_SECT
	check blockjob create vol /dev/mapper/data --metadata /dev/mapper/md
	check blockjob bitmap add vol p --persistent
	check blockjob bitmap add vol q --persistent --granularity 4K
	check rl_mark start
	# Random 4 KiB..64 KiB writes over the first VOL_MB: two jobs at once
	# (commits shared by several held writes) with an fsync every 32
	# writes, and one of O_SYNC writes (FUA: logged as they complete, so a
	# bit not yet durable when its write completes shows at once).
	fio --filename=/dev/mapper/vol --direct=1 --ioengine=libaio --rw=randwrite \
		--bsrange=4k-64k --size=${VOL_MB}M --number_ios=300 --iodepth=8 \
		--randseed=$seed --output=/dev/null \
		--name=load --numjobs=2 --fsync=32 --name=sync --sync=1 ||
		not_ok "seed $seed: fio failed"
	blkdiscard -o $(((seed % 100) << 20)) -l $((1 << 20)) /dev/mapper/vol
	check dmsetup remove vol
	out=$(rl_check p start)
	r=$?
	out_q=$("$RL_CHECKER" --log "$RL_LOG" --md-start 0 --md-sectors "$RL_MD_SECT" \
		--data-start "$RL_MD_SECT" --data-sectors "$RL_DATA_SECT" --bitmap q --from-mark start)
	rq=$?
	read -r _ pts _ wrs _ vio <<<"$out"
	if [ $r = 0 ] && [ $rq = 0 ] && [ "${pts:-0}" -gt 0 ]; then
		ok "seed $seed: p: $out; q: $out_q"
		total_points=$((total_points + pts)) total_writes=$((total_writes + wrs))
	else
		not_ok "seed $seed: p (exit $r): $out; q (exit $rq): $out_q"
	fi
done
echo "# $SEEDS seeds: $total_points points, $total_writes writes checked, no violation allowed"
check rmmod dm_blockjob
finish
