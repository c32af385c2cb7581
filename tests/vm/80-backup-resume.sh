#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --boots 3 --disks 3 --disk-size 16M --disk-cache none --timeout 150
# vm-kernel: stock
# A backup interrupted by a power cut resumes with its point in time (issue 18).
#
# The volume lives on /dev/vdb with its metadata on a slice of /dev/vdd and
# a persistent bitmap p; its backups go to /dev/vdc. Boot 1: the volume's
# image is digested, a full backup starts (the point in time: nothing writes
# between the digest and the start) at 2 MiB/s, then a stream of
# acknowledged writes over its first half (acked-writes: many land on
# chunks not saved yet, whose old data must be saved, and durably marked
# saved, before they go on; the second half is left to the slow background
# copy, so the job is still running at the cut), and the power is cut at a
# random instant within a second once a quarter is copied. Boot 2: `blockjob activate --all` resumes the backup
# (less than the whole volume left), every acknowledged write is on the
# volume, a view of it shows the point in time's image, the resumed backup
# completes and /dev/vdc equals that image. Then an incremental backup from p brings /dev/vdc up to
# date, 9 MiB of the volume change, and the next incremental (those 9 MiB)
# is cut the same way; boot 3 resumes it (less than its set left), and
# /dev/vdc equals the volume as it was at its start; p still holds every
# chunk written since.
# Argument: [--seed N] replays the instants (the seed is printed).
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
. "$BJ_TESTS/vm/bitmap-lib.sh"

AW=$BJ_TESTS/vm/helpers/bin/acked-writes
BYTES=$((16 << 20))
VOLUMES=/etc/blockjob/volumes
BOOT=${BJ_BOOT:-}
[ -n "$BOOT" ] || die "BJ_BOOT is not set: run this test with scripts/vm-run --boots 3"
load_blockjob || die "modprobe dm-blockjob"
check bk_linear md /dev/vdd 0 2048
check bk_linear etc /dev/vdd 4096 8
check bk_linear log /dev/vdd 8192 2048
[ "$BJ_FAIL" -eq 0 ] || finish

# /etc/blockjob/volumes, the seed and the point in time's digest are kept on
# /dev/vdd, as a real /etc would keep the first.
etc_save() {
	{ cat $VOLUMES; echo "#seed $SEED"; echo "#pit $PIT"; } |
		dd of=/dev/mapper/etc bs=4k iflag=fullblock conv=sync,fsync oflag=direct status=none
}
etc_load() {
	local t
	mkdir -p /etc/blockjob
	t=$(dd if=/dev/mapper/etc bs=4k iflag=direct status=none | tr -d '\0')
	echo "$t" | grep -v '^#' >$VOLUMES
	SEED=$(echo "$t" | sed -n 's/^#seed //p')
	PIT=$(echo "$t" | sed -n 's/^#pit //p')
}

# mk_part MIB COUNT SEED: COUNT MiB of new data at MiB MIB of the volume
mk_part() {
	fio --name=bjpart --filename=/dev/mapper/vol --rw=write --bs=1M --offset="$1M" \
		--size="$2M" --direct=1 --ioengine=psync --randseed="$3" --refill_buffers \
		--buffer_compress_percentage=0 --output=/dev/null
}

# start_backup WHAT ARGS...: the point in time's digest, the backup, the
# writes, then a power cut at a random instant once a quarter is copied.
start_backup() {
	local what=$1 line delay
	shift
	PIT=$(dev_digest /dev/mapper/vol)
	check etc_save
	check blockjob backup vol /dev/vdc --speed 2M "$@"
	mkfifo /tmp/ready
	"$AW" write --ready 20 --blocks 2048 /dev/mapper/vol /dev/mapper/log >/tmp/ready &
	read -r line </tmp/ready
	check_eq "$line" "ready 20" "boot $BOOT: 20 writes acknowledged during the $what"
	check wait_job_offset vol $(($(job_field vol len) / 4)) 60
	[ "$BJ_FAIL" -eq 0 ] || finish
	delay=$((RANDOM % 1000))
	kmsg "boot $BOOT: power cut ${delay} ms after $(job_field vol offset) of $(job_field vol len) bytes of the $what"
	echo "# boot $BOOT: power cut ${delay} ms after $(job_field vol offset) of $(job_field vol len) bytes of the $what"
	power_cut "${delay}ms"
	await_power_cut
}

