#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 1G --smp 1 --timeout 900
# vm-kernel: stock
# Crash replay of a mirror's sync map (issue 18; the method of 72, xfstests
# generic/482): the metadata device, the mirror's source and its
# destination are three ranges of one dm-log-writes device, so their writes
# are in one ordered log. A mirror copies the source at 2 MiB/s under a
# seeded random write load (fio: two jobs with an fsync every 32 writes)
# until a clear pass has run during the copy, then at full speed; it gets ready, goes
# idle until the clear pass has emptied its map, takes a second load while
# ready, empties its map again and pivots. Then
# tests/vm/helpers/log-replay-check --sync-map replays the log and, at every
# FLUSH and FUA point where the metadata holds a sync map, checks that each
# region where the source and the destination differ has its bit set: a
# crash there would resume the mirror from that map (76), and a region it
# did not hold would keep a stale destination. A region unmarked while its
# copy or a write to it is still in flight fails here.
#
# No O_SYNC writes: dm-log-writes logs a FUA write when it completes and
# any other write at the next flush, so a FUA write can come in the log
# before an older write to the same blocks (a copy that completed before
# the guest's write was even issued) and the replay would take the older
# data for the newer. With writes and flushes only, the log's order within
# a flush is the order of completion.
#
#   79-mirror-replay.sh [--seeds N] [--seed S]
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/replay-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

rl_seeds 3 "$@"

RL_MD_SECT=2048		# 1 MiB of metadata
VOL=$((32 * 2048))	# source and destination: 32 MiB each
check rl_nullb 1

for ((i = 0; i < SEEDS; i++)); do
	seed=$((SEED + i))
	check rl_setup $RL_MD_SECT
	check dm_create src "0 $VOL linear /dev/mapper/lw $RL_MD_SECT"
	check dm_create dst "0 $VOL linear /dev/mapper/lw $((RL_MD_SECT + VOL))"
	check mk_pattern src "$seed"
	check blockjob create vol /dev/mapper/src --metadata /dev/mapper/md
	check rl_mark start
	# A slow copy, so that the load's writes meet regions copied and not,
	# and a clear pass runs while regions are still being copied.
	check blockjob mirror vol /dev/mapper/dst --granularity 64K --speed 2M
	rl_load "$seed" 300 || not_ok "seed $seed: fio during the copy failed"
	n=0
	while [ "$(sync_map_bytes /dev/mapper/md)" = $((VOL * 512)) ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	case $(dmsetup status vol) in
	*" mirror running "*) ok "seed $seed: a clear pass ran during the copy (map $(sync_map_bytes /dev/mapper/md) bytes)" ;;
	*) not_ok "seed $seed: no clear pass during the copy: $(dmsetup status vol)" ;;
	esac
	check blockjob set-speed vol 0
	check blockjob wait vol --for ready --timeout 120
	# Ready and idle: the clear passes empty the map (a bound, not a sleep),
	# also of the regions written in the last second before the writes
	# stopped, when no copy is left to start another pass.
	sync_map_empties /dev/mapper/md "seed $seed: the idle ready mirror's sync map is empty"
	rl_load $((seed + 1000)) 200 || not_ok "seed $seed: fio while ready failed"
	sync_map_empties /dev/mapper/md \
		"seed $seed: after writes to the ready mirror stopped, its sync map is empty again"
	check blockjob complete vol
	check_eq "$(dev_digest vol)" "$(dev_digest dst)" "seed $seed: the volume is the destination"
	check blockjob remove vol
	check dmsetup remove --retry src dst
	rl_teardown || not_ok "seed $seed: rl_teardown"
	rl_check_map "seed $seed" $VOL
done
echo "# $SEEDS seeds: $RL_POINTS points, $RL_WRITES writes checked, no violation allowed"
check rmmod dm_blockjob
finish
