#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 4 --disk-size 128M --timeout 900
# Persistent dirty bitmaps on a metadata device (issue 17): create formats a
# zeroed MDEV and reopens it; refusals leave MDEV untouched; every bitmap
# verb on persistent bitmaps, checked against the dirty ranges the test
# computes from its own writes, and again after remove + rmmod + modprobe +
# create (the clean path); writes to granules already durable make no
# metadata commit; incremental backups from a persistent bitmap, one that
# fails, and a copy of MDEV taken while a backup runs (a crash image) that
# still covers every write since the last backup.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
. "$BJ_TESTS/vm/bitmap-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((32 * 2048))		# a 32 MiB volume
BYTES=$((SEC * 512))
check bk_linear data /dev/vdb 0 $SEC
check bk_linear md /dev/vdc 0 2048		# 1 MiB metadata device
check bk_linear md2 /dev/vdc 4096 2048
check bk_linear tiny /dev/vdc 8192 16		# 8 KiB: superblocks only
check bk_linear other /dev/vdb $SEC $((SEC / 2))	# data of another size
MD=/dev/mapper/md

# The dirty ranges of bitmap $2 in "blockjob metadata dump $1", as "start length" lines.
md_ranges() {
	blockjob metadata dump "$1" |
		awk -v n="$2" '/^bitmap / { cur = ($2 == n ":") } cur && /^  [0-9]/ { print $1, $2 }'
}
commits() { dmsetup message vol 0 metadata | awk '{print $1}'; }
reopen() {	# the clean path: remove, unload, load, create again
	dmsetup remove vol && rmmod dm_blockjob && load_blockjob &&
		blockjob create vol /dev/mapper/data --metadata $MD
}
# Creating vol with these arguments must fail, say $2, and leave MDEV $3 unchanged.
refused() {
	local args=$1 want=$2 dev=$3 before out rc
	before=$(dev_digest "$dev")
	out=$(blockjob create $args 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && [[ $out == *"$want"* ]] && [ "$(dev_digest "$dev")" = "$before" ] &&
		! dmsetup info vol >/dev/null 2>&1; then
		ok "refused ($want): $out"
	else
		not_ok "create $args: rc $rc, output: $out"
		dmsetup remove vol 2>/dev/null
	fi
}

# --- create: format, refusals -------------------------------------------------
refused "vol /dev/mapper/data --metadata /dev/mapper/tiny" "needs at least" /dev/mapper/tiny
check blockjob create vol /dev/mapper/data --metadata $MD
on_exit "dmsetup remove vol 2>/dev/null"
mdnum=$(dmsetup info -c --noheadings -o major,minor md | tr -d ' ')
case "$(dmsetup table vol)" in *"metadata $mdnum"*) ok "table carries metadata $mdnum" ;;
*) not_ok "table: $(dmsetup table vol)" ;; esac
check blockjob metadata check $MD
# The kernel refuses a table of this volume without its metadata device.
out=$(dmsetup load vol --table "0 $SEC blockjob passthrough $(dmsetup table vol | awk '{print $5}') 0" 2>&1)
if [ $? -ne 0 ]; then ok "reload without metadata refused"; else not_ok "reload without metadata accepted: $out"; dmsetup clear vol; fi
kmsg "after refused reload"
dmesg | grep "keep \"metadata <dev>\" on the table" >/dev/null && ok "kernel says why" || not_ok "no kernel reason"

# --- bitmaps: add, dump, list, stats ------------------------------------------
check blockjob bitmap add vol p --persistent
check blockjob bitmap add vol q --persistent --granularity 4K
check blockjob bitmap add vol m --granularity 64K
check_eq "$(blockjob bitmap list vol | awk 'NR > 1 { printf "%s:%d ", $1, /persistent/ }')" \
	"p:1 q:1 m:0 " "list shows persistent"
check_eq "$(blockjob bitmap list vol --json | grep -o '"persistent": [a-z]*' | tr '\n' ' ')" \
	'"persistent": true "persistent": true "persistent": false ' "list --json shows persistent"
