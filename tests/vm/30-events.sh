#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 256M --timeout 600
# vm-kernel: stock (its kernel path, the job events sent to subscribers, runs on
# the debug kernel in every test that waits with `blockjob wait` or --wait:
# those waits subscribe to the same events. Runs there by name: run-vm-tests
# --kernel debug 30)
# Job events: `blockjob events --json` sees a mirror's events in order
# (JOB_STATUS_CHANGE ready, BLOCK_JOB_READY, ..., BLOCK_JOB_COMPLETED) with
# QEMU's shape; progress events while copying; the text stream filtered by
# NAME; cancel (event-driven wait, back to passthrough) and BLOCK_JOB_CANCELLED;
# `wait --for concluded` / `--for ready` on a cancelled job; clean exit on
# SIGINT and SIGTERM.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SRC=/dev/vdb DST=/dev/vdc
mk_pattern $SRC 1
check blockjob create vol $SRC
on_exit "blockjob remove vol 2>/dev/null || dmsetup remove vol 2>/dev/null"
modprobe loop
truncate -s 16M /tmp/other.img
LOOP=$(losetup -f --show /tmp/other.img) || die "losetup"
on_exit "losetup -d $LOOP"
check blockjob create other "$LOOP"
on_exit "blockjob remove other 2>/dev/null || dmsetup remove other 2>/dev/null"

# Start a subscriber and wait until it holds its netlink socket and has joined.
start_events() {	# OUT ARGS...
	local out=$1 i
	shift
	blockjob events "$@" >"$out" 2>"$out.err" &
	EV_PID=$!
	for i in $(seq 50); do
		ls -l /proc/$EV_PID/fd 2>/dev/null | grep 'socket:' >/dev/null && break
		sleep 0.1
	done
	sleep 1
}

stop_events() {	# SIGNAL
	local rc
	kill -"$1" $EV_PID
	wait $EV_PID
	rc=$?
	check_eq "$rc" 0 "blockjob events exits 0 on SIG$1"
	EV_PID=""
}

events_of() {
	sed -n 's/^{"event": "\([A-Z_]*\)".*/\1/p' "$1"
}

# 1. A mirror: ready, then complete. Progress at 64 MiB/s over 256 MiB.
start_events /tmp/ev.json --json
E1=$EV_PID
start_events /tmp/ev.txt vol
E2=$EV_PID
start_events /tmp/ev-other.txt other
E3=$EV_PID
check blockjob mirror vol $DST --speed 64M
check blockjob wait vol --for ready --timeout 120
check blockjob complete vol
sleep 1
EV_PID=$E1 stop_events INT
EV_PID=$E2 stop_events TERM
EV_PID=$E3 stop_events INT

seq_all=$(events_of /tmp/ev.json | tr '\n' ' ')
echo "# events: $seq_all"
seq_main=$(events_of /tmp/ev.json | grep -v PROGRESS | tr '\n' ' ')
check_eq "$seq_main" "JOB_STATUS_CHANGE BLOCK_JOB_READY JOB_STATUS_CHANGE BLOCK_JOB_COMPLETED " \
	"state events in order: status change, READY, status change, COMPLETED"
case " $seq_all" in
*" BLOCK_JOB_PROGRESS "*) ok "progress events while copying" ;;
*) not_ok "no BLOCK_JOB_PROGRESS while copying at 64M/s" ;;
esac
ready=$(grep '"BLOCK_JOB_READY"' /tmp/ev.json)
case "$ready" in
*'"data": {"device": "vol", "type": "mirror", "len": 268435456, "offset": 268435456, "speed": 67108864, "status": "ready"}}')
	ok "READY data: device, type, len, offset = len, speed" ;;
*) not_ok "READY data: $ready" ;;
esac
case "$ready" in
'{"event": "BLOCK_JOB_READY", "timestamp": {"seconds": '[0-9]*', "microseconds": '[0-9]*'}, "data": '*)
	ok "READY has QEMU's timestamp shape" ;;
*) not_ok "READY timestamp: $ready" ;;
esac
check_eq "$(grep '"JOB_STATUS_CHANGE"' /tmp/ev.json | sed -n 's/.*"data": {"id": "vol", "status": "\([a-z]*\)".*/\1/p' | tr '\n' ' ')" \
	"ready concluded " "JOB_STATUS_CHANGE carries id and status"
completed=$(grep '"BLOCK_JOB_COMPLETED"' /tmp/ev.json)
case "$completed" in
*'"device": "vol", "type": "mirror", "len": 268435456, "offset": 268435456'*'"status": "concluded"}}')
	ok "COMPLETED data, no error" ;;
