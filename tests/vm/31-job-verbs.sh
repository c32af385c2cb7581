#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 256M --timeout 600
# vm-kernel: stock (the CLI's verbs: the pause, resume and speed messages
# they send run on the debug kernel in 24 and 29)
# pause, resume, set-speed change the job's status; refusals are one line
# naming the state; wait --timeout gives up on a paused job (exit 124).
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SRC=/dev/vdb DST=/dev/vdc
check blockjob create vol $SRC
on_exit "blockjob remove vol 2>/dev/null || dmsetup remove vol 2>/dev/null"

field() {	# KEY: a field of `blockjob status vol --json`
	blockjob status vol --json | sed -n "s/.*\"$1\": \"\\{0,1\\}\\([^,\"]*\\).*/\\1/p"
}

# One line on stderr, exit 1: run CMD, compare "stderr|rc" with WANT.
check_err() {	# WANT CMD...
	local want=$1 out rc
	shift
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	check_eq "$out|$rc" "$want|1" "$* -> $want"
}

check_err "blockjob: vol: no job runs on this volume" blockjob pause vol
check_err "blockjob: vol: no job runs on this volume" blockjob set-speed vol 1M
check_err "blockjob: vol: no job runs on this volume" blockjob wait vol --for ready

# 1 MiB/s over 256 MiB: the job stays running for the whole test.
check blockjob mirror vol $DST --speed 1M
check_eq "$(field status)" running "mirror running"
check_eq "$(field speed)" 1048576 "speed 1M"

check blockjob pause vol
check_eq "$(field status)" paused "pause -> paused"
check_eq "$(field paused)" true "paused: true"
check_err "blockjob: vol: pause is not valid in state paused" blockjob pause vol

# list: every volume (sorted), not other dm devices; --json is the status
# objects in an array. A paused job does not move: the two agree.
check dmsetup create other --table "0 2048 zero"
on_exit "blockjob remove pt 2>/dev/null; dmsetup remove other 2>/dev/null"
check blockjob create pt /dev/mapper/other
out=$(blockjob list)
check_eq "$(echo "$out" | awk '{ print $1, $2, $3 }' | tr '\n' ' ')" "NAME MODE STATUS pt passthrough idle vol mirror paused " \
	"list: the volumes, sorted, with mode and status ($out)"
case $(echo "$out" | awk '$1 == "vol" { print $4 }') in
[0-9]*.[0-9]%) ok "list: the mirror's progress" ;;
*) not_ok "list: the mirror's progress ($out)" ;;
esac
check_eq "$(blockjob list --json)" "[$(blockjob status pt --json), $(blockjob status vol --json)]" \
	"list --json: the objects of status --json"
check_eq "$(blockjob status pt --json | grep -o '"type": "none", "status": "idle"')" \
	'"type": "none", "status": "idle"' "list --json: a volume without a job is type none"
check_eq "$(field auto-finalize)/$(field auto-dismiss)/$(blockjob status vol --json | grep -c '"error"')" \
	"true/false/0" "status --json: auto-finalize, auto-dismiss, no error while none"
check_eq "$(dmsetup info -c --noheadings -o uuid vol | cut -c1-13)" BLOCKJOB-VOL- \
	"the volume's DM UUID has the BLOCKJOB- prefix"
check blockjob remove pt
check dmsetup remove other

# wait --timeout on a paused job: exits 124 (as timeout(1)) after about the timeout.
t0=${EPOCHREALTIME/./}
out=$(blockjob wait vol --for ready --timeout 3 2>&1)
rc=$?
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
check_eq "$rc" 124 "wait --timeout exits 124"
check_eq "$out" "blockjob: vol: timed out after 3 s waiting for the job to become ready (it is paused)" \
	"wait --timeout message"
if [ $ms -ge 3000 ] && [ $ms -lt 10000 ]; then ok "timed out after ${ms} ms"; else not_ok "timed out after ${ms} ms"; fi
out=$(blockjob wait vol --for concluded --timeout 0.5 2>&1)
check_eq "$?" 124 "wait --for concluded --timeout 0.5 exits 124"

check blockjob resume vol
check_eq "$(field status)" running "resume -> running"
check_err "blockjob: vol: resume is not valid in state running" blockjob resume vol

check blockjob set-speed vol 128K
check_eq "$(field speed)" 131072 "set-speed 128K"
check blockjob set-speed vol 2M/s
check_eq "$(field speed)" 2097152 "set-speed 2M/s"
out=$(blockjob set-speed vol fast 2>&1)
check_eq "$?" 2 "set-speed with a bad rate is a usage error"
check_eq "$out" "blockjob: invalid rate 'fast': expected bytes per second, e.g. 50M; see 'blockjob set-speed --help'" \
	"bad rate message"
out=$(blockjob wait vol 2>&1)
check_eq "$?" 2 "wait without --for is a usage error"
out=$(blockjob wait vol --for done 2>&1)
check_eq "$?" 2 "wait --for done is a usage error"
out=$(blockjob wait vol --for ready --timeout soon 2>&1)
check_eq "$?" 2 "wait --timeout soon is a usage error"

# Unlimited: becomes ready; wait is woken by the event.
check blockjob set-speed vol 0
check_eq "$(field speed)" 0 "set-speed 0: unlimited"
check blockjob wait vol --for ready --timeout 120
check_eq "$(field status)" ready "ready"
check blockjob pause vol
check_eq "$(field status)" standby "pause a ready job -> standby"
out=$(blockjob wait vol --for ready --timeout 5 2>&1)
check_eq "$?" 0 "wait --for ready accepts standby"
check blockjob resume vol
check_eq "$(field status)" ready "resume -> ready"
check blockjob cancel vol
check_eq "$(field mode)" passthrough "cancel -> passthrough"
check_err "blockjob: vol: no job runs on this volume" blockjob resume vol
check_err "blockjob: no volume named nosuch; see 'dmsetup ls' or 'blockjob create'" blockjob events nosuch

finish
