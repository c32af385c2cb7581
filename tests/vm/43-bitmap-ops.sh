#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 256M --timeout 600
# Dirty bitmap operations (add, list, dump, clear, disable, enable, merge,
# remove, busy while a job holds it) against dirty ranges the test computes
# itself from the writes it makes; the bitmap modes (on-success, always,
# never) after a completed, a cancelled and a failed incremental.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
. "$BJ_TESTS/vm/bitmap-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((16 * 2048 + 5))
BYTES=$((SEC * 512))
check bk_vol vol /dev/vdb $SEC

check blockjob bitmap add vol a --granularity 4K
check blockjob bitmap add vol b --granularity 64K
check blockjob bitmap add vol c --granularity 64K
check_eq "$(blockjob bitmap list vol --json)" \
	'[{"name": "a", "granularity": 4096, "count": 0, "recording": true, "busy": false, "persistent": false}, {"name": "b", "granularity": 65536, "count": 0, "recording": true, "busy": false, "persistent": false}, {"name": "c", "granularity": 65536, "count": 0, "recording": true, "busy": false, "persistent": false}]' \
	"list --json of three empty bitmaps"
check_eq "$(dump a)" "" "new bitmap is empty"

w 0 1; w 7 2; w 100 300; w 4096 8; w 9000 1; w $((SEC - 1)) 1; w $((SEC - 130)) 3
check_eq "$(dump a)" "$(expect 4096)" "dump at 4K granularity matches the writes"
check_eq "$(dump b)" "$(expect 65536)" "dump at 64K granularity matches the writes (last range clamped)"
check_eq "$(blockjob bitmap dump vol b --json | grep -c '"ranges"')" 1 "dump --json"
# discard and write-zeroes are recorded too
blkdiscard -o $((20000 * 512)) -l 65536 /dev/mapper/vol; W[$WN]="20000 128"; WN=$((WN + 1))
blkdiscard -z -o $((25000 * 512)) -l 4096 /dev/mapper/vol; W[$WN]="25000 8"; WN=$((WN + 1))
check_eq "$(dump a)" "$(expect 4096)" "discard and write-zeroes are recorded"

# disable: not recorded; enable: recorded again
check blockjob bitmap disable vol c
check blockjob bitmap clear vol c
dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=30000 count=1 oflag=direct status=none
check_eq "$(dump c)" "" "a disabled bitmap records nothing"
check blockjob bitmap enable vol c
forget
w 200 1; w 31000 20
check_eq "$(dump c)" "$(expect 65536)" "enabled again: records the new writes only"

# merge: b |= c
cp /dev/null /tmp/x
bexp=$( (dump b; dump c) | awk -v g=65536 '{ for (o = $1; o < $1 + $2; o += g) print int(o / g) }' |
	sort -n -u)
check blockjob bitmap merge vol b c
bgot=$(dump b | awk -v g=65536 '{ for (o = $1; o < $1 + $2; o += g) print int(o / g) }')
check_eq "$bgot" "$bexp" "merge: b holds the union of b and c"
if blockjob bitmap merge vol b a 2>/tmp/err; then not_ok "merge of different granularities accepted"; else ok "merge of different granularities refused"; fi
if blockjob bitmap merge vol b nosuch 2>/tmp/err; then not_ok "merge of a missing bitmap"; else ok "merge of a missing bitmap refused: $(cat /tmp/err)"; fi

# clear
check blockjob bitmap clear vol a
check_eq "$(dump a)" "" "clear empties the bitmap"
if blockjob bitmap add vol a 2>/dev/null; then not_ok "duplicate add accepted"; else ok "duplicate add refused"; fi
check blockjob bitmap remove vol a
check_eq "$(blockjob bitmap list vol --json | grep -c '"a"')" 0 "removed bitmap is gone"
if blockjob bitmap clear vol a 2>/tmp/err; then not_ok "clear of a removed bitmap"; else ok "unknown bitmap refused: $(cat /tmp/err)"; fi

# Large dumps: a fragmented 4K bitmap (every other granule of 4 MiB).
check blockjob bitmap add vol frag --granularity 4K
# one 512-byte write every 8 KiB (fio: skip 7680 bytes after each write)
check fio --name=frag --filename=/dev/mapper/vol --rw=write:7680 --bs=512 --size=4M \
	--number_ios=512 --direct=1 --ioengine=psync --zero_buffers --output=/dev/null
