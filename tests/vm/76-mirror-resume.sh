#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --boots 3 --disks 3 --disk-size 16M --disk-cache none --timeout 150
# vm-kernel: stock (three boots; its kernel paths run on the debug kernel in
# 71, the sync map's marks, clear pass and failure, and 74, the resume)
# A mirror interrupted by a power cut resumes where it stood (issue 18).
#
# The volume lives on /dev/vdb with its metadata on a slice of /dev/vdd and
# mirrors to /dev/vdc at 2 MiB/s under a stream of acknowledged writes
# (acked-writes). Boot 1 cuts the power once half of it is copied. Boot 2:
# `blockjob activate --all` resumes the mirror from its sync map (less than
# the whole volume left to copy), every acknowledged write is on the volume,
# the resumed mirror gets ready with the destination equal to the source;
# then, the mirror ready and idle, the map empties (the clear pass) and the
# power is cut again. Boot 3: the mirror resumes with nothing to copy, is
# ready at once, pivots, and the volume on /dev/vdc has every write.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"

AW=$BJ_TESTS/vm/helpers/bin/acked-writes
SEC=$((16 * 2048))
VOLUMES=/etc/blockjob/volumes
BOOT=${BJ_BOOT:-}
[ -n "$BOOT" ] || die "BJ_BOOT is not set: run this test with scripts/vm-run --boots 3"
load_blockjob || die "modprobe dm-blockjob"
check bk_linear md /dev/vdd 0 2048
check bk_linear etc /dev/vdd 4096 8
check bk_linear log /dev/vdd 8192 2048
[ "$BJ_FAIL" -eq 0 ] || finish

# /etc/blockjob/volumes is kept on /dev/vdd, as a real /etc would keep it.
etc_save() { dd if=$VOLUMES of=/dev/mapper/etc bs=4k conv=sync,fsync oflag=direct status=none; }
etc_load() {
	mkdir -p /etc/blockjob
	dd if=/dev/mapper/etc bs=4k iflag=direct status=none | tr -d '\0' >$VOLUMES
}

uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# activated WANT: activate --all resumed the mirror
activated() {
	etc_load
	out=$(blockjob activate --all 2>&1)
	check_eq "$?" 0 "boot $BOOT: activate --all ($(echo "$out" | tr '\n' ' '))"
	# shellcheck disable=SC2254	# $1 is a pattern
	case $out in *"was interrupted; resumed: "$1*) ok "boot $BOOT: the mirror resumed with $1 left" ;;
	*) not_ok "boot $BOOT: the mirror did not resume with $1 left: $out" ;; esac
	res=$("$AW" check /dev/mapper/vol /dev/mapper/log | tail -n 1)
	check_eq "$?" 0 "boot $BOOT: every acknowledged write is on the volume ($res)"
	check blockjob metadata check /dev/mapper/md
}

case $BOOT in
1)
	check blockjob create vol /dev/vdb --metadata /dev/mapper/md
	check mk_pattern vol 11
	check mk_pattern /dev/vdc 13
	check etc_save
	mkfifo /tmp/ready
	"$AW" write --ready 20 --blocks 1024 /dev/mapper/vol /dev/mapper/log >/tmp/ready &
	read -r line </tmp/ready
	check_eq "$line" "ready 20" "20 writes acknowledged"
	check blockjob mirror vol /dev/vdc --speed 2M
	check wait_job_offset vol $((8 << 20)) 60
	[ "$BJ_FAIL" -eq 0 ] || finish
	echo "# boot 1: power cut at $(job_field vol offset) of $(job_field vol len) bytes copied"
	power_cut
	;;
2)
	# less than the whole volume is left: "N MiB of 16 MiB", N < 16
	activated "[0-9.]* MiB of 16 MiB"
	case $out in *"resumed: 16 MiB of"*) not_ok "boot 2: the resumed mirror copies everything again" ;; esac
	check_eq "$(job_field vol speed)" 2097152 "boot 2: the resumed mirror kept its speed limit"
	check blockjob set-speed vol 0
	start=$(uptime_ms)
	check blockjob wait vol --for ready --timeout 60
	echo "# boot 2: resumed mirror ready in $(($(uptime_ms) - start)) ms"
	check_eq "$(dev_digest vdb $((16 << 20)))" \
		"$(dev_digest vdc $((16 << 20)))" \
		"boot 2: the destination equals the source once ready"
	# Ready and idle: the clear pass empties the map.
	sync_map_empties /dev/mapper/md "boot 2: the idle ready mirror's sync map is empty"
	[ "$BJ_FAIL" -eq 0 ] || finish
	power_cut
	;;
3)
	activated "0 B of 16 MiB"
	check blockjob wait vol --for ready --timeout 60
	check blockjob complete vol
	check_eq "$(vol_origin)" "$(dev_num /dev/vdc)" "boot 3: the volume lives on /dev/vdc after the pivot"
	res=$("$AW" check /dev/mapper/vol /dev/mapper/log | tail -n 1)
	check_eq "$?" 0 "boot 3: every acknowledged write is on the volume after the pivot ($res)"
	check_eq "$(sync_map_bytes /dev/mapper/md)" "" "boot 3: the pivot's record dropped the sync map"
	check blockjob remove vol
	;;
esac
finish
