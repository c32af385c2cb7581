#!/bin/bash
# The live demo (make demo), run inside the test VM: a volume in use is
# mirrored to another disk and switched over to it while fio keeps writing
# and verifying; then a point-in-time backup is taken under the same load.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob
say() { printf '\n\033[1m>>> %s\033[0m\n' "$*"; }

say "A volume over /dev/vdb, in passthrough mode (no job)"
blockjob create vol /dev/vdb
blockjob status vol
dmsetup table vol

say "fio writes to it (random 4k-64k, crc32c-verified), and keeps going"
fio --name=app --filename=/dev/mapper/vol --rw=randwrite --size=96M \
	--bssplit=4k/50:16k/25:64k/25 --direct=1 --ioengine=libaio --iodepth=8 \
	--rate=3m --verify=crc32c --do_verify=1 --output=/tmp/fio.out >/dev/null 2>&1 &
fio_pid=$!
sleep 2

say "blockjob mirror vol /dev/vdc   (live copy; new writes kept in step)"
blockjob mirror vol /dev/vdc --granularity 64K
blockjob events vol --json > /tmp/events.json 2>/dev/null &
ev_pid=$!
for _ in 1 2 3; do sleep 1; blockjob status vol; done
say "blockjob wait vol --for ready"
blockjob wait vol --for ready --timeout 300 2>/dev/null ||
	until dmsetup status vol | grep " ready " >/dev/null; do sleep 0.2; done
blockjob status vol
say "blockjob complete vol   (pivot onto /dev/vdc while fio is still writing)"
kill -0 $fio_pid && echo "(fio still running: pid $fio_pid)"
blockjob complete vol
dmsetup table vol
blockjob status vol
echo "holders of /dev/vdb now: $(ls /sys/block/vdb/holders | wc -l)"

say "fio finishes, then reads back every block it wrote through the volume"
wait $fio_pid && echo "fio verify: OK" || { echo "fio verify FAILED"; tail /tmp/fio.out; exit 1; }
kill $ev_pid 2>/dev/null
say "job events seen (blockjob events --json)"
cat /tmp/events.json

if blockjob backup --help >/dev/null 2>&1; then
	say "Point-in-time backup of vol (now on /dev/vdc) to /dev/vdd while writes go on"
	want=$(dev_digest /dev/mapper/vol)
	blockjob backup vol /dev/vdd --sync full &
	bpid=$!
	fio --name=app2 --filename=/dev/mapper/vol --rw=randwrite --bs=4k --size=64M \
		--direct=1 --ioengine=libaio --iodepth=8 --time_based --runtime=5 \
		--output=/dev/null >/dev/null 2>&1
	wait $bpid
	blockjob wait vol --for concluded --timeout 300 2>/dev/null ||
		until dmsetup status vol | grep concluded >/dev/null; do sleep 0.2; done
	blockjob status vol
	blockjob cancel vol >/dev/null 2>&1
	got=$(dev_digest /dev/vdd $(blockdev --getsize64 /dev/mapper/vol))
	echo "volume before the backup: $want"
	echo "backup device:            $got"
	[ "$want" = "$got" ] && echo "backup equals the volume as of its start: OK" || { echo "backup MISMATCH"; exit 1; }
fi
blockjob remove vol
say "demo done"