check_eq "$(dump frag | wc -l)" 512 "a dump of 512 ranges is complete"
check blockjob bitmap remove vol frag

# Busy while an incremental holds it; the bitmap modes.
G=65536
# granules of the writes before the job (sectors 0, 2048, 20480, 21760-26879)
S_SET="0 16 160 $(seq -s ' ' 170 209)"
W_SET="234"		# granule of the write during the job (sector 30000)
ranges() {	# GRANULE...: the dump lines, adjacent granules merged
	for b in "$@"; do echo "$b"; done | sort -n -u |
		awk -v g=$G '{ b = $1 + 0
			if (started && b == prev + 1) { prev = b; next }
			if (started) print start * g, (prev - start + 1) * g
			start = b; prev = b; started = 1 }
			END { if (started) print start * g, (prev - start + 1) * g }'
}
run_mode() {	# MODE OUTCOME(completed|cancelled|failed)
	local mode=$1 outcome=$2 sp=1M st
	blockjob bitmap remove vol m 2>/dev/null
	check blockjob bitmap add vol m --granularity 64K
	dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=0 count=8 oflag=direct status=none
	dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=2048 count=8 oflag=direct status=none
	dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=20480 count=8 oflag=direct status=none
	dd if=/dev/urandom of=/dev/mapper/vol bs=512K seek=$((21760 * 512)) count=5 oflag=direct,seek_bytes status=none
	bk_linear tgt /dev/vdc 0 $SEC
	check blockjob backup vol /dev/mapper/tgt --bitmap m --bitmap-mode "$mode" --chunk-size 64K --max-copies 1 --speed $sp
	# hold it (a copy may be in flight already) so it cannot end on its own
	dmsetup message vol 0 pause
	if blockjob bitmap clear vol m 2>/dev/null; then not_ok "$mode: clear of a busy bitmap accepted"; else ok "$mode: busy bitmap cannot be cleared"; fi
	if blockjob bitmap remove vol m 2>/dev/null; then not_ok "$mode: remove of a busy bitmap accepted"; else ok "$mode: busy bitmap cannot be removed"; fi
	check_eq "$(blockjob bitmap list vol --json | grep -c '"busy": true')" 1 "$mode: list shows it busy"
	dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=30000 count=1 oflag=direct status=none
	case $outcome in
	completed) dmsetup message vol 0 resume ;;
	cancelled) dmsetup message vol 0 cancel ;;
	failed) bk_error tgt; dmsetup message vol 0 resume ;;
	esac
	check_eq "$(bk_wait vol 120)" "$outcome" "$mode: job $outcome"
	st=$(dmsetup status vol)
	SAVED=$(echo "$st" | awk '{ split($(NF-1), a, "/"); print a[1] }')
	check bk_finish vol
	dmsetup remove tgt
}
run_mode on-success completed
check_eq "$(dump m)" "$(ranges $W_SET)" "on-success, completed: only the write made during the job"
run_mode on-success cancelled
check_eq "$(dump m)" "$(ranges $S_SET $W_SET)" "on-success, cancelled: nothing lost"
run_mode on-success failed
check_eq "$(dump m)" "$(ranges $S_SET $W_SET)" "on-success, failed: nothing lost"
run_mode never completed
check_eq "$(dump m)" "$(ranges $S_SET $W_SET)" "never, completed: bitmap untouched (plus the new write)"
run_mode always completed
check_eq "$(dump m)" "$(ranges $W_SET)" "always, completed: cleared"
run_mode always cancelled
# the copier saves the set in ascending order, one at a time: the first SAVED are done
# (paused right after the start: SAVED is small)
unsaved=$(echo $S_SET | tr ' ' '\n' | tail -n +$((SAVED + 1)))
check_eq "$(dump m)" "$(ranges $unsaved $W_SET)" "always, cancelled after $SAVED chunks: what was saved is cleared, the rest kept"
run_mode always failed
unsaved=$(echo $S_SET | tr ' ' '\n' | tail -n +$((SAVED + 1)))
check_eq "$(dump m)" "$(ranges $unsaved $W_SET)" "always, failed after $SAVED chunks: only unsaved chunks kept"

check dmsetup remove vol
check rmmod dm_blockjob
finish
