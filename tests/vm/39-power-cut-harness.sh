#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --boots 2 --disks 2 --disk-size 64M --disk-cache none --timeout 120
# vm-kernel: stock
# vm-run-by: tests/host/vm-run-power-cut.sh (it runs the chain and checks the harness around it)
# The power-cut harness itself (issue 17; Documentation/testing.rst, "Power
# cuts"). Boot 1: a stream of 4 KiB writes to /dev/vdb, each acknowledged
# (O_DIRECT, then fdatasync) before the next, with the count acknowledged
# logged on /dev/vdc (O_DIRECT|O_DSYNC) after each; once READY writes are
# acknowledged the test asks for a power cut 300 ms ahead and the stream goes
# on until QEMU is killed. Boot 2, on the same disk images: every
# acknowledged write is on /dev/vdb, and the cut landed while the stream ran.
# Boot 2 on fresh disks fails (no log); so does a lost write.
. "$BJ_TESTS/vm/lib.sh"

AW=$BJ_TESTS/vm/helpers/bin/acked-writes
[ -x "$AW" ] || die "$AW not built (make -C userspace helpers)"
READY=100

case ${BJ_BOOT:-} in
1)
	check_eq "$BJ_BOOTS" 2 "boot 1 of 2"
	# cache=none: the guest sees a volatile write cache, so its flushes
	# reach QEMU (with writethrough the block layer would drop them)
	check_eq "$(cat /sys/block/vdb/queue/write_cache)" "write back" "vdb has a write cache to flush"
	mkfifo /tmp/ready
	"$AW" write --ready $READY /dev/vdb /dev/vdc >/tmp/ready &
	writer=$!
	read -r line </tmp/ready
	check_eq "$line" "ready $READY" "$READY writes acknowledged"
	[ "$BJ_FAIL" -eq 0 ] || finish
	power_cut 300ms
	# the writer goes on until the kill: it ends first only by failing
	timeout 60 tail --pid=$writer -f /dev/null || die "no power cut 60 s after asking for it"
	wait $writer
	die "the writer ended (exit $?) before the power cut"
	;;
2)
	check_eq "$BJ_BOOTS" 2 "boot 2 of 2"
	out=$("$AW" check /dev/vdb /dev/vdc)
	rc=$?
	echo "$out" | sed 's/^/# /'
	check_eq "$rc" 0 "every acknowledged write of boot 1 is on vdb"
	read -r _ acked _ finished < <(echo "$out" | tail -n1)
	check_eq "$finished" 0 "the writer was still writing at the cut"
	if [ "${acked:-0}" -gt $READY ]; then
		ok "$((acked - READY)) writes acknowledged after the cut was asked for"
	else
		not_ok "no write acknowledged after the cut was asked for (acked '$acked', $READY before)"
	fi
	;;
*)
	die "BJ_BOOT is '${BJ_BOOT:-}': run this test with scripts/vm-run --boots 2 (its header asks for it)"
	;;
esac
finish
