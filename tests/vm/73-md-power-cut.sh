#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --boots 2 --disks 3 --disk-size 160M --disk-cache none --timeout 300
# vm-kernel: stock
# A power cut under writes to a volume with a persistent bitmap (issue 17;
# the harness: Documentation/testing.rst, "Power cuts").
# Boot 1: the volume (data /dev/vdb, metadata on /dev/vdc) gets a persistent
# bitmap and a full backup (on /dev/vdc too) at the same point; then a
# stream of acknowledged 4 KiB writes (acked-writes, its log on /dev/vdd)
# and an fio load of random writes run on it (in separate ranges), and QEMU
# is killed mid-stream.
# Boot 2, same disk images: the volume opens from its metadata device;
# `blockjob metadata check` passes; every acknowledged write is on the
# volume and its granule is dirty in the bitmap; an incremental backup from
# the bitmap applied onto the full backup equals the volume (so every write
# that reached the disk, acknowledged or not, is in the bitmap).
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
. "$BJ_TESTS/vm/bitmap-lib.sh"

AW=$BJ_TESTS/vm/helpers/bin/acked-writes
SEC=$((64 * 2048))		# the volume: 64 MiB of /dev/vdb
READY=200
load_blockjob || die "modprobe dm-blockjob"
# The same devices in both boots (dm-linear tables are not persistent).
check bk_linear md /dev/vdc 0 2048
check bk_linear full /dev/vdc 2048 $SEC
check bk_linear inc /dev/vdd 8192 $SEC
check bk_linear data /dev/vdb 0 $SEC

case ${BJ_BOOT:-} in
1)
	check mk_pattern data 17
	check blockjob create vol /dev/mapper/data --metadata /dev/mapper/md
	check blockjob bitmap add vol p --persistent
	check blockjob backup vol /dev/mapper/full --wait
	[ "$BJ_FAIL" -eq 0 ] || finish
	# fio over the last 48 MiB, the acknowledged stream over the first 16.
	fio --name=load --filename=/dev/mapper/vol --direct=1 --ioengine=libaio \
		--rw=randwrite --bsrange=4k-128k --offset=16M --size=48M --time_based \
		--runtime=600 --numjobs=2 --iodepth=8 --randseed=$RANDOM --output=/dev/null &
	mkfifo /tmp/ready
	"$AW" write --ready $READY --blocks 4096 /dev/mapper/vol /dev/vdd >/tmp/ready &
	writer=$!
	read -r line </tmp/ready
	check_eq "$line" "ready $READY" "$READY writes acknowledged under the fio load"
	[ "$BJ_FAIL" -eq 0 ] || finish
	kmsg "metadata: $(dmsetup message vol 0 metadata)"
	power_cut 200ms
	timeout 60 tail --pid=$writer -f /dev/null || die "no power cut 60 s after asking for it"
	die "the writer ended before the power cut"
	;;
2)
	check blockjob metadata check /dev/mapper/md
	check blockjob create vol /dev/mapper/data --metadata /dev/mapper/md
	out=$("$AW" check --list /tmp/acked /dev/mapper/vol /dev/vdd)
	rc=$?
	echo "$out" | sed 's/^/# /'
	check_eq "$rc" 0 "every acknowledged write is on the volume"
	blockjob bitmap dump vol p >/tmp/ranges
	check_eq "$(uncovered 65536 /tmp/ranges </tmp/acked | wc -l)" 0 \
		"every acknowledged write's granule is dirty ($(wc -l </tmp/acked) blocks, $(wc -l </tmp/ranges) ranges)"
	want=$(dev_digest vol)
	check blockjob backup vol /dev/mapper/inc --bitmap p --wait
	check "$BJ_TESTS/vm/helpers/bin/apply-ranges" /dev/mapper/inc /dev/mapper/full </tmp/ranges
	check_eq "$(dev_digest full)" "$want" "full backup + the increment from the bitmap = the volume"
	check dmsetup remove vol
	;;
*)
	die "BJ_BOOT is '${BJ_BOOT:-}': run this test with scripts/vm-run --boots 2 (its header asks for it)"
	;;
esac
finish
