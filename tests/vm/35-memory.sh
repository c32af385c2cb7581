#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 256M --timeout 600
# The "memory" message: "<state> <copies> <bitmaps>" in bytes. Checked
# against what the test can compute: named bitmaps of one bit per granule,
# a mirror's dirty bitmap of a 1 TiB volume (2 MiB at 64 KiB regions), the
# two 1 MiB reserve buffers of a job's copy I/O, a kept 1 MiB buffer once a
# background copy ran, a spare buffer of a chunk once a copy-before-write
# ran; 0 for passthrough, and again after a pivot. A message with an
# argument is refused. "blockjob status --json" shows the same figures.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((32 * 2048))
BYTES=$((SEC * 512))
MIB=1048576
# mem VOL: the reply, one line
mem() { dmsetup message "$1" 0 memory; }
field() { mem "$1" | awk -v f="$2" '{print $f}'; }
# wait_copies VOL BYTES: until the copies figure is BYTES (5 s at most)
wait_copies() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(field "$1" 2)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

echo "# passthrough, then named bitmaps"
check bk_vol vol /dev/vdb $SEC
check_eq "$(mem vol)" "0 0 0" "passthrough holds nothing"
check blockjob bitmap add vol a --granularity 64K
b1=$(field vol 3)
check blockjob bitmap add vol b --granularity 4K
b2=$(field vol 3)
# b1 = S + 64 (512 bits), b2 = b1 + S + 1024 (8192 bits), S the bitmap's own structure
check_eq "$((b2 - 2 * b1))" 960 "bitmaps of 512 and 8192 bits: $b1 then $b2 bytes"
check_eq "$((b1 > 64 && b1 < 64 + 4096))" 1 "a bitmap's own structure is small ($((b1 - 64)) bytes)"
check blockjob bitmap remove vol b
check_eq "$(field vol 3)" "$b1" "removing a bitmap gives its memory back"
check blockjob bitmap remove vol a
check_eq "$(mem vol)" "0 0 0" "no bitmaps left"
if dmsetup message vol 0 memory all 2>/dev/null; then
	not_ok "memory with an argument was accepted"
else
	ok "memory with an argument is refused"
fi
check dmsetup remove vol

echo "# a paused mirror of a 1 TiB volume"
TIB=$((1 << 31))
check dm_create zsrc "0 $TIB zero"
check dm_create zdst "0 $TIB zero"
check dm_create big "0 $TIB blockjob mirror /dev/mapper/zsrc 0 /dev/mapper/zdst 0 128 1 start_paused"
read -r st cp bm < <(mem big)
echo "# reply: $st $cp $bm"
check_eq "$((st >= 2 * MIB && st < 2 * MIB + 65536))" 1 \
	"state: the 2 MiB dirty bitmap of 16M regions, plus $((st - 2 * MIB)) bytes"
REQ=$(((cp - 2 * MIB) / 2))
check_eq "$((cp == 2 * MIB + 2 * REQ && REQ > 0 && REQ < 8192))" 1 \
	"copies: the two 1 MiB reserve buffers, with requests of $REQ bytes"
check_eq "$bm" 0 "no named bitmaps"
check dmsetup message big 0 cancel
check dmsetup remove big
check dmsetup remove zsrc
check dmsetup remove zdst

echo "# a mirror to ready, then its pivot"
check mk_pattern vdb "$RANDOM" $BYTES
check bk_vol vol /dev/vdb $SEC
check blockjob mirror vol /dev/vdc --wait
read -r st cp bm < <(mem vol)
check_eq "$((st > 64 && st < 65536))" 1 "state: 512 regions' bitmap and the mirror's structure ($st bytes)"
kept=$(((cp - 2 * MIB - 2 * REQ) / (MIB + REQ)))
check_eq "$((cp == 2 * MIB + 2 * REQ + kept * (MIB + REQ) && kept >= 1 && kept <= 16))" 1 \
	"copies: reserve and $kept kept 1 MiB buffers ($cp bytes)"
check blockjob complete vol
check_eq "$(mem vol)" "0 0 0" "after the pivot: passthrough again"
check dmsetup remove vol

echo "# a backup, sync none, 64 KiB chunks: one copy-before-write"
check mk_pattern vdb "$RANDOM" $BYTES
check bk_vol vol /dev/vdb $SEC
check bk_linear tgt /dev/vdc 0 $SEC
check dmsetup load vol --table "0 $SEC blockjob backup /dev/vdb 0 /dev/mapper/tgt 0 128 2 sync none"
check dmsetup suspend vol
check dmsetup resume vol
read -r st cp bm < <(mem vol)
check_eq "$cp" $((2 * MIB + 2 * REQ)) "copies before any write: the reserve"
check_eq "$((st > 64 && st < 65536))" 1 "state: the chunk bitmap, run table and structure ($st bytes)"
check dd if=/dev/urandom of=/dev/mapper/vol bs=4k count=1 oflag=direct status=none
wait_copies vol $((2 * MIB + 2 * REQ + 65536 + REQ))
check_eq "$?" 0 "copies after one first write: plus a 64 KiB spare buffer ($(mem vol))"
check dd if=/dev/urandom of=/dev/mapper/vol bs=4k seek=64 count=1 oflag=direct status=none
sleep 0.5
check_eq "$(field vol 2)" $((2 * MIB + 2 * REQ + 65536 + REQ)) \
	"a second first write reuses the spare buffer"
read -r st cp bm < <(mem vol)
check_eq "$(blockjob status vol --json | grep -o '"memory": {[^}]*}')" \
	"\"memory\": {\"state\": $st, \"copies\": $cp, \"bitmaps\": $bm}" "blockjob status --json: memory"
check bk_finish vol
check_eq "$(mem vol)" "0 0 0" "after the job: passthrough again"
check dmsetup remove vol
check dmsetup remove tgt
check rmmod dm_blockjob
finish
