#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 256M --timeout 900
# sync none with a view: the view reads the start-time image byte for byte
# while writes go on; a view reader racing a guest write to the same chunk
# always gets the old data; when the backup table goes away the view answers
# EIO and can be removed.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"
on_exit bk_stop_writer

SEC=$((32 * 2048))
BYTES=$((SEC * 512))
CH=65536
check mk_pattern vdb 3 $BYTES
dd if=/dev/zero of=/dev/vdc bs=1M count=33 status=none
check bk_vol vol /dev/vdb $SEC
# The start-time image, kept in RAM to compare chunk by chunk.
check dd if=/dev/mapper/vol of=/tmp/pit.img bs=1M iflag=direct status=none
want=$(digest </tmp/pit.img)

check blockjob backup vol /dev/vdc --sync none --chunk-size 64K --view vw
on_exit "dmsetup remove --retry vw"
check test -b /dev/mapper/vw
check_eq "$(blockdev --getro /dev/mapper/vw)" 1 "the view is read-only"
check_eq "$(dmsetup table vw | awk '{print $3, $4}')" "blockjob view" "view table line"

# The race first, on chunks nobody wrote yet: chunk i is read through the
# view by three readers while one writer overwrites it on the volume.
bad=0
RACES=$(scaled 60 3)
for ((i = 0; i < RACES; i++)); do
	for r in 1 2 3; do
		dd if=/dev/mapper/vw of=/tmp/r.$r bs=$CH skip=$i count=1 iflag=direct status=none &
	done
	dd if=/dev/urandom of=/dev/mapper/vol bs=$CH seek=$i count=1 oflag=direct status=none &
	wait
	dd if=/tmp/pit.img of=/tmp/old bs=$CH skip=$i count=1 status=none
	for r in 1 2 3; do
		cmp -s /tmp/r.$r /tmp/old || { bad=$((bad + 1)); echo "# chunk $i reader $r saw new data"; }
	done
	# and once the write is done, the view still shows the old data
	dd if=/dev/mapper/vw of=/tmp/r.4 bs=$CH skip=$i count=1 iflag=direct status=none
	cmp -s /tmp/r.4 /tmp/old || { bad=$((bad + 1)); echo "# chunk $i: view shows new data after the write"; }
done
check_eq "$bad" 0 "$RACES chunks x 3 racing view readers: every read returned the old data"
# Partial-chunk writes racing unaligned view reads across chunk boundaries.
bad=0
PARTIAL=$(scaled 40 3)
for ((i = 120; i < 120 + PARTIAL; i++)); do
	dd if=/dev/mapper/vw of=/tmp/r.1 bs=512 skip=$((i * 128 - 3)) count=7 iflag=direct status=none &
	dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek=$((i * 128 + 1)) count=2 oflag=direct status=none &
	wait
	dd if=/tmp/pit.img of=/tmp/old bs=512 skip=$((i * 128 - 3)) count=7 status=none
	cmp -s /tmp/r.1 /tmp/old || { bad=$((bad + 1)); echo "# sectors around chunk $i: new data"; }
done
check_eq "$bad" 0 "$PARTIAL partial writes vs unaligned view reads across chunk boundaries"

# Whole view under a heavy writer.
bk_writer vol 600 5 $((16 << 20))	# first half only: the job keeps chunks to save
sleep 2
check_eq "$(dev_digest vw)" "$want" "view reads the start-time image while writes go on"
check_eq "$(dev_digest vw)" "$want" "and again"
bk_stop_writer
check_eq "$(dev_digest vw)" "$want" "view still equals the start after the writer stopped"
st=$(dmsetup status vol)
case $st in *" backup running "*" none "*) ok "sync none still running: $st" ;; *) not_ok "state: $st" ;; esac
vst=$(dmsetup status vw)
case $vst in *" attached "*) ok "view attached: $vst" ;; *) not_ok "view status: $vst" ;; esac
# the chunks saved by copy-before-write are the start-time data on the destination
saved=$(echo "$st" | awk '{print $(NF-1)}')
ok "chunks saved by copy-before-write: $saved"

# Cancel: the view keeps serving saved chunks, unsaved ones fail.
check dmsetup message vol 0 cancel
check_eq "$(bk_state vol)" "concluded cancelled" "job cancelled"
# The table goes away under the view: every view read fails with EIO.
check bk_finish vol
if dd if=/dev/mapper/vw of=/dev/null bs=64k count=1 iflag=direct status=none 2>/dev/null; then
	not_ok "view read after the backup table went away should fail"
else
	ok "view read after the backup table went away fails (EIO)"
fi
vst=$(dmsetup status vw)
case $vst in *" detached "*) ok "view detached: $vst" ;; *) not_ok "view status: $vst" ;; esac
check dmsetup remove vw
check_eq "$(dev_digest vol)" "$(dev_digest vdb $BYTES)" "volume still maps its source"

# A view needs a backup: refused on a passthrough volume, or for incremental.
bk_view_refused vw2 vol "a view of a volume without a backup"
check_eq "$(dmsetup ls | grep -c vw2)" 0 "no device left behind"

# The CLI path: the view of a full backup, and the view removed by --wait.
check dmsetup remove vol
check bk_vol vol /dev/vdb $SEC
want=$(dev_digest vol)
check blockjob backup vol /dev/vdc --view vw3 --speed 4M --wait
check_eq "$(dmsetup ls | grep -c vw3)" 0 "--wait removed the view"
check_eq "$(dev_digest_at /dev/vdc 0 $BYTES)" "$want" "full backup with a view: destination equals the start"
check dmsetup remove vol
check rmmod dm_blockjob
finish
