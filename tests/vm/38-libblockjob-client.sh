#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 64M --timeout 600
# vm-kernel: stock (libblockjob's API as a client uses it; the mirror, its
# events and the pivot run on the debug kernel in 20 and 30)
# The example client Documentation/examples/mirror-client.c, built through
# pkg-config against a staged install of libblockjob (userspace/Makefile):
# it mirrors a volume, waits for BLOCK_JOB_READY on the job events and
# pivots; the volume then lives on the destination, which holds the
# source's data. A refused target is one line on stderr and exit 1.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"

CLIENT=$BJ_TESTS/vm/helpers/bin/mirror-client
SRC=/dev/vdb DST=/dev/vdc
[ -x "$CLIENT" ] || die "$CLIENT is not built (make -C userspace helpers)"
mk_pattern $SRC 38 || die "pattern"
mk_pattern $DST 83 || die "pattern"
check blockjob create vol $SRC
on_exit "blockjob remove vol 2>/dev/null || dmsetup remove vol 2>/dev/null"

"$CLIENT" vol $SRC >/tmp/client.out 2>/tmp/client.err
check_eq "$?: $(cat /tmp/client.out) / $(wc -l </tmp/client.err)" "1:  / 1" \
	"a refused target: exit 1, one line: $(cat /tmp/client.err)"
check_eq "$(dmsetup status vol | awk '{print $4}')" passthrough "...and no job started"

"$CLIENT" vol $DST >/tmp/client.out 2>/tmp/client.err
check_eq "$?: $(tr '\n' '|' </tmp/client.out)$(cat /tmp/client.err)" "0: vol: ready|vol: pivoted onto $DST|" \
	"mirror-client vol $DST: ready on the events, pivoted"
check_eq "$(dmsetup table vol | awk '{print $4, $5}')" "passthrough $(dev_num $DST)" \
	"the volume lives on the destination"
check cmp $SRC $DST
check cmp $SRC /dev/mapper/vol
check_eq "$(ls /sys/block/vdb/holders | wc -l)" 0 "the source is released"

finish
