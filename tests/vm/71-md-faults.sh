#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 4 --disk-size 512M --timeout 900
# The metadata device at its edges (issue 17): a superblock commit cut in
# half, a flipped bit in the newest superblock and in a bitmap block, both
# superblocks damaged, a zeroed superblock copy: each recovered to the
# previous commit (a bitmap block with a torn copy: taken as all dirty) or
# refused, never reset. A metadata device that fails writes (clean granules
# fail with EIO, dirty ones go on) and one that stops answering (writes to
# clean granules wait, suspend waits, nothing is lost). A mirror on a volume
# with persistent bitmaps: the pivoted volume keeps its metadata device and
# bitmaps; its sync map cannot be written: writes to unmarked regions fail.
# A backup with a metadata device: a failed one fails writes to unsaved
# chunks and still resumes with its point in time; a reload or a cancel
# drops its map.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
. "$BJ_TESTS/vm/mirror-lib.sh"
. "$BJ_TESTS/vm/bitmap-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((256 * 2048))		# a 256 MiB volume
check bk_linear data /dev/vdb 0 $SEC
check bk_linear md /dev/vdc 0 2048
MD=/dev/mapper/md

blk() {	# BLOCK: one 4 KiB block of MDEV, in hex
	dd if=$MD bs=4096 skip="$1" count=1 iflag=direct status=none | od -An -v -tx1 | tr -d ' \n'
}
put() {	# BLOCK FILE: write a saved block back
	dd if="$2" of=$MD bs=4096 seek="$1" count=1 oflag=direct conv=notrunc status=none
}
save() { dd if=$MD of="$2" bs=4096 skip="$1" count=1 iflag=direct status=none; }
gen() {	# BLOCK: the generation of a superblock (offset 16) or bitmap block (offset 32)
	dd if=$MD bs=1 skip=$(($1 * 4096 + $2)) count=8 status=none | od -An -tu8 | tr -d ' '
}
flip() {	# BLOCK BYTE: flip one bit of MDEV
	local v
	v=$(dd if=$MD bs=1 skip=$(($1 * 4096 + $2)) count=1 status=none | od -An -tu1 | tr -d ' ')
	printf "\\$(printf %o $((v ^ 4)))" | dd of=$MD bs=1 seek=$(($1 * 4096 + $2)) conv=notrunc status=none
}
newest_sb() { [ "$(gen 0 16)" -gt "$(gen 1 16)" ] && echo 0 || echo 1; }
open_vol() { blockjob create vol /dev/mapper/data --metadata $MD; }
wr() { dd if=/dev/urandom of=/dev/mapper/vol bs=4096 seek="$1" count=1 oflag=direct status=none; }

check open_vol
check blockjob bitmap add vol p --persistent
check blockjob bitmap add vol q --persistent --granularity 4K
wr 0; wr 40000; wr 65535
want_p=$(dump p) want_q=$(dump q)
check dmsetup remove vol

# --- a superblock commit cut in half -------------------------------------------
new=$((1 - $(newest_sb)))	# the copy the next commit writes
save $new /tmp/old.blk
check open_vol
check blockjob bitmap add vol r --persistent
check dmsetup remove vol
check_eq "$(newest_sb)" $new "the add was committed to copy $new"
# The first sector of the new block (its header) over the old one's others
# (where r's entry is): the write cut short after one sector.
save $new /tmp/new.blk
dd if=/tmp/old.blk of=/tmp/torn.blk bs=4096 count=1 status=none
dd if=/tmp/new.blk of=/tmp/torn.blk bs=512 count=1 conv=notrunc status=none
put $new /tmp/torn.blk
check blockjob metadata check $MD
kmsg "open after a torn commit"
check open_vol
check_eq "$(blockjob bitmap list vol | awk 'NR > 1 {print $1}' | tr '\n' ' ')" "p q " \
	"torn commit: the previous commit (without r)"
check_eq "$(dump p)$(dump q)" "$want_p$want_q" "torn commit: the bitmaps as they were"
dmesg | grep "superblock copy $new: checksum mismatch" >/dev/null && ok "the kernel said so" ||
	not_ok "no kernel message about the torn copy"
# The next commit goes to the torn copy and is whole again.
check blockjob bitmap add vol r --persistent
check blockjob bitmap remove vol r
check dmsetup remove vol
check blockjob metadata check $MD

