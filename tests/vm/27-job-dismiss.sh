#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 4 --disk-size 64M --timeout 600
# vm-kernel: stock (userspace only: its kernel paths run on the debug kernel in other tests)
# A concluded job does not block the next one (issue 16, item 12; QEMU's
# auto-dismiss): starting a mirror or a backup on a volume whose job has
# concluded (completed, cancelled, failed) dismisses it first (views
# removed, back to passthrough on the source) and says so; `blockjob
# dismiss NAME` does it alone. Until then status shows the concluded job.
# A job that has not concluded, and a mirror that concluded completed
# (which only `complete` finishes), are never dismissed.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"
SIZE=$((16 << 20)); SECT=$((SIZE / 512))

field() {	# KEY: a field of `blockjob status vol --json`
	blockjob status vol --json | sed -n "s/.*\"$1\": \"\\{0,1\\}\\([^,\"]*\\).*/\\1/p"
}
devnum() {	# NAME: major:minor of a dm device or a disk (vdd)
	if [ -e "/sys/class/block/$1/dev" ]; then
		cat "/sys/class/block/$1/dev"
	else
		dmsetup info -c --noheadings -o major,minor --separator : "$1"
	fi
}
table_mode() {
	dmsetup table vol | awk '{print $4, $5}'
}
# run_err WANT_RC CMD...: run CMD, keep its stderr in $ERR, compare its exit code
run_err() {
	local want=$1 rc
	shift
	ERR=$("$@" 2>&1 >/dev/null)
	rc=$?
	check_eq "$rc" "$want" "$* exits $want${ERR:+ ($ERR)}"
}

check mk_pattern vdb 51 $SIZE
check dmsetup create src --table "0 $SECT linear /dev/vdb 0"
dm_nodes
check blockjob create vol /dev/mapper/src
on_exit "blockjob remove vol 2>/dev/null; dmsetup remove --retry src"

# --- a completed backup, started without --wait -----------------------------
check blockjob backup vol /dev/vdc
check blockjob wait vol --for concluded
check_eq "$(field status) $(field result)" "concluded completed" "status keeps the concluded backup"
check_eq "$(dev_digest /dev/vdc $SIZE)" "$(dev_digest /dev/mapper/vol)" "first backup equals the volume"
check dd if=/dev/urandom of=/dev/mapper/vol bs=64K count=8 seek=10 oflag=direct status=none
run_err 0 blockjob backup vol /dev/vdd --wait
check_eq "$ERR" "blockjob: vol: dismissed the concluded backup job (completed)" \
	"the next backup says it dismissed the first"
check_eq "$(dev_digest /dev/vdd $SIZE)" "$(dev_digest /dev/mapper/vol)" "second backup equals the volume"
check_eq "$(table_mode)" "passthrough $(devnum src)" "back on the source"

# --- a cancelled mirror, then a mirror ------------------------------------
check blockjob mirror vol /dev/vdc --speed 64K
check blockjob cancel vol --no-wait
check_eq "$(field status) $(field result)" "concluded cancelled" "status keeps the cancelled mirror"
run_err 0 blockjob mirror vol /dev/vdd --wait
check_eq "$ERR" "blockjob: vol: dismissed the concluded mirror job (cancelled)" \
	"the next mirror says it dismissed the cancelled one"
check_eq "$(field status)" ready "the new mirror is ready"

# --- never dismissed: a live job, a completed mirror ----------------------
run_err 1 blockjob dismiss vol
check_eq "$ERR" "blockjob: the mirror job on vol is ready; cancel it first ('blockjob cancel vol')" \
	"dismiss of a live job: why"
run_err 1 blockjob backup vol /dev/vdc
case $ERR in *"is ready; cancel it first"*) ok "no job starts over a live one" ;; *) not_ok "$ERR" ;; esac
check dmsetup message vol 0 complete
check dmsetup load vol --table "0 $SECT blockjob passthrough $(devnum vdd) 0"
check dmsetup suspend vol
check_eq "$(field status) $(field result)" "concluded completed" "mid-pivot: concluded completed"
# Only visible mid-pivot (suspended, the pivot's table loaded): dismiss
# refuses the half-switched volume before anything else.
run_err 1 blockjob dismiss vol
check_eq "$ERR" "blockjob: vol is suspended and has a table loaded but not active (a blockjob command was interrupted, or someone else is reloading it); 'blockjob recover vol' brings it back" \
	"a completed mirror is not dismissed onto the source"
check dmsetup resume vol
check_eq "$(table_mode)" "passthrough $(devnum vdd)" "the pivot went on"
check_eq "$(dev_digest /dev/mapper/vol)" "$(dev_digest /dev/mapper/src)" "pivoted volume equals the source"

# --- dismiss alone: a cancelled backup with a view --------------------------
check blockjob remove vol
check blockjob create vol /dev/mapper/src
check blockjob backup vol /dev/vdc --sync none --view pit
check test -b /dev/mapper/pit
check dmsetup message vol 0 cancel
run_err 0 blockjob dismiss vol
check_eq "$(table_mode)" "passthrough $(devnum src)" "dismiss: back on the source"
if [ -e /dev/mapper/pit ] || dmsetup info pit >/dev/null 2>&1; then
	not_ok "dismiss left the view"
else
	ok "dismiss removed the view"
fi
run_err 0 blockjob dismiss vol
check_eq "$ERR" "" "dismiss on a passthrough volume: nothing to do, no message"
check blockjob remove vol
check rmmod dm_blockjob
finish
