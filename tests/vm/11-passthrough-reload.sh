#!/bin/bash
# vm-run: --disks 2 --disk-size 64M --timeout 600
# fio with verify=crc32c through the volume while its table is reloaded and
# suspended/resumed several times: no write is lost.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob
LEN=$(( (48 << 20) / 512 ))
dm_create vol "0 $LEN blockjob passthrough /dev/vdb 0"
dmsetup message vol 0 bitmap add bm 128    # the volume's state must survive reloads

# fio writes for 24 s (48 MiB at 2 MiB/s), then reads everything back. The
# 12 reloads are spread over the first 18 s of it, one every 1.5 s, with no
# pause when they run behind: on a slow debug kernel each one takes over a
# second by itself, and the old fixed pause between them let fio finish first.
fio --name=reload --filename=/dev/mapper/vol --rw=randwrite --size=48M \
	--bssplit=4k/50:16k/25:128k/25 --direct=1 --ioengine=libaio --iodepth=16 \
	--rate=2m --verify=crc32c --verify_fatal=1 --do_verify=1 --randseed=77 \
	--output=/tmp/fio.out >/dev/null 2>&1 &
pid=$!
n=0
t0=${EPOCHREALTIME/./}
while kill -0 $pid 2>/dev/null && [ $n -lt 12 ]; do
	wait_us=$((t0 + (n + 1) * 1500000 - ${EPOCHREALTIME/./}))
	[ $wait_us -le 0 ] || sleep "$((wait_us / 1000000)).$(printf %06d $((wait_us % 1000000)))"
	if [ $((n % 2)) -eq 0 ]; then
		dmsetup suspend vol && dmsetup resume vol || not_ok "suspend/resume $n"
	else
		dmsetup load vol --table "0 $LEN blockjob passthrough /dev/vdb 0" &&
			dmsetup suspend vol && dmsetup resume vol || not_ok "reload $n"
	fi
	n=$((n + 1))
done
check_eq "$n" 12 "12 reloads and suspends while fio was writing"
wait $pid
rc=$?
check_eq $rc 0 "fio verify of every block after the reloads"
[ $rc -eq 0 ] || tail -n 20 /tmp/fio.out
dmsetup message vol 0 bitmap list > /tmp/bm
grep -q "^bm 65536 " /tmp/bm && ok "bitmap kept across reloads: $(cat /tmp/bm)" || not_ok "bitmap lost: $(cat /tmp/bm)"
finish