# --- a flipped bit in the newest superblock; a zeroed newest copy ------------------
for how in flip zero; do
	cur=$(newest_sb)
	save $cur /tmp/cur.blk
	if [ $how = flip ]; then flip $cur 1500; else dd if=/dev/zero of=$MD bs=4096 seek=$cur count=1 oflag=direct conv=notrunc status=none; fi
	check open_vol
	check_eq "$(dump p)$(dump q)" "$want_p$want_q" "$how newest superblock: the previous commit, bitmaps intact"
	check dmsetup remove vol
	put $cur /tmp/cur.blk
done

# --- both superblocks damaged: refused, MDEV untouched ------------------------------
save 0 /tmp/sb0.blk; save 1 /tmp/sb1.blk
flip 0 100; flip 1 2000
before=$(dev_digest md)
out=$(open_vol 2>&1) && not_ok "opened with both superblocks damaged" || ok "CLI refuses: $out"
num=$(dmsetup info -c --noheadings -o major,minor md | tr -d ' ')
dnum=$(dmsetup info -c --noheadings -o major,minor data | tr -d ' ')
if dmsetup create vol --table "0 $SEC blockjob passthrough $dnum 0 2 metadata $num" 2>/dev/null; then
	not_ok "kernel opened MDEV with both superblocks damaged"; dmsetup remove vol
else ok "kernel refuses it too"; fi
dmesg | grep "No valid metadata superblock" >/dev/null && ok "kernel: No valid metadata superblock" || not_ok "no kernel reason"
check_eq "$(dev_digest md)" "$before" "MDEV not written"
put 0 /tmp/sb0.blk; put 1 /tmp/sb1.blk

# --- a flipped bit in a bitmap block: the block is taken as all dirty --------------
# q (4K granules, 65536 bits) has 3 blocks per area; p's 4 blocks come first
# (blocks 2-5), so q's copies of its block 1 are blocks 7 and 10.
b=7; [ "$(gen 10 32)" -gt "$(gen 7 32)" ] && b=10
flip $b 3000
check open_vol
first=$((32256 * 4096)) end=$((64512 * 4096))
case "$(dump q)" in *"$first $((end - first))"*) ok "torn bitmap block: its whole range dirty" ;;
*) not_ok "torn bitmap block: q is $(dump q | tr '\n' ' ')" ;; esac
check_eq "$(dump p)" "$want_p" "the other bitmap unchanged"
check blockjob bitmap clear vol q
check dmsetup remove vol
check open_vol
check_eq "$(dump q)" "" "cleared: the torn copy is of an old epoch now"

# --- a metadata device that fails writes ------------------------------------------
check wr 40000		# dirty in p and q: no metadata I/O needed any more
check ml_swap md "0 2048 error"
if wr 100 2>/dev/null; then not_ok "a write to a clean granule succeeded without its bit"; else ok "write to a clean granule fails (EIO)"; fi
check wr 40000
check_eq "$(dmsetup message vol 0 metadata | awk '{print $4}')" failed "metadata message says failed"
out=$(blockjob bitmap add vol s --persistent 2>&1) && not_ok "bitmap add on a failed MDEV" || ok "bitmap add refused: $out"
check dmsetup remove vol
check ml_swap md "0 2048 linear /dev/vdc 0"
check open_vol
case "$(dump p)" in *"409600 "*) not_ok "the failed write's granule is dirty (no bit was written)" ;; *) ok "nothing was recorded for the failed write" ;; esac

# --- a metadata device that stops answering ---------------------------------------
check dmsetup suspend md
c0=$(dmsetup message vol 0 metadata | awk '{print $2}')
dd if=/dev/urandom of=/dev/mapper/vol bs=4096 seek=50000 count=1 oflag=direct status=none &
wpid=$!
for ((i = 0; i < 600; i++)); do
	[ "$(dmsetup message vol 0 metadata | awk '{print $2}')" -gt "$c0" ] && break
	sleep 0.1
done
kill -0 $wpid 2>/dev/null && ok "the write waits for its bit" || not_ok "the write finished with MDEV suspended"
dmsetup suspend vol &
spid=$!
ml_in_suspend $spid && ok "suspend of the volume waits for the held write" ||
	not_ok "suspend not waiting in dm_suspend: $(head -5 /proc/$spid/stack 2>&1 | tr '\n' ' ')"
check dmsetup resume md
wait $wpid && ok "the held write completed once MDEV answered" || not_ok "held write failed"
wait $spid && ok "the suspend completed" || not_ok "suspend failed"
check dmsetup resume vol
case "$(dump p)" in *"$((50000 * 4096 / 65536 * 65536)) 65536"*) ok "its granule is dirty" ;; *) not_ok "p: $(dump p)" ;; esac

