#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 1G --smp 1 --timeout 900
# vm-kernel: stock
# Crash replay of a backup's sync map (issue 18; the method of 72 and 79):
# the metadata device, the volume's source and the backup's destination are
# three ranges of one dm-log-writes device, so their writes are in one
# ordered log. Each seed saves the source's image at the point in time,
# then a backup copies it at 2 MiB/s under a seeded random write load (fio:
# two jobs with an fsync every 32 writes; most writes meet chunks not saved
# yet), then at full speed to its end. Then
# tests/vm/helpers/log-replay-check --sync-map --pit replays the log and,
# at every FLUSH and FUA point where the metadata holds the backup's map,
# checks that every chunk can be had as of the point in time: from the
# source where its bit is set (a resumed backup, 80, copies it from there),
# from the destination where it is clear. A guest write let through before
# its chunk's save is durable (copy on the destination, destination
# flushed, bit cleared on the metadata device) fails here.
#
# Even seeds run a full backup; odd seeds an incremental one from a
# persistent bitmap onto a full backup taken first (no load then), after a
# load that dirtied part of the volume.
#
# No O_SYNC writes (79 says why).
#
#   81-backup-replay.sh [--seeds N] [--seed S]
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/replay-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

rl_seeds 4 "$@"

RL_MD_SECT=2048		# 1 MiB of metadata
VOL=$((32 * 2048))	# source and destination: 32 MiB each
check rl_nullb 1

for ((i = 0; i < SEEDS; i++)); do
	seed=$((SEED + i))
	kind=full
	[ $((seed % 2)) = 1 ] && kind=incremental
	check rl_setup $RL_MD_SECT
	check dm_create src "0 $VOL linear /dev/mapper/lw $RL_MD_SECT"
	check dm_create dst "0 $VOL linear /dev/mapper/lw $((RL_MD_SECT + VOL))"
	check mk_pattern src "$seed"
	check mk_pattern dst $((seed + 500))
	check blockjob create vol /dev/mapper/src --metadata /dev/mapper/md
	args=()
	if [ $kind = incremental ]; then
		check blockjob bitmap add vol p --persistent
		check blockjob backup vol /dev/mapper/dst --wait
		# a third of the volume changes: the incremental's set (one job:
		# the log's image of the source must be the device's, rl_load)
		rl_load $((seed + 2000)) 200 10 1 || not_ok "seed $seed: fio before the incremental failed"
		args=(--bitmap p)
	fi
	check dd if=/dev/mapper/vol of=/tmp/pit.img bs=1M iflag=direct status=none
	check rl_mark start
	check blockjob backup vol /dev/mapper/dst --speed 2M "${args[@]}"
	rl_load "$seed" 300 || not_ok "seed $seed: fio during the $kind backup failed"
	check blockjob set-speed vol 0
	check blockjob wait vol --for concluded --timeout 120
	check_eq "$(job_field vol result)" \
		completed "seed $seed: the $kind backup completed"
	check blockjob dismiss vol
	check_eq "$(dev_digest dst)" "$(digest </tmp/pit.img)" \
		"seed $seed: the $kind backup holds the image of its point in time"
	check blockjob remove vol
	check dmsetup remove --retry src dst
	rl_teardown || not_ok "seed $seed: rl_teardown"
	rl_check_map "seed $seed ($kind)" $VOL --pit /tmp/pit.img
	rm -f /tmp/pit.img
done
echo "# $SEEDS seeds: $RL_POINTS points, $RL_WRITES writes checked, no violation allowed"
check rmmod dm_blockjob
finish