c0=$(commits)
w 0 1; w 7 2; w 100 300; w 4096 8; w 9000 1; w $((SEC - 1)) 1; w $((SEC - 130)) 3
blkdiscard -o $((20000 * 512)) -l 65536 /dev/mapper/vol; W[$WN]="20000 128"; WN=$((WN + 1))
blkdiscard -z -o $((25000 * 512)) -l 4096 /dev/mapper/vol; W[$WN]="25000 8"; WN=$((WN + 1))
check_eq "$(dump p)" "$(expect 65536)" "persistent 64K bitmap = the writes"
check_eq "$(dump q)" "$(expect 4096)" "persistent 4K bitmap = the writes"
check_eq "$(dump m)" "$(expect 65536)" "in-memory bitmap alongside = the writes"
c1=$(commits)
[ "$c1" -gt "$c0" ] && ok "first writes committed metadata ($((c1 - c0)) commits)" || not_ok "no commit for first writes"
# Rewrites of granules already durable: no metadata I/O at all.
for i in 1 2 3 4 5; do
	dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=100 count=300 oflag=direct status=none
	dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=$((SEC - 1)) count=1 oflag=direct status=none
done
check_eq "$(commits)" "$c1" "rewrites of dirty granules make no commit"
check_eq "$(md_ranges $MD p)" "$(expect 65536)" "metadata dump of the live MDEV = the kernel's dump"

# --- the clean path -----------------------------------------------------------
check reopen
check_eq "$(dump p)" "$(expect 65536)" "p identical after remove, rmmod, modprobe, create"
check_eq "$(dump q)" "$(expect 4096)" "q identical after the reopen"
check_eq "$(blockjob bitmap list vol | grep -c '^m ')" 0 "the in-memory bitmap is gone"
check blockjob metadata check $MD

# --- refusals on an existing MDEV -----------------------------------------------
check dmsetup remove vol
refused "vol2 /dev/mapper/data --metadata $MD" "holds the metadata of volume 'vol'" $MD
refused "vol /dev/mapper/other --metadata $MD" "lives on dm-uuid-BJTEST-data" $MD
refused "vol /dev/mapper/data --metadata /dev/mapper/data" "" /dev/mapper/data
dd if=/dev/urandom of=/dev/mapper/md2 bs=4096 count=2 status=none
refused "vol /dev/mapper/data --metadata /dev/mapper/md2" "not touched" /dev/mapper/md2
check blockjob create vol /dev/mapper/data --metadata $MD
check_eq "$(dump p)" "$(expect 65536)" "p still there after the refusals"
# Two volumes cannot share a metadata device.
check blockjob create vol3 /dev/mapper/other
on_exit "dmsetup remove vol3 2>/dev/null"
num=$(dmsetup table vol3 | awk '{print $4}')
if dmsetup load vol3 --table "0 $((SEC / 2)) blockjob passthrough $num 0 2 metadata $mdnum" 2>/dev/null; then
	not_ok "a second volume took the same metadata device"; dmsetup clear vol3
else ok "a second volume on the same metadata device is refused"; fi
out=$(blockjob bitmap add vol3 x --persistent 2>&1)
[ $? = 1 ] && [[ $out == *"no metadata device"* ]] && ok "bitmap add --persistent without MDEV: $out" ||
	not_ok "bitmap add --persistent without MDEV: $out"
check dmsetup remove vol3

