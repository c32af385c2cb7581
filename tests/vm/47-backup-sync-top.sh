#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 64M --timeout 600
# Backup sync top, the kernel side of 'blockjob backup --sync top' (dmsetup
# only): the job starts paused with an open, empty set; set-dirty adds
# chunks; a guest write while the set is open joins its chunk (its old data
# is saved first); a chunk already saved is never copied again; the resume
# message closes the set, and from then on writes outside it pass with no
# copy. The destination ends up holding exactly the set's chunks as they
# were at the start, zeroes elsewhere.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((16 * 2048))		# 16 MiB: 256 chunks of 64 KiB
CH=65536
NCH=256
fld() { dmsetup status vol | awk -v f="$1" '{print $f}'; }	# status field N
saved_set() { fld 14; }
waits() { fld 15; }
wchunk() {	# CHUNK: overwrite one chunk of vol with new data
	dd if=/dev/urandom of=/dev/mapper/vol bs=$CH seek="$1" count=1 oflag=direct status=none
}
tab() { echo "0 $SEC blockjob backup /dev/vdb 0 /dev/vdc 0 128 $*"; }

check mk_pattern vdb "$RANDOM" $((16 << 20))
check dd if=/dev/zero of=/dev/vdc bs=1M count=16 oflag=direct status=none
check bk_vol vol /dev/vdb $SEC
check dd if=/dev/mapper/vol of=/tmp/orig bs=1M iflag=direct status=none

# Refusals: sync top without start_paused; nothing is loaded.
if dmsetup load vol --table "$(tab 2 sync top)" 2>/dev/null; then
	not_ok "sync top without start_paused was accepted"
	dmsetup clear vol
else
	ok "sync top without start_paused is refused"
fi
check_eq "$(dmesg | grep -c 'sync top needs start_paused')" 1 "the refusal says why"
check_eq "$(dmsetup info vol | grep -c INACTIVE)" 0 "no inactive table left"

# The job: paused, an empty set.
check dmsetup load vol --table "$(tab 3 sync top start_paused)"
check dmsetup suspend vol
check dmsetup resume vol
check_eq "$(fld 5) $(fld 13) $(saved_set) $(fld 7)" "paused top 0/0 0/0" "starts paused with an empty set"

# A view needs a whole image: refused for sync top.
bk_view_refused vw vol "a view of a sync top backup"

# While the set is open: a write to chunk 10 joins it, old data saved first.
check wchunk 10
check_eq "$(saved_set) $(waits)" "1/1 1" "a write while the set is open joins its chunk and waits for its copy"
check dmsetup message vol 0 set-dirty 5 10	# 5..14; 10 is in already
check_eq "$(saved_set)" "1/10" "set-dirty 5 10 adds 9 chunks (10 is saved)"
check wchunk 12
check_eq "$(saved_set) $(waits)" "2/10 2" "a write to a chunk of the set waits for its copy"
check wchunk 10
check_eq "$(saved_set) $(waits)" "2/10 2" "a rewrite of a saved chunk neither waits nor joins again"
check dmsetup message vol 0 set-dirty 20 200	# 20..219
check wchunk 240
check_eq "$(saved_set) $(waits)" "3/211 3" "a write outside the set joins it while it is open"
check_eq "$(fld 7)" "$((3 * CH))/$((211 * CH))" "done/total bytes follow the set"
for bad in "250 10" "256 1" "0 257" "18446744073709551615 2"; do
	if dmsetup message vol 0 set-dirty $bad 2>/dev/null; then
		not_ok "set-dirty $bad accepted"
	else
		ok "set-dirty $bad (beyond the $NCH chunks) is refused"
	fi
done
check_eq "$(saved_set)" "3/211" "refused set-dirty changed nothing"

# Close the set (slowly, so the job is still running for the next write).
check dmsetup message vol 0 set-speed 65536
check dmsetup message vol 0 resume
check wchunk 230
check_eq "$(fld 5) $(waits)" "running 3" "after resume a write outside the set passes with no copy"
check_eq "$(saved_set | cut -d/ -f2)" 211 "the set is closed: 230 did not join"
if dmsetup message vol 0 set-dirty 250 1 2>/dev/null; then
	not_ok "set-dirty after the resume accepted"
else
	ok "set-dirty after the resume is refused"
fi
check dmsetup message vol 0 set-speed 0
check_eq "$(bk_wait vol 120)" completed "the job completes"
check_eq "$(saved_set)" "211/211" "every chunk of the set saved"

# Expected destination: the set's chunks from the start, zeroes elsewhere.
check dd if=/dev/zero of=/tmp/want bs=1M count=16 status=none
for run in "5 10" "20 200" "240 1"; do
	set -- $run
	dd if=/tmp/orig of=/tmp/want bs=$CH skip="$1" seek="$1" count="$2" conv=notrunc status=none
done
check_eq "$(dev_digest_at /dev/vdc 0 $((16 << 20)))" "$(digest </tmp/want)" \
	"the destination holds exactly the set's chunks as of the start"
check bk_finish vol
check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "back in passthrough"
check dmsetup remove vol
check rmmod dm_blockjob
finish