*) not_ok "COMPLETED data: $completed" ;;
esac
# Timestamps never go back.
if events_of /tmp/ev.json >/dev/null &&
	sed -n 's/.*"seconds": \([0-9]*\), "microseconds": \([0-9]*\).*/\1 \2/p' /tmp/ev.json |
	awk '{ t = $1 * 1000000 + $2; if (t < last) exit 1; last = t }'; then
	ok "timestamps increase"
else
	not_ok "timestamps go back"
fi
# Text stream for NAME: same events, readable lines.
check_eq "$(grep -c ' vol BLOCK_JOB_READY: mirror ready, 256 MiB of 256 MiB (100.0%)' /tmp/ev.txt)" 1 \
	"text stream has the READY line"
check_eq "$(grep -v PROGRESS /tmp/ev.txt | wc -l)" 4 "text stream: 4 state events for vol"
check_eq "$(wc -c </tmp/ev-other.txt)" 0 "a stream filtered on another volume stays empty"
check_eq "$(cat /tmp/ev.json.err /tmp/ev.txt.err)" "" "no warnings from the streams"
blockjob remove vol
blockjob remove other

# 2. cancel: waits for the conclusion (event-driven) and goes back to passthrough.
check blockjob create vol $SRC
start_events /tmp/ev2.json vol --json
check blockjob mirror vol $DST --speed 4M
sleep 1
t0=${EPOCHREALTIME/./}
check blockjob cancel vol
t1=${EPOCHREALTIME/./}
echo "# cancel took $(((t1 - t0) / 1000)) ms"
check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "volume back in passthrough after cancel"
check_eq "$(vol_origin)" "$(dev_num $SRC)" \
	"cancel keeps the volume on its source"
sleep 1
stop_events INT
check_eq "$(events_of /tmp/ev2.json | grep -v PROGRESS | tr '\n' ' ')" \
	"JOB_STATUS_CHANGE BLOCK_JOB_CANCELLED " "cancel: status change, then BLOCK_JOB_CANCELLED"
check_eq "$(blockjob cancel vol 2>&1; echo "rc=$?")" "blockjob: vol: no job runs on this volume
rc=1" "cancel on a passthrough volume: one line, exit 1"

# 3. cancel --no-wait, then wait --for concluded: exit 1 and the result printed;
#    wait --for ready on it: exit 1; cancel then switches back.
check blockjob mirror vol $DST --speed 4M
check blockjob cancel vol --no-wait
out=$(blockjob wait vol --for concluded --timeout 30 2>&1)
rc=$?
check_eq "$rc" 1 "wait --for concluded on a cancelled job exits 1"
check_eq "$out" "blockjob: vol: mirror job cancelled" "wait prints the result"
out=$(blockjob wait vol --for ready --timeout 30 2>&1)
rc=$?
check_eq "$rc" 1 "wait --for ready on a cancelled job exits 1"
case "$out" in
"blockjob: vol: the mirror job concluded (cancelled) without becoming ready") ok "wait --for ready says why" ;;
*) not_ok "wait --for ready message: $out" ;;
esac
check_eq "$(blockjob cancel vol --no-wait 2>&1 | grep -c 'already concluded')" 1 \
	"cancel --no-wait on a concluded job refuses"
check blockjob cancel vol
check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "cancel finishes a concluded job"

# 4. wait --for concluded exits 0 when completed (and prints it), racing the
#    event: complete switches the volume back to passthrough, possibly before
#    wait read the status; the queued COMPLETED event then gives the result.
#    complete runs once wait has joined the multicast group (it subscribes
#    before it reads the status), with and without a pause, so both orders
#    are tried.
wait_subscribed() {	# PID: until one of its netlink sockets is in a group
	local i ino
	for i in $(seq 200); do
		for ino in $(ls -l /proc/$1/fd 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p'); do
			# /proc/net/netlink: sk Eth Pid Groups ... Inode
			awk -v ino="$ino" '$NF == ino && $4 != "00000000" { f = 1 } END { exit !f }' \
				/proc/net/netlink && return 0
		done
		sleep 0.05
	done
	not_ok "blockjob wait (pid $1) never joined the event group"
}
to=$DST		# each pass pivots the volume; the next mirrors it back
for pause in 0 1; do
	check blockjob mirror vol $to
	check blockjob wait vol --for ready --timeout 120
	blockjob wait vol --for concluded --timeout 60 >/tmp/wait.out 2>&1 &
	wpid=$!
	wait_subscribed $wpid
	sleep $pause
	check blockjob complete vol
	wait $wpid
	rc=$?
	check_eq "$rc" 0 "wait --for concluded exits 0 on completion (pause $pause)"
	check_eq "$(cat /tmp/wait.out)" "vol: mirror job completed" "wait prints the completion (pause $pause)"
	to=$SRC
done
blockjob remove vol

finish