# --- the pivot's commit fails: no pivot, the mirror stays ready ----------------------
check bk_linear dst /dev/vdd 0 $SEC
src=$(vol_origin)
check blockjob mirror vol /dev/mapper/dst --wait
# The mirror's sync map: a write is routed only into a region durably
# marked. Once the idle ready mirror's map is empty, a write (to a granule
# p and q have already) cannot be marked on a failed metadata device: EIO.
sync_map_empties $MD "the idle ready mirror's sync map is empty"
check ml_swap md "0 2048 error"
if wr 50000 2>/dev/null; then not_ok "a write to an unmarked region succeeded on a failed MDEV"; else ok "a write to an unmarked region fails (EIO)"; fi
out=$(blockjob complete vol 2>&1) && not_ok "complete with a failing metadata device: $out" ||
	ok "complete refused: $out"
check_eq "$(vol_origin)" "$src" "no pivot: the volume is on the source"
case "$(dmsetup status vol)" in *" ready "*) ok "the mirror is ready again" ;; *) not_ok "status: $(dmsetup status vol)" ;; esac
check dmsetup message vol 0 cancel
check dmsetup remove vol
check ml_swap md "0 2048 linear /dev/vdc 0"
out=$(open_vol)
check_eq "$?" 0 "reopened ($out)"
check_eq "$(vol_origin)" "$src" "the record still names the source"
# The cancel went by dmsetup (and the metadata device was failing): the
# record still names the mirror, which resumes from its sync map.
case $out in *"resumed:"*) ok "the mirror the record names resumed" ;; *) not_ok "no mirror resumed: $out" ;; esac
check blockjob cancel vol

# --- a mirror: the pivoted volume keeps its metadata device and bitmaps ------------
want_p=$(dump p)
check blockjob mirror vol /dev/mapper/dst --wait
wr 60000
check blockjob complete vol
dnum=$(dmsetup info -c --noheadings -o major,minor dst | tr -d ' ')
case "$(dmsetup table vol)" in *"passthrough $dnum 0 2 metadata $num") ok "pivoted onto dst with its metadata device" ;;
*) not_ok "table after pivot: $(dmsetup table vol)" ;; esac
wr 61000
want_p=$(dump p)
check_eq "$(dev_digest vol)" "$(dev_digest dst)" "the volume is dst"
check dmsetup remove vol
check rmmod dm_blockjob
check load_blockjob
check blockjob create vol /dev/mapper/dst --metadata $MD
check_eq "$(dump p)" "$want_p" "reopened on dst: the bitmap as it was"
check dmsetup remove vol

