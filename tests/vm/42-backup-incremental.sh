#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 4 --disk-size 256M --timeout 1200
# Incremental chain: a full backup with a bitmap started at the same point,
# then rounds of writes and incremental backups (writes during each job
# too). Applying the increments in order (the ranges 'bitmap dump' listed
# at each start) onto a copy of the full backup reproduces the volume at
# each point in time. A failed incremental (destination turned to dm-error
# mid-job) loses nothing from the bitmap; the next one is right. Bitmap
# granularity smaller than, equal to and larger than the chunk size.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"
on_exit bk_stop_writer

SEC=$((24 * 2048 + 3))		# odd size
BYTES=$((SEC * 512))
R=/dev/vdd			# the reconstruction

# apply INC: copy each range of /tmp/ranges from INC onto $R
apply() { "$BJ_TESTS/vm/helpers/bin/apply-ranges" "$1" $R </tmp/ranges; }

some_writes() {	# SEED: a few scattered writes of odd sizes, quiesced after
	local i off len
	RANDOM=$1
	for ((i = 0; i < 12; i++)); do
		off=$(( (RANDOM * 32768 + RANDOM) % (SEC - 300) ))
		len=$(( RANDOM % 280 + 1 ))
		dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=$off count=$len oflag=direct \
			status=none
	done
}

COMBOS=("16K 64K" "256K 64K" "64K 4K")
on_debug_kernel && COMBOS=("64K 4K")	# granules over many chunks; for the budget
for combo in "${COMBOS[@]}"; do
	set -- $combo
	gran=$1 chunk=$2
	echo "# bitmap granularity $gran, chunk size $chunk"
	check mk_pattern vdb "$RANDOM" $((25 << 20))
	check bk_vol vol /dev/vdb $SEC
	check bk_linear full /dev/vdc 0 $SEC
	n=0
	for off in 1 2 3 4; do
		check bk_linear inc$off /dev/vdc $((off * 50 * 2048)) $SEC
	done
	want=$(dev_digest vol)
	# The bitmap and the full backup start at the same point (no writes between).
	check blockjob bitmap add vol bm --granularity $gran
	check blockjob backup vol /dev/mapper/full --chunk-size $chunk --speed 8M
	bk_writer vol 600 $RANDOM $((4 << 20))
	check_eq "$(bk_wait vol 300)" completed "$gran/$chunk: full backup completed"
	bk_stop_writer
	check bk_finish vol
	check_eq "$(dev_digest full)" "$want" "$gran/$chunk: full backup equals the start"
	check dd if=/dev/mapper/full of=$R bs=1M iflag=direct oflag=direct status=none

	for round in 1 2 3; do
		some_writes $((round * 7 + ${#gran}))
		want=$(dev_digest vol)
		blockjob bitmap dump vol bm >/tmp/ranges
		tgt=inc$round
		if [ $round = 2 ]; then
			# This one fails mid-job; the bitmap must lose nothing.
			cp /tmp/ranges /tmp/ranges.before
			check blockjob backup vol /dev/mapper/inc4 --bitmap bm --chunk-size $chunk --speed 256K
			sleep 1
			check bk_error inc4
			check_eq "$(bk_wait vol 120)" failed "$gran/$chunk: incremental to a failing destination fails"
			check bk_finish vol
			blockjob bitmap dump vol bm >/tmp/ranges.after
			# every range before is still covered after
			lost=$(awk 'NR==FNR { s[NR]=$1; e[NR]=$1+$2; n=NR; next }
				{ for (i = 1; i <= n; i++) if (s[i] >= $1 && e[i] <= $1+$2) c[i]=1 }
				END { m=0; for (i = 1; i <= n; i++) if (!c[i]) m++; print m }' \
				/tmp/ranges.before /tmp/ranges.after)
			check_eq "$lost" 0 "$gran/$chunk: failed incremental lost no dirty range"
			cp /tmp/ranges.after /tmp/ranges
		fi
		check blockjob backup vol /dev/mapper/$tgt --bitmap bm --chunk-size $chunk --speed 8M
		# writes during the job: recorded for the next round, not in this one
		bk_writer vol 600 $((round + 100)) $((round << 22))
		check_eq "$(bk_wait vol 300)" completed "$gran/$chunk round $round: incremental completed"
		bk_stop_writer
		check bk_finish vol
		check apply /dev/mapper/$tgt
		check_eq "$(dev_digest $R $BYTES)" "$want" "$gran/$chunk round $round: full + increments = volume at the start"
		# no writes since the job ended: the bitmap holds exactly what the writer did
		cnt=$(blockjob bitmap list vol --json | grep -o '"count": [0-9]*' | awk '{print $2}')
		if [ "${cnt:-0}" -gt 0 ]; then ok "$gran/$chunk round $round: writes during the job stay recorded ($cnt bytes)"; else not_ok "$gran/$chunk: bitmap empty after a job with writes"; fi
	done
	check blockjob bitmap remove vol bm
	for t in full inc1 inc2 inc3 inc4; do dmsetup remove $t; done
	check dmsetup remove vol
done
check rmmod dm_blockjob
finish
