#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 256M --timeout 600
# vm-kernel: stock (userspace only: its kernel paths run on the debug kernel in other tests)
# CLI names and exit codes (issue 16, items 13 and 14). /dev/mapper/NAME is
# taken wherever NAME is: status, mirror, pause, resume, set-speed, wait,
# events (which filter on the kernel's name: the stream of /dev/mapper/vol
# shows vol's events), cancel, dismiss, recover, complete, bitmap, remove.
# A NAME with '/' or of 128 bytes is refused up front: exit 2, one line
# (127 bytes is taken).
# Errors in the command line exit 2 with one line; failures exit 1; wait
# --timeout expiring exits 124 with its message; --timeout takes 30 days
# and refuses more than a year. A qcow2 device name NAME-qcow2[-N] too long
# for dm is refused before anything is made, never truncated.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"
modprobe dm-zero

SRC=/dev/vdb DST=/dev/vdc M=/dev/mapper/vol
check blockjob create vol $SRC
on_exit "blockjob remove vol 2>/dev/null || dmsetup remove vol 2>/dev/null"
dm_nodes

field() {	# KEY: a field of `blockjob status /dev/mapper/vol --json`
	blockjob status $M --json | sed -n "s/.*\"$1\": \"\\{0,1\\}\\([^,\"]*\\).*/\\1/p"
}

# exits RC WHAT CMD...: CMD exits RC with one line on stderr and nothing on stdout
exits() {
	local want=$1 what=$2 rc
	shift 2
	"$@" >/tmp/out 2>/tmp/err
	rc=$?
	if [ "$rc" = "$want" ] && [ "$(wc -l </tmp/err)" = 1 ] && [ ! -s /tmp/out ]; then
		ok "$what: exit $rc: $(cat /tmp/err)"
	else
		not_ok "$what: exit $rc, want $want with one line; stdout $(wc -c </tmp/out) bytes; stderr: $(head -c 600 /tmp/err | tr '\n' '|')"
	fi
}

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
	not_ok "pid $1 never joined the event group"
}

# --- /dev/mapper/NAME everywhere ---------------------------------------------
check_eq "$(field device)" vol "status /dev/mapper/vol --json: device is the dm name"
check_eq "$(blockjob status $M)" "vol: passthrough, no job, 256 MiB" "status /dev/mapper/vol"

# The event stream of /dev/mapper/vol, read through a FIFO: each state change
# is waited for with read -t, no sleeps.
mkfifo /tmp/ev.fifo
blockjob events $M --json >/tmp/ev.fifo 2>/tmp/ev.err &
EV=$!
on_exit "kill $EV"
exec 3</tmp/ev.fifo
wait_subscribed $EV
EV_LOST=0
next_event() {	# EV_LINE: the next event other than progress, within 20 s
	local end=$((SECONDS + 20))
	EV_LINE=
	[ $EV_LOST = 0 ] || return 1	# the stream fell silent once: do not wait again
	while [ $SECONDS -lt $end ]; do
		IFS= read -r -t $((end - SECONDS)) -u 3 EV_LINE || break
		case $EV_LINE in *'"event": "BLOCK_JOB_PROGRESS"'*) continue ;; esac
		return 0
	done
	EV_LINE=
	EV_LOST=1
	return 1
}
expect_event() {	# EVENT STATUS WHAT: the next event is EVENT of vol with STATUS
	local e
	next_event
	e=$EV_LINE
	case $e in
	'{"event": "'"$1"'"'*) ;;
	*) e="wrong:$e" ;;
	esac
	case $e in
	*'"device": "vol"'*) ;;
	*) e="wrong:$e" ;;
	esac
	case $e in
	wrong:*) ;;
	*'"status": "'"$2"'"'*) ok "events /dev/mapper/vol: $3: $1 $2"; return ;;
	esac
	not_ok "events /dev/mapper/vol: $3: want $1 $2 of vol, got '${e:-nothing in 20 s}'"
}

# 1 MiB/s over 256 MiB: the job stays running until the speed is lifted.
check blockjob mirror $M $DST --speed 1M
check_eq "$(field status)" running "mirror /dev/mapper/vol: running"
check blockjob pause $M
expect_event JOB_STATUS_CHANGE paused "pause"
check_eq "$(field status)" paused "pause /dev/mapper/vol: paused"

# wait --timeout on the paused job: 124, as timeout(1), the message unchanged.
t0=${EPOCHREALTIME/./}
exits 124 "wait /dev/mapper/vol --for ready --timeout 1 on a paused job" \
	blockjob wait $M --for ready --timeout 1
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
check_eq "$(cat /tmp/err)" "blockjob: vol: timed out after 1 s waiting for the job to become ready (it is paused)" \
	"wait --timeout message names vol"
if [ $ms -ge 1000 ] && [ $ms -lt 8000 ]; then ok "timed out after $ms ms"; else not_ok "timed out after $ms ms"; fi
exits 124 "wait --for concluded --timeout 0.2 on a paused job" blockjob wait $M --for concluded --timeout 0.2

