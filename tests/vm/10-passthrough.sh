#!/bin/bash
# vm-run: --disks 3 --disk-size 64M --timeout 600
# Passthrough mode: data written through the volume reads back identically
# from the device at the offset (whole-device checksums); flush/FUA, discard
# and write-zeroes pass through; table and status lines; iterate_devices and
# io_hints (limits stacked from the device); CLI create/remove.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob
DEV=/dev/vdb
OFF=2048                      # 1 MiB into the device
LEN=$(( (48 << 20) / 512 ))   # 48 MiB volume

dm_create pt "0 $LEN blockjob passthrough $DEV $OFF"
mk_pattern /dev/mapper/pt 5
check_eq "$(dev_digest /dev/mapper/pt)" \
	"$(dev_digest_at $DEV $((OFF * 512)) $((LEN * 512)))" \
	"whole volume equals the device at the offset"
check_eq "$(dd if=$DEV bs=1M count=$((OFF * 512)) iflag=direct,count_bytes status=none | tr -d '\0' | wc -c)" 0 \
	"nothing written before the offset"

# FUA and flush writes.
check fio --name=fua --filename=/dev/mapper/pt --rw=randwrite --bs=4k --size=1M --direct=1 \
	--ioengine=psync --fsync=1 --sync=1 --output=/dev/null
# write-zeroes and discard pass through and land at the offset.
check blkdiscard -z -o $((4 << 20)) -l $((1 << 20)) /dev/mapper/pt
ZERO_MIB=$(dd if=/dev/zero bs=1M count=1 status=none | digest)
# volume offset 4 MiB = device offset 5 MiB
check_eq "$(dd if=$DEV bs=1M skip=5 count=1 iflag=direct status=none | digest)" \
	"$ZERO_MIB" "write-zeroes reached the device at the offset"
check_eq "$(dd if=$DEV bs=1M skip=4 count=1 iflag=direct status=none | digest)" \
	"$(dd if=/dev/mapper/pt bs=1M skip=3 count=1 iflag=direct status=none | digest)" \
	"data next to the zeroed range untouched"
dmname=$(dmsetup info -c --noheadings -o blkdevname pt)
if [ "$(cat /sys/block/$dmname/queue/discard_max_bytes)" -gt 0 ]; then
	check blkdiscard -o $((8 << 20)) -l $((1 << 20)) /dev/mapper/pt
else
	ok "# SKIP discard: the virtio disk does not advertise discards"
fi

# Table and status.
check_eq "$(dmsetup table pt)" "0 $LEN blockjob passthrough 254:16 $OFF" "table line as given (device as major:minor)"
check_eq "$(dmsetup status pt)" "0 $LEN blockjob passthrough idle - 0/0 0 0 0 - 0" "status line"
check_eq "$(dmsetup ls --tree -o notrunc | grep -c 'vdb\|254:16')" 1 "dependency on the device (iterate_devices)"
check_eq "$(cat /sys/block/$dmname/queue/logical_block_size)" "$(cat /sys/block/vdb/queue/logical_block_size)" \
	"logical block size stacked from the device"
dmsetup remove pt

# A table reload with another offset keeps working; the new mapping is used.
dm_create pt "0 2048 blockjob passthrough $DEV 0"
dmsetup load pt --table "0 2048 blockjob passthrough $DEV 4096"
dmsetup resume pt
check_eq "$(dev_digest /dev/mapper/pt)" \
	"$(dev_digest_at $DEV $((4096 * 512)) $((1 << 20)))" \
	"reloaded table maps the new offset"
dmsetup remove pt

# CLI create/status/remove.
check blockjob create vol /dev/vdc
check test -b /dev/mapper/vol
check_eq "$(blockdev --getsize64 /dev/mapper/vol)" "$(blockdev --getsize64 /dev/vdc)" "volume covers the whole device"
check_eq "$(blockjob status vol)" "vol: passthrough, no job, 64 MiB" "status (human)"
blockjob status vol --json | grep '"device": "vol", "type": "none", "status": "idle"' >/dev/null && ok "status --json" || not_ok "status --json: $(blockjob status vol --json)"
out=$(blockjob create vol /dev/vdd 2>&1) && not_ok "create over an existing name" || ok "create over an existing name refused: $out"
check blockjob remove vol
check_eq "$(dmsetup info vol 2>&1 | grep -c 'State')" 0 "volume removed"
out=$(blockjob remove vol 2>&1) && not_ok "remove of a missing volume" || ok "remove of a missing volume refused: $out"
out=$(blockjob create v2 /dev/nonexistent 2>&1) && not_ok "create on a missing device" || ok "create on a missing device refused: $out"
check_eq "$(dmsetup ls | grep -c v2)" 0 "nothing left behind"
out=$(blockjob frob 2>&1); [ $? -eq 2 ] && ok "unknown command: $out" || not_ok "unknown command"
check blockjob --version
check blockjob --help
for c in create remove status mirror complete; do
	blockjob $c --help | grep "^Usage: blockjob $c" >/dev/null && ok "$c --help" || not_ok "$c --help"
done
finish