# resumed WHAT: activate --all resumed the backup; it completes with the
# point in time's image on /dev/vdc.
resumed() {
	local out res
	etc_load
	out=$(blockjob activate --all 2>&1)
	check_eq "$?" 0 "boot $BOOT: activate --all ($(echo "$out" | tr '\n' ' '))"
	case $out in
	*"the backup to "*" was interrupted; resumed: "*" of 16 MiB left to copy"*)
		ok "boot $BOOT: the $1 resumed" ;;
	*) not_ok "boot $BOOT: the $1 did not resume: $out" ;;
	esac
	case $out in *"resumed: 16 MiB of"* | *"resumed: 9.0 MiB of"*)
		not_ok "boot $BOOT: the resumed $1 copies its whole set again" ;; esac
	res=$("$AW" check /dev/mapper/vol /dev/mapper/log | tail -n 1)
	check_eq "$?" 0 "boot $BOOT: every acknowledged write is on the volume ($res)"
	check_eq "$(job_field vol speed)" 2097152 "boot $BOOT: the resumed $1 kept its speed limit"
	# A view is not persistent, but a resumed full backup can show one
	# again: the point in time's image while the copy goes on.
	if [ "$1" = "full backup" ]; then
		check dm_create pit "0 $((BYTES / 512)) blockjob view $(dev_num /dev/mapper/vol)"
		check_eq "$(dev_digest pit)" "$PIT" "boot $BOOT: a view of the resumed backup shows the point in time"
		check dm_remove pit
	fi
	# (it may have ended already: the writes' copies count too)
	blockjob set-speed vol 0 2>/dev/null || check_eq "$(job_field vol status)" concluded \
		"boot $BOOT: set-speed refused only because the $1 ended"
	check blockjob wait vol --for concluded --timeout 60
	check_eq "$(job_field vol result)" completed "boot $BOOT: the resumed $1 completed"
	check blockjob dismiss vol
	check_eq "$(dev_digest /dev/vdc $BYTES)" "$PIT" \
		"boot $BOOT: the resumed $1 holds the image of its point in time"
	res=$("$AW" check /dev/mapper/vol /dev/mapper/log | tail -n 1)
	check_eq "$?" 0 "boot $BOOT: every acknowledged write is on the volume after the $1 ($res)"
	check_eq "$(sync_map_bytes /dev/mapper/md)" "" "boot $BOOT: the finished backup left no sync map"
	check blockjob metadata check /dev/mapper/md
}

case $BOOT in
1)
	SEED=$RANDOM
	[ "${1:-}" = --seed ] && SEED=${2:?--seed N}
	check blockjob create vol /dev/vdb --metadata /dev/mapper/md
	check blockjob bitmap add vol p --persistent
	check mk_pattern vol 11
	check mk_pattern /dev/vdc 13
	echo "# seed $SEED"
	RANDOM=$SEED
	start_backup "full backup"
	;;
2)
	resumed "full backup"
	[ "$BJ_FAIL" -eq 0 ] || finish
	echo "# seed $SEED"
	RANDOM=$((SEED + 2))
	# An incremental onto the full backup brings /dev/vdc up to now and
	# leaves p empty; then 9 MiB change (1 MiB in the stream's half, the
	# second half whole): the next incremental's set, interrupted.
	check blockjob backup vol /dev/vdc --bitmap p --wait
	check_eq "$(dev_digest /dev/vdc $BYTES)" "$(dev_digest /dev/mapper/vol)" \
		"boot 2: the incremental onto the full backup gives the volume"
	check mk_part 2 1 21
	check mk_part 8 8 22
	start_backup "incremental backup" --bitmap p
	;;
3)
	resumed "incremental backup"
	# The resumed incremental leaves p as it was: it still names the
	# chunks the stream wrote after the incremental's point in time.
	"$AW" check --list /tmp/written /dev/mapper/vol /dev/mapper/log >/dev/null
	blockjob bitmap dump vol p >/tmp/ranges
	check_eq "$(uncovered 65536 /tmp/ranges </tmp/written | wc -l)" 0 \
		"boot 3: p covers every write of the stream ($(wc -l </tmp/written) blocks, $(wc -l </tmp/ranges) ranges)"
	check blockjob remove vol
	;;
esac
finish
