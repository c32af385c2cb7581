#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 256M --timeout 600
# vm-kernel: stock (userspace only: the bench's timer; the events it waits
# for are tested on the debug kernel in 30)
# dm-watch, the bench's timer (tests/vm/helpers/dm-watch.c): it reports the
# moment a device's status first matches (woken by the dm event the job
# raises), its failure pattern, its time limit and bad input; and it is
# there before the clock starts when the device has no table yet.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"
modprobe -a dm-mirror dm-log dm-region-hash || die "modprobe dm-mirror"
W=$BJ_TESTS/vm/helpers/bin/dm-watch
SRC=/dev/vdb DST=/dev/vdc
SECT=$(($(dev_size $SRC) / 512))
now_us() { local t=$EPOCHREALTIME; echo $((${t%.*} * 1000000 + 10#${t#*.})); }
on_exit "dmsetup remove_all 2>/dev/null"

# watched NAME TABLE PATTERN...: create NAME without a table, start dm-watch
# on it (-t 120, output in /tmp/w.out, pid WPID), load TABLE and resume
# (T0: just before the resume).
watched() {
	local name=$1 table=$2
	shift 2
	check dmsetup create "$name" --notable
	"$W" -t 120 "$name" "$@" >/tmp/w.out &
	WPID=$!
	check dmsetup load "$name" --table "$table"
	T0=$(now_us)
	check dmsetup resume "$name"
}

# Bad input: exit 1, one line.
out=$("$W" 2>&1); check_eq "$?" 1 "no arguments: exit 1"
check_eq "$(echo "$out" | wc -l)" 1 "no arguments: one line"
"$W" nosuchdev x >/dev/null 2>&1; check_eq "$?" 1 "missing device: exit 1"
"$W" -t 0 nosuchdev x >/dev/null 2>&1; check_eq "$?" 1 "-t 0: exit 1"

# A status that already matches: at once.
check dmsetup create lin --table "0 $SECT linear $SRC 0"
out=$("$W" lin ' linear ')
check_eq "$?" 0 "matching status: exit 0"
check_eq "${out#* }" "$(dmsetup status lin)" "prints the status as dmsetup does"

# No match within -t: exit 3 after about the limit.
t0=$(now_us)
"$W" -t 0.5 lin ' nothing ' >/dev/null
check_eq "$?" 3 "no match within -t 0.5: exit 3"
t=$(( ($(now_us) - t0) / 1000 ))
check_eq "$((t >= 500 && t < 5000))" 1 "gave up after the limit (${t} ms)"
check dmsetup remove lin

# A mirror watched from before its resume (device created without a table):
# the reported time falls between the resume and the moment the status was
# read as ready, and the job is ready then.
watched vol "0 $SECT blockjob mirror $SRC 0 $DST 0 128 2 speed 33554432" \
	' mirror ready ' ' concluded '
wait $WPID
check_eq "$?" 0 "watched mirror: exit 0 at ready"
t1=$(now_us)
read -r tw st </tmp/w.out
check_eq "$((tw >= T0 && tw <= t1))" 1 "match time between resume and exit"
case $st in *" mirror ready "*) ok "status at the match says ready" ;; *) not_ok "status at the match: $st" ;; esac
# 256 MiB at 32 MiB/s: about 8 s; a timer that fired at once would say less.
ms=$(((tw - T0) / 1000))
check_eq "$((ms > 4000))" 1 "ready after the copy's time ($ms ms)"

# The failure pattern wins over waiting: a cancelled job concludes.
check dmsetup remove vol
watched vol "0 $SECT blockjob mirror $SRC 0 $DST 0 128 2 speed 1048576" \
	' mirror ready ' ' concluded '
check dmsetup message vol 0 cancel
wait $WPID
check_eq "$?" 2 "cancelled job: exit 2 (failure pattern)"
check_eq "$(cut -c1-7 </tmp/w.out)" "failed:" "says failed"
check dmsetup remove vol

# Back-references (the bench's dm-raid1 "in sync" pattern: x/x).
watched r1 "0 $SECT mirror core 1 1024 2 $SRC 0 $DST 0" \
	'^[0-9]+ [0-9]+ mirror 2 [^ ]+ [^ ]+ ([0-9]+)/\1 '
wait $WPID
check_eq "$?" 0 "dm-raid1 in sync: exit 0"
read -r _ st </tmp/w.out
sync_field=$(echo "$st" | awk '{print $7}')
check_eq "${sync_field%/*}" "${sync_field#*/}" "matched status is in sync ($sync_field)"
check dmsetup remove r1
finish