# --- clear, disable, enable, merge, remove, each durable --------------------------
check blockjob bitmap clear vol q
check_eq "$(dump q)" "" "clear empties q"
check blockjob bitmap disable vol p
dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=40000 count=8 oflag=direct status=none
W[$WN]="40000 8"; WN=$((WN + 1))	# recorded by q only
check_eq "$(dump p)" "$(unset 'W[$((WN - 1))]'; expect 65536)" "disabled p records nothing"
check blockjob bitmap enable vol p
check blockjob bitmap add vol m --granularity 64K
dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=50000 count=8 oflag=direct status=none
check blockjob bitmap disable vol p
check blockjob bitmap merge vol p m
check_eq "$(dump p | grep -c "^$((50000 * 512 / 65536 * 65536)) ")" 1 "merge of an in-memory bitmap into p"
want_p=$(dump p)
check blockjob bitmap enable vol p
check blockjob bitmap add vol gone --persistent
check blockjob bitmap remove vol gone
check reopen
check_eq "$(dump q)" "$((40000 * 512)) 4096"$'\n'"$((50000 * 512)) 4096" "q after clear + writes, reopened"
check_eq "$(dump p)" "$want_p" "p after disable, merge, enable, reopened"
check_eq "$(blockjob bitmap list vol | awk 'NR > 1 {print $1}' | sort | tr '\n' ' ')" "p q " "removed bitmap stays removed"
check blockjob metadata check $MD

# --- incremental backups from a persistent bitmap ----------------------------------
R=/dev/mapper/ref
check bk_linear ref /dev/vdd $((3 * SEC)) $SEC
check bk_linear full /dev/vdd 0 $SEC
check bk_linear inc1 /dev/vdd $SEC $SEC
check bk_linear inc2 /dev/vdd $((2 * SEC)) $SEC
check blockjob bitmap clear vol p
check blockjob backup vol /dev/mapper/full --wait
check dd if=/dev/mapper/full of=$R bs=1M iflag=direct oflag=direct status=none
forget
w 10 20; w 3000 700; w 60000 8
check reopen
check_eq "$(dump p)" "$(expect 65536)" "writes after the full backup, across a reopen"
# A failed incremental keeps every write (the successor is dropped).
blockjob bitmap dump vol p >/tmp/ranges
check blockjob backup vol /dev/mapper/inc2 --bitmap p --speed 64K
sleep 0.5
check bk_error inc2
check_eq "$(bk_wait vol 120)" failed "incremental to a failing destination fails"
check blockjob dismiss vol
check_eq "$(dump p)" "$(expect 65536)" "failed incremental: p keeps every write"
check reopen
check_eq "$(dump p)" "$(expect 65536)" "failed incremental: p keeps every write across a reopen"
# A running incremental: MDEV copied mid-job (what a crash leaves) covers every write.
want=$(dev_digest vol)
blockjob bitmap dump vol p >/tmp/ranges
check blockjob backup vol /dev/mapper/inc1 --bitmap p --speed 64K
w 30000 16; w 61000 1
dd if=$MD of=/tmp/crash-md.img bs=4096 iflag=direct status=none
md_ranges /tmp/crash-md.img p >/tmp/crash-ranges
check_eq "$(expect 65536 | uncovered 65536 /tmp/crash-ranges)" "" \
	"MDEV taken during the backup covers every write since the last backup"
[ -s /tmp/crash-ranges ] && ok "... which it read ($(wc -l </tmp/crash-ranges) ranges)" || not_ok "no ranges read from the copy"
check blockjob set-speed vol 0
check_eq "$(bk_wait vol 120)" completed "incremental completed"
check blockjob dismiss vol
check "$BJ_TESTS/vm/helpers/bin/apply-ranges" /dev/mapper/inc1 $R </tmp/ranges
check_eq "$(dev_digest $R $BYTES)" "$want" "full + increment = the volume at the backup's start"
check_eq "$(dump p)" "$((30000 * 512 / 65536 * 65536)) 65536"$'\n'"$((61000 * 512 / 65536 * 65536)) 65536" \
	"after a completed incremental p holds only the writes made during it"
check reopen
check_eq "$(dump p)" "$((30000 * 512 / 65536 * 65536)) 65536"$'\n'"$((61000 * 512 / 65536 * 65536)) 65536" \
	"... and so does MDEV (reopened)"
check blockjob metadata check $MD
check dmsetup remove vol
check rmmod dm_blockjob
finish
