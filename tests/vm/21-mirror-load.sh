#!/bin/bash
# vm-run: --disks 3 --disk-size 128M --timeout 900
# Mirror under fio random writes (verify=crc32c, mixed block sizes unaligned
# to the region, iodepth 8) through start, ready and the pivot with fio still
# writing; fio's verify pass then reads the whole volume back. Then: cancel
# after ready under load leaves a destination equal to the source at the
# cancel.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob
SRC=/dev/vdb DST=/dev/vdc
SIZE=$((96 << 20))

# wait_job_state NAME STATE SECONDS: poll the status line until the job is in STATE.
wait_job_state() {
	local i=0 st
	while [ $i -lt $(($3 * 5)) ]; do
		st=$(dmsetup status "$1")
		case "$st" in *" $2 "*) return 0 ;; *" concluded "*) return 1 ;; esac
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

for mode in background write-blocking; do
	mk_pattern $SRC 7 $SIZE
	mk_pattern $DST 8
	dmsetup create src --table "0 $((SIZE / 512)) linear $SRC 0"
	dm_nodes
	check blockjob create vol /dev/mapper/src
	# Every block of the volume is written once (fio's random map), rate-limited
	# so that fio is still writing when the pivot happens.
	fio --name=load --filename=/dev/mapper/vol --rw=randwrite --size=$SIZE \
		--bssplit=4k/40:12k/20:64k/20:100k/20 --blockalign=4k --direct=1 \
		--ioengine=libaio --iodepth=8 --rate=5m --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --randseed=$RANDOM --output=/tmp/fio.out >/dev/null 2>&1 &
	fio_pid=$!
	sleep 2
	check blockjob mirror vol $DST --mode $mode --granularity 64K
	wait_job_state vol ready 300
	case "$(dmsetup status vol)" in *" mirror ready "*) ok "$mode: ready under load" ;; *) not_ok "$mode: not ready: $(dmsetup status vol)" ;; esac
	kill -0 $fio_pid 2>/dev/null && ok "$mode: fio still writing at the pivot" || not_ok "$mode: fio ended before the pivot"
	check blockjob complete vol
	check_eq "$(dmsetup table vol | awk '{print $4, $5}')" "passthrough 254:32" "$mode: pivoted to the destination"
	wait $fio_pid
	rc=$?
	check_eq $rc 0 "$mode: fio (writes across the pivot, then verify of the whole volume) passed"
	[ $rc -eq 0 ] || tail -n 20 /tmp/fio.out
	grep -q "err= 0" /tmp/fio.out && ok "$mode: fio reported no I/O error" || not_ok "$mode: fio errors"
	blockjob remove vol
	dmsetup remove src
done

# Cancel after ready under load: destination = source as of the cancel.
mk_pattern $SRC 11 $SIZE
mk_pattern $DST 12
dmsetup create src --table "0 $((SIZE / 512)) linear $SRC 0"
dm_nodes
check blockjob create vol /dev/mapper/src
# Writes go on while the mirror becomes ready; fio then exits (so every write
# it made has completed: quiesced), the reference is taken, the job is
# cancelled, and writes start again before the volume is switched back.
fio --name=load --filename=/dev/mapper/vol --rw=randwrite --bs=4k --direct=1 \
	--ioengine=libaio --iodepth=8 --time_based --runtime=$(scaled 15 2) --rate=2m \
	--output=/dev/null >/dev/null 2>&1 &
fio_pid=$!
check blockjob mirror vol $DST --wait
wait $fio_pid
case "$(dmsetup status vol)" in *" mirror ready "*) ok "ready with writes made during the copy" ;; *) not_ok "$(dmsetup status vol)" ;; esac
ref=$(dev_digest /dev/mapper/vol)
check dmsetup message vol 0 cancel
check fio --name=after --filename=/dev/mapper/vol --rw=randwrite --bs=4k --direct=1 \
	--ioengine=libaio --iodepth=8 --time_based --runtime=2 --output=/dev/null
case "$(dmsetup status vol)" in *"concluded cancelled"*) ok "cancelled after ready" ;; *) not_ok "status: $(dmsetup status vol)" ;; esac
check dmsetup suspend vol
dmsetup load vol --table "0 $((SIZE / 512)) blockjob passthrough /dev/mapper/src 0"
check dmsetup resume vol
check_eq "$(dev_digest $DST $SIZE)" "$ref" "destination equals the volume as of the cancel"
check_eq "$(dmsetup table vol | awk '{print $4}')" "passthrough" "volume back in passthrough mode on the source"
blockjob remove vol
dmsetup remove src
finish
