#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 64M --timeout 300
# The dm-blockjob genetlink family refuses unknown commands and bogus
# attributes with an error, as root and as an unprivileged user, and keeps
# working afterwards (vm-run fails the run on any kernel Oops/WARNING).
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"

H=$BJ_TESTS/vm/helpers/bin/nl-strict
[ -x "$H" ] || die "$H not built (make -C userspace helpers)"
check "$H" requests
check setpriv --reuid=1000 --regid=1000 --clear-groups "$H" requests
# Still delivering events after that: a short job's events arrive.
check blockjob create vol /dev/vdb
on_exit "blockjob remove vol 2>/dev/null || dmsetup remove vol 2>/dev/null"
blockjob events vol --json >/tmp/ev.json 2>&1 &
pid=$!
sleep 2
check blockjob mirror vol /dev/vdc --speed 1M
check blockjob cancel vol
sleep 1
kill -INT $pid
wait $pid
check_eq "$(grep -c '"event": "BLOCK_JOB_CANCELLED"' /tmp/ev.json)" 1 "events still delivered afterwards"
check "$H" requests

finish
