#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 4 --disk-size 64M --timeout 600
# vm-kernel: stock (what it interrupts is the CLI; the kernel paths it meets, a
# suspend with writes held and an inactive table dropped, run on the debug
# kernel in 26, 29, 45, 47, 48, 50 and 70. Runs there by name:
# run-vm-tests --kernel debug 28)
# Commands interrupted half-way through a table switch, and two commands at
# once (issue 16, items 10 and 11). A write held in the source (suspended
# without flushing) keeps `blockjob complete` inside its suspend for as long
# as the test wants:
#  - SIGINT and SIGTERM then wait for the switch to finish: the pivot
#    completes and only then does the command die of the signal;
#  - SIGKILL cannot wait: the volume is left with a table loaded but not
#    active; every command that would change the volume refuses it, naming
#    `blockjob recover`, which drops that table (the mirror goes on);
#  - a kill after the suspend (left suspended, pivot concluded): recover
#    finishes the pivot; a job start killed after its suspend: recover
#    undoes it;
#  - a second command on the volume waits for the first (saying for which
#    pid) and then acts on what the first left.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/mirror-lib.sh"
load_blockjob || die "modprobe dm-blockjob"
SRC=/dev/vdb DST=/dev/vdc
SIZE=$((16 << 20)); SECT=$((SIZE / 512))

table_mode() {
	dmsetup table vol | awk '{print $4, $5}'
}
# dm_flags: "suspended inactive", each yes or no
dm_flags() {
	local s i
	s=$(dmsetup info -c --noheadings -o suspended vol)
	if dmsetup info vol | grep 'Tables present:.*INACTIVE' >/dev/null; then i=yes; else i=no; fi
	[ "$s" = Suspended ] && echo "yes $i" || echo "no $i"
}

on_exit ml_teardown

# data_ok WHAT: the volume reads as the source (the pivot's destination
# holds every write, the source too)
data_ok() {
	check_eq "$(dev_digest /dev/mapper/vol)" "$(dev_digest /dev/mapper/src)" "$1: the volume's data"
}

# --- SIGINT and SIGTERM wait for the switch ----------------------------------
for sig in INT TERM; do
	ml_setup 61
	check blockjob mirror vol /dev/mapper/dst --wait
	ml_hold_write
	# With job control, so that the background command does not start with
	# SIGINT ignored (as a non-interactive shell starts it).
	set -m
	blockjob complete vol 2>/tmp/complete.err &
	pid=$!
	set +m
	if ml_in_suspend $pid; then ok "SIG$sig: complete is in its suspend"; else not_ok "SIG$sig: complete not in its suspend"; fi
	kill -$sig $pid
	ml_release_write
	wait $pid
	rc=$?
	check_eq "$rc" $((128 + $(kill -l $sig))) "SIG$sig: complete died of the signal after the switch"
	check_eq "$(dm_flags)" "no no" "SIG$sig: vol neither suspended nor half-loaded"
	check_eq "$(table_mode)" "passthrough $(ml_devnum dst)" "SIG$sig: the pivot completed"
	data_ok "SIG$sig"
	ml_teardown
done

# --- SIGKILL: a table left loaded; refusals; recover -------------------------
ml_setup 62
check blockjob mirror vol /dev/mapper/dst --wait
ml_hold_write
blockjob complete vol 2>/dev/null &
pid=$!
if ml_in_suspend $pid; then ok "SIGKILL: complete is in its suspend"; else not_ok "SIGKILL: complete not in its suspend"; fi
kill -KILL $pid
wait $pid
ml_release_write
check_eq "$(dm_flags)" "no yes" "SIGKILL: the pivot's table is left loaded, not active"
for cmd in "complete vol" "cancel vol" "dismiss vol" "backup vol /dev/vdd"; do
	out=$(blockjob $cmd 2>&1)
	rc=$?
	check_eq "$rc|$out" "1|blockjob: vol has a table loaded but not active (a blockjob command was interrupted, or someone else is reloading it); 'blockjob recover vol' brings it back" \
		"blockjob $cmd refuses the half-loaded volume"
done
check_eq "$(blockjob recover vol)" "vol: dropped the table that was loaded but not active" "recover says what it did"
check_eq "$(dm_flags) $(ml_state)" "no no ready -" "recover: the mirror goes on, ready"
check_eq "$(blockjob recover vol)" "vol: nothing to recover" "recover again: nothing to do"
check blockjob complete vol
check_eq "$(table_mode)" "passthrough $(ml_devnum dst)" "SIGKILL: pivoted after recover"
data_ok "SIGKILL"
ml_teardown

# --- killed after the suspend: recover finishes the pivot --------------------
ml_setup 63
check blockjob mirror vol /dev/mapper/dst --wait
check dmsetup message vol 0 complete
check dmsetup load vol --table "0 $SECT blockjob passthrough /dev/mapper/dst 0"
check dmsetup suspend vol
check_eq "$(dm_flags) $(ml_state)" "yes yes concluded completed" "left suspended, the pivot's table loaded"
out=$(blockjob cancel vol 2>&1)
check_eq "$?|$out" "1|blockjob: vol is suspended and has a table loaded but not active (a blockjob command was interrupted, or someone else is reloading it); 'blockjob recover vol' brings it back" \
	"cancel refuses the half-switched volume"
check_eq "$(blockjob recover vol)" "vol: finished the pivot: the volume is on the mirror's destination" \
	"recover finishes the pivot"
check_eq "$(dm_flags) $(table_mode)" "no no passthrough $(ml_devnum dst)" "pivoted"
data_ok "recovered pivot"
ml_teardown

# --- a job start killed after its suspend: recover undoes it -----------------
ml_setup 64
check dmsetup load vol --table "0 $SECT blockjob mirror /dev/mapper/src 0 /dev/mapper/dst 0 128 0"
check dmsetup suspend vol
check_eq "$(blockjob recover vol)" "vol: dropped the table that was loaded but not active and resumed the volume" \
	"recover drops a mirror start left loaded"
check_eq "$(dm_flags) $(table_mode)" "no no passthrough $(ml_devnum src)" "back on the source"
check dmsetup suspend vol
check_eq "$(blockjob recover vol)" "vol: resumed the volume" "recover resumes a volume left suspended"
check_eq "$(dm_flags)" "no no" "resumed"
ml_teardown

# --- two commands at once -----------------------------------------------------
ml_setup 65
check blockjob mirror vol /dev/mapper/dst --wait
ml_hold_write
blockjob complete vol 2>/dev/null &
first=$!
ml_in_suspend $first || not_ok "complete not in its suspend"
blockjob dismiss vol 2>/tmp/second.err &
second=$!
for ((i = 0; i < 600; i++)); do
	grep -q waiting /tmp/second.err && break
	sleep 0.1
done
check_eq "$(cat /tmp/second.err)" "blockjob: vol: waiting for another blockjob command (pid $first) to finish with it" \
	"the second command waits for the first, naming it"
ml_release_write
wait $first
check_eq "$?" 0 "the first command (complete) succeeded"
wait $second
check_eq "$?" 0 "the second command (dismiss) then found the volume in passthrough"
check_eq "$(table_mode)" "passthrough $(ml_devnum dst)" "pivoted once"
data_ok "two commands"
ml_teardown

check rmmod dm_blockjob
finish