check blockjob resume $M
expect_event JOB_STATUS_CHANGE running "resume"
check blockjob set-speed $M 64M
check_eq "$(field speed)" 67108864 "set-speed /dev/mapper/vol 64M"
check blockjob set-speed $M 0
check blockjob wait $M --for ready --timeout 120
expect_event JOB_STATUS_CHANGE ready "ready"
expect_event BLOCK_JOB_READY ready "ready"

# 30 days: taken (a ready job: at once); over a year, negative: usage errors.
t0=${EPOCHREALTIME/./}
check blockjob wait $M --for ready --timeout 2592000
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
if [ $ms -lt 5000 ]; then ok "wait --timeout 2592000 on a ready job: at once ($ms ms)"; else not_ok "wait --timeout 2592000 took $ms ms"; fi
check blockjob wait $M --for ready --timeout 31536000
exits 2 "wait --timeout 31536001 (over 365 days)" blockjob wait $M --for ready --timeout 31536001
exits 2 "wait --timeout -1" blockjob wait $M --for ready --timeout -1
exits 2 "wait --timeout abc" blockjob wait $M --for ready --timeout abc

check blockjob bitmap add $M b1
check_eq "$(blockjob bitmap list $M --json | grep -c '"name": "b1"')" 1 "bitmap add/list /dev/mapper/vol"
check blockjob bitmap remove $M b1

check blockjob cancel $M
expect_event JOB_STATUS_CHANGE concluded "cancel"
expect_event BLOCK_JOB_CANCELLED concluded "cancel"
check_eq "$(field mode)" passthrough "cancel /dev/mapper/vol: back in passthrough"
check blockjob dismiss $M
check_eq "$(blockjob recover $M 2>&1)" "vol: nothing to recover" "recover /dev/mapper/vol (the lock of vol)"

# wait --for concluded on /dev/mapper/vol while complete switches the volume
# back to passthrough: the COMPLETED event of vol gives the result.
check blockjob mirror $M $DST
check blockjob wait $M --for ready --timeout 120
expect_event JOB_STATUS_CHANGE ready "second mirror ready"
expect_event BLOCK_JOB_READY ready "second mirror ready"
blockjob wait $M --for concluded --timeout 60 >/tmp/wait.out 2>&1 &
wpid=$!
wait_subscribed $wpid
check blockjob complete $M
wait $wpid
check_eq "$?" 0 "wait /dev/mapper/vol --for concluded across complete exits 0"
check_eq "$(cat /tmp/wait.out)" "vol: mirror job completed" "wait prints vol's completion"
expect_event JOB_STATUS_CHANGE concluded "complete"
expect_event BLOCK_JOB_COMPLETED concluded "complete"

kill -TERM $EV
wait $EV
check_eq "$?" 0 "events /dev/mapper/vol exits 0 on SIGTERM"
exec 3<&-
check_eq "$(cat /tmp/ev.err)" "" "no warnings from the stream"

