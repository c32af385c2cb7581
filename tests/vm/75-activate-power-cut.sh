#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --boots 31 --disks 5 --disk-size 16M --disk-cache none --timeout 150
# vm-kernel: stock
# Power cuts during jobs, and the volume back where it lives after each
# (issue 18; the harness: Documentation/testing.rst, "Power cuts").
#
# One chain of boots on the same disks: the volume (first on /dev/vdb, its
# metadata on a slice of /dev/vdd) takes a stream of acknowledged writes
# (acked-writes) while a job runs, and QEMU is killed at a random instant;
# the next boot runs `blockjob activate --all` (from /etc/blockjob/volumes,
# which the chain keeps on /dev/vdd as a real /etc would keep it) and checks
# that every acknowledged write is on the volume (none lost, none stale:
# a volume brought back on the wrong device fails it), that the metadata
# device checks clean, and that an interrupted job was reported; a mirror
# that had not pivoted resumes, gets ready with a copy equal to the source
# and pivots (the volume moves), every write still there. Then it
# runs the next job of the cycle and cuts again: a mirror copying, a ready
# mirror, `blockjob complete` (the cut falls before, during or after the
# pivot; the volume must come back on the source or on the destination
# accordingly), a full backup, an incremental backup from a persistent
# bitmap (an interrupted backup resumes and must complete; that it holds its
# point in time's image is 80's check). The volume moves between /dev/vdb and /dev/vdc with each pivot.
# Argument: [--seed N] replays the instants of a chain (the seed is printed).
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"

AW=$BJ_TESTS/vm/helpers/bin/acked-writes
SEC=$((16 * 2048))
VOLUMES=/etc/blockjob/volumes
BOOT=${BJ_BOOT:-}
[ -n "$BOOT" ] || die "BJ_BOOT is not set: run this test with scripts/vm-run --boots N (its header asks for it)"
load_blockjob || die "modprobe dm-blockjob"
# The same slices in every boot (dm-linear tables are not persistent).
check bk_linear md /dev/vdd 0 2048
check bk_linear etc /dev/vdd 4096 8
check bk_linear log /dev/vdd 8192 2048
check bk_linear bk /dev/vde 0 $SEC
[ "$BJ_FAIL" -eq 0 ] || finish

# The chain's seed: boot 1 draws it and keeps it on /dev/vdd with /etc.
etc_save() { { cat $VOLUMES; echo "#seed $SEED"; } | dd of=/dev/mapper/etc bs=4k iflag=fullblock conv=sync,fsync oflag=direct status=none; }
etc_load() {
	mkdir -p /etc/blockjob
	dd if=/dev/mapper/etc bs=4k iflag=direct status=none | tr -d '\0' | grep -v '^#seed ' >$VOLUMES
	SEED=$(dd if=/dev/mapper/etc bs=4k iflag=direct status=none | tr -d '\0' | sed -n 's/^#seed //p')
}

if [ "$BOOT" = 1 ]; then
	SEED=$RANDOM
	[ "${1:-}" = --seed ] && SEED=${2:?--seed N}
	check blockjob create vol /dev/vdb --metadata /dev/mapper/md
	check blockjob bitmap add vol p --persistent
	check etc_save
else
	check etc_load
	echo "# volumes: $(grep -v '^#' $VOLUMES)"
	out=$(blockjob activate --all 2>&1)
	check_eq "$?" 0 "boot $BOOT: activate --all ($(echo "$out" | tr '\n' ' '))"
	[ "$BJ_FAIL" -eq 0 ] || finish
	case $(vol_origin) in "$(dev_num /dev/vdb)") where=vdb ;; "$(dev_num /dev/vdc)") where=vdc ;; *) where="?" ;; esac
	res=$("$AW" check /dev/mapper/vol /dev/mapper/log | tail -n 1)
	check_eq "$?" 0 "boot $BOOT: every acknowledged write is on the volume, now on $where ($res)"
	last=$(( (BOOT - 2) % 5 ))
	case $last in 0 | 1 | 3 | 4)
		case $out in *interrupted* | *"completed before the crash"*) ok "boot $BOOT: the interrupted job was reported" ;;
		*) not_ok "boot $BOOT: no word of the interrupted job: $out" ;; esac ;;
	esac
	check blockjob metadata check /dev/mapper/md
	# A mirror cut before its pivot's commit resumes: ready, the copy equal
	# to the source, then the pivot, after which every write is still there.
	# A backup cut before it completed resumes too; it must complete.
	case $out in *"the backup to "*"resumed:"*)
		blockjob set-speed vol 0 2>/dev/null	# (it may have ended already)
		check blockjob wait vol --for concluded --timeout 60
		check_eq "$(job_field vol result)" \
			completed "boot $BOOT: the resumed backup completed"
		check blockjob dismiss vol ;;
	esac
	case $out in *"the mirror to "*"resumed:"*)
		check blockjob set-speed vol 0
		check blockjob wait vol --for ready --timeout 60
		check_eq "$(dev_digest /dev/vdb)" "$(dev_digest /dev/vdc)" "boot $BOOT: the resumed mirror's copy equals the source"
		check blockjob complete vol
		res=$("$AW" check /dev/mapper/vol /dev/mapper/log | tail -n 1)
		check_eq "$?" 0 "boot $BOOT: every acknowledged write is on the volume after the resumed mirror's pivot ($res)" ;;
	esac
	check etc_save
fi
echo "# seed $SEED"
RANDOM=$((SEED + BOOT))
[ "$BOOT" -lt "${BJ_BOOTS:-1}" ] || { check blockjob remove vol; finish; }
[ "$BJ_FAIL" -eq 0 ] || finish

# The next cut: one job of the cycle, under a stream of acknowledged writes
# over the first 8 MiB of the volume; a copy of its 16 MiB at 16 MiB/s takes 1 s
# (a mirror), at 4 MiB/s 4 s (a backup: still running at the cut).
if [ "$(vol_origin)" = "$(dev_num /dev/vdb)" ]; then other=/dev/vdc; else other=/dev/vdb; fi
mkfifo /tmp/ready
"$AW" write --ready 20 --blocks 2048 /dev/mapper/vol /dev/mapper/log >/tmp/ready &
read -r line </tmp/ready
check_eq "$line" "ready 20" "20 writes acknowledged"
job=$(( (BOOT - 1) % 5 ))
case $job in
0)	what="a mirror copying"
	check blockjob mirror vol $other --speed 16M
	delay=$((RANDOM % 1100)) ;;
1)	what="a ready mirror"
	check blockjob mirror vol $other --wait
	delay=$((RANDOM % 500)) ;;
2)	what="blockjob complete"
	check blockjob mirror vol $other --wait
	# The pivot takes a few tens of ms: the cut falls before, in or after it.
	delay=$((RANDOM % 80)) ;;
3)	what="a full backup"
	check blockjob backup vol /dev/mapper/bk --speed 4M
	delay=$((RANDOM % 1100)) ;;
4)	what="an incremental backup"
	check blockjob backup vol /dev/mapper/bk --bitmap p --speed 4M
	delay=$((RANDOM % 1100)) ;;
esac
[ "$BJ_FAIL" -eq 0 ] || finish
kmsg "boot $BOOT: power cut ${delay} ms into $what"
echo "# boot $BOOT: power cut ${delay} ms into $what (volume on $(vol_origin))"
power_cut "${delay}ms"
[ $job = 2 ] && blockjob complete vol
await_power_cut