# --- a backup with a metadata device (issue 18) -----------------------------------
# Its map of the chunks not durably saved: a write to a chunk still to save
# waits for the copy and the map's commit. On a failed metadata device such
# writes fail with EIO and the job fails, but every write that went through
# was to a saved chunk, so the map left on disk still resumes the backup
# with its point in time. A table that replaces an unfinished backup, and a
# cancel, drop the map.
M2=/dev/mapper/md2
check bk_linear md2 /dev/vdc 4096 2048
check bk_linear bdst /dev/vdd $SEC $SEC
bwr() { dd if=/dev/urandom of=/dev/mapper/bvol bs=4096 seek="$1" count=1 oflag=direct status=none; }
map_gone() {	# WHAT: the map leaves MDEV (a bound, not a sleep)
	local n=0
	while [ -n "$(sync_map_bytes $M2)" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	check_eq "$(sync_map_bytes $M2)" "" "$1"
}
check blockjob create bvol /dev/mapper/data --metadata $M2
pit=$(dev_digest bvol)
check blockjob backup bvol /dev/mapper/bdst --speed 1M
# Its first lazy commit may already have cleared what the copy saved (a
# second after the start): the map holds at least every chunk not copied.
n=$(sync_map_bytes $M2)
off=$(job_field bvol offset)
[ "${n:-0}" -gt 0 ] && [ $((n + off)) -ge $((SEC * 512)) ] &&
	ok "the new backup's map holds every chunk not copied ($n bytes, $off copied)" ||
	not_ok "the new backup's map: '$n' bytes, $off of $((SEC * 512)) copied"
check bwr 40000
n=$(sync_map_bytes $M2)
[ "${n:-0}" -gt 0 ] && [ "$n" -lt $((SEC * 512)) ] &&
	ok "the chunk saved for the write left the map ($n bytes left)" || not_ok "map: '$n' bytes"
check ml_swap md2 "0 2048 error"
if bwr 50000 2>/dev/null; then not_ok "a write to an unsaved chunk went on with a failed MDEV"
else ok "a write to an unsaved chunk fails (EIO) with a failed MDEV"; fi
check bwr 40000
blockjob wait bvol --for concluded --timeout 60 >/dev/null 2>&1
check_eq "$(job_field bvol result)" failed "the backup failed"
check dmsetup remove bvol
check ml_swap md2 "0 2048 linear /dev/vdc 4096"
# Every write that went through was to a saved chunk: the map resumes it.
out=$(blockjob create bvol /dev/mapper/data --metadata $M2 2>&1)
check_eq "$?" 0 "reopened ($out)"
case $out in *"the backup to "*"was interrupted; resumed: "*) ok "the backup resumed" ;;
*) not_ok "the backup did not resume: $out" ;; esac
check blockjob set-speed bvol 0
check blockjob wait bvol --for concluded --timeout 120
check_eq "$(job_field bvol result)" completed "the resumed backup completed"
check blockjob dismiss bvol
check_eq "$(dev_digest bdst)" "$pit" "the resumed backup holds the image of its point in time"
# A reload without cancel: the passthrough's preresume drops the map.
check blockjob backup bvol /dev/mapper/bdst --speed 1M
check dmsetup reload bvol --table \
	"0 $SEC blockjob passthrough $(ml_devnum data) 0 2 metadata $(ml_devnum md2)"
check dmsetup suspend bvol
check dmsetup resume bvol
check_eq "$(sync_map_bytes $M2)" "" "the table replacing the unfinished backup dropped its map"
check dmsetup remove bvol
out=$(blockjob create bvol /dev/mapper/data --metadata $M2 2>&1)
check_eq "$?" 0 "reopened ($out)"
case $out in *"interrupted and ended as failed"*) ok "the backup without a map is not resumed" ;;
*) not_ok "after the reload: $out" ;; esac
# A cancel drops the map before the CLI's record does.
check blockjob backup bvol /dev/mapper/bdst --speed 1M
check bwr 60000
check dmsetup message bvol 0 cancel
map_gone "the cancelled backup dropped its map"
check blockjob dismiss bvol
# An incremental from an in-memory bitmap whose table goes mid-copy (as a
# crash leaves it; the bitmap goes with the volume): it resumes from its
# map without the bitmap, and its destination is the point in time's.
check blockjob backup bvol /dev/mapper/bdst --wait
check blockjob bitmap add bvol m
for k in $(seq 0 19); do bwr $((20000 + k * 16)) || not_ok "write $k"; done	# 20 chunks
pit=$(dev_digest bvol)
check blockjob backup bvol /dev/mapper/bdst --bitmap m --speed 4K
check dmsetup remove bvol
out=$(blockjob create bvol /dev/mapper/data --metadata $M2 2>&1)
check_eq "$?" 0 "reopened ($out)"
case $out in *"the backup to "*"was interrupted; resumed: "*) ok "the incremental resumed without its bitmap" ;;
*) not_ok "the incremental did not resume: $out" ;; esac
blockjob set-speed bvol 0 2>/dev/null
check blockjob wait bvol --for concluded --timeout 120
check_eq "$(job_field bvol result)" completed "the resumed incremental completed"
check blockjob dismiss bvol
check_eq "$(dev_digest bdst)" "$pit" "the resumed incremental holds the image of its point in time"
check dmsetup remove bvol
# Its destination gone: not resumed, said; the volume comes back on its home.
check blockjob create bvol /dev/mapper/data --metadata $M2
check blockjob backup bvol /dev/mapper/bdst --speed 4K
check dmsetup remove bvol
check dmsetup remove bdst
out=$(blockjob create bvol /dev/mapper/data --metadata $M2 2>&1)
check_eq "$?" 0 "reopened without the destination ($out)"
case $out in *"cannot be resumed: "*"interrupted and ended as failed"*) ok "the backup without its destination ended as failed" ;;
*) not_ok "without the destination: $out" ;; esac
check_eq "$(dmsetup table bvol | awk '{print $4}')" passthrough "the volume is back in passthrough"
check dmsetup remove bvol
check rmmod dm_blockjob
finish