# --- names refused up front: exit 2, one line; failures exit 1 --------------
N127=$(printf 'n%.0s' $(seq 127))
N128=${N127}n
exits 2 "status: a NAME with '/'" blockjob status vg/vol
exits 2 "pause: a device path outside /dev/mapper" blockjob pause $SRC
exits 2 "resume: /dev/mapper/a/b" blockjob resume /dev/mapper/a/b
exits 2 "set-speed: a NAME with '/'" blockjob set-speed ../vol 1M
exits 2 "wait: a NAME with '/'" blockjob wait a/b --for ready
exits 2 "events: a NAME with '/'" blockjob events a/b --json
exits 2 "cancel: a NAME with '/'" blockjob cancel /dev/vol
exits 2 "dismiss: a NAME with '/'" blockjob dismiss a/b
exits 2 "recover: a device path outside /dev/mapper" blockjob recover $SRC
exits 2 "create: a 128-byte NAME" blockjob create $N128 $SRC
exits 2 "status: a 128-byte NAME" blockjob status $N128
exits 2 "events: /dev/mapper/ and a 128-byte NAME" blockjob events /dev/mapper/$N128
exits 2 "mirror: a 128-byte NAME" blockjob mirror $N128 $SRC
check_eq "$(grep -c "127" /tmp/err)" 1 "the refusal says the limit (127 bytes)"
check blockjob create /dev/mapper/$N127 $SRC
dm_nodes
check_eq "$(blockjob status /dev/mapper/$N127 --json | sed -n 's/^{"device": "\([^"]*\)".*/\1/p')" "$N127" \
	"a 127-byte NAME is taken"
check blockjob remove /dev/mapper/$N127
exits 1 "status of a missing volume (a failure)" blockjob status novol
exits 1 "pause without a job (a failure)" blockjob pause $M
exits 1 "events of a missing volume (a failure)" blockjob events /dev/mapper/novol

# --- usage errors: exit 2, one line -------------------------------------------
exits 2 "status: unknown option" blockjob status --bogus vol
exits 2 "status: missing NAME" blockjob status
exits 2 "pause: missing NAME" blockjob pause
exits 2 "resume: an extra argument" blockjob resume vol extra
exits 2 "set-speed: a bad rate" blockjob set-speed vol fast
exits 2 "set-speed: missing RATE" blockjob set-speed vol
exits 2 "wait: unknown option" blockjob wait vol --for ready --bogus
exits 2 "wait: --timeout without a value" blockjob wait vol --for ready --timeout
exits 2 "wait: missing --for" blockjob wait vol
exits 2 "cancel: unknown option" blockjob cancel --bogus vol
exits 2 "events: unknown option" blockjob events --bogus
exits 2 "events: two NAMEs" blockjob events vol vol2
exits 2 "create: unknown option" blockjob create vol2 --bogus
exits 2 "create: missing DEVICE" blockjob create vol2
exits 2 "remove: missing NAME" blockjob remove
exits 2 "complete: unknown option" blockjob complete -x vol
exits 2 "mirror: missing TARGET" blockjob mirror vol
exits 2 "mirror: a bad --speed" blockjob mirror vol $SRC --speed fast
exits 2 "backup: a bad --chunk-size" blockjob backup vol $SRC --chunk-size 3K
exits 2 "backup: --sync incremental without --bitmap" blockjob backup vol $SRC --sync incremental
exits 2 "bitmap: a bad --granularity" blockjob bitmap add vol b2 --granularity 3K
exits 2 "bitmap: a bad bitmap name" blockjob bitmap add vol "b 2"
exits 2 "qcow2 attach: missing IMAGE" blockjob qcow2 attach vol
exits 2 "an unknown command" blockjob frobnicate vol
check_eq "$(blockjob status vol --json | sed -n 's/.*"bitmaps": \([0-9]*\).*/\1/p')" 0 "nothing was added by the refusals"

# --- qcow2 device names: never truncated ------------------------------------
# The guest has no qemu-img: a qcow2 TARGET that passes the name check fails
# on creating the image; one that does not is refused before that.
Q110=$(printf 'q%.0s' $(seq 110))
Q106=$(printf 'r%.0s' $(seq 106))
check blockjob create $Q110 $SRC
exits 1 "mirror to a qcow2 image, NAME of 110 bytes" blockjob mirror $Q110 /tmp/t.qcow2
case $(cat /tmp/err) in
*"too long for its qcow2 device NAME-qcow2:"*"use a volume NAME of at most 107 bytes"*)
	ok "NAME-qcow2 too long: refused, saying the longest NAME" ;;
*) not_ok "NAME-qcow2 too long: $(cat /tmp/err)" ;;
esac
exits 1 "backup to a qcow2 image, NAME of 110 bytes" blockjob backup $Q110 /tmp/t.qcow2
grep -q "too long for its qcow2 device NAME-qcow2:" /tmp/err && ok "backup: refused for the name" || not_ok "backup: $(cat /tmp/err)"
[ ! -e /tmp/t.qcow2 ] && ok "no image was made" || not_ok "an image was made: $(ls -l /tmp/t.qcow2)"
check_eq "$(dmsetup ls | grep -c -- -qcow2)" 0 "no qcow2 device was made"
check_eq "$(blockjob status $Q110 --json | sed -n 's/.*"mode": "\([a-z]*\)".*/\1/p')" passthrough \
	"the volume is untouched"
check blockjob remove $Q110
exits 2 "qcow2 attach, NAME of 110 bytes (NAME-qcow2 cannot be made)" blockjob qcow2 attach $Q110 /tmp/none.qcow2
exits 2 "qcow2 attach, NAME of 122 bytes" blockjob qcow2 attach "${Q110}qqqqqqqqqqqq" /tmp/none.qcow2

# NAME-qcow2 fits but is taken; NAME-qcow2-1 would be 114 bytes: refused
check blockjob create $Q106 $SRC
if ! command -v qemu-img >/dev/null; then
	exits 1 "mirror to a qcow2 image, NAME of 106 bytes: NAME-qcow2 fits (then no qemu-img)" \
		blockjob mirror $Q106 /tmp/t.qcow2
	grep -q "qemu-img not found" /tmp/err && ok "NAME-qcow2 of 112 bytes passes the check" ||
		not_ok "NAME of 106 bytes: $(cat /tmp/err)"
fi
check dmsetup create "$Q106-qcow2" --table "0 8 zero"
exits 1 "mirror to a qcow2 image when NAME-qcow2 is taken: NAME-qcow2-1 too long" \
	blockjob mirror $Q106 /tmp/t.qcow2
grep -q "too long for its qcow2 device NAME-qcow2-1:" /tmp/err && ok "NAME-qcow2-1: refused, not truncated" ||
	not_ok "NAME-qcow2-1: $(cat /tmp/err)"
check_eq "$(dmsetup ls | grep -c -- -qcow2)" 1 "no other qcow2 device was made"
check dmsetup remove "$Q106-qcow2"
check blockjob remove /dev/mapper/$Q106

check blockjob remove $M
finish
