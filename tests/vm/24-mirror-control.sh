#!/bin/bash
# vm-run: --disks 3 --disk-size 64M --timeout 600
# Job control of a mirror: the speed limit holds and can be changed while
# running; pause stops the copier while guest I/O goes on; resume; switching
# background -> write_blocking (and not back); removing the volume and
# unloading the module while a job runs tear down cleanly.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob
SRC=/dev/vdb DST=/dev/vdc

done_bytes() { dmsetup status vol | awk '{split($7, a, "/"); print a[1]}'; }
state() { dmsetup status vol | awk '{print $5}'; }

mk_pattern $SRC 31
check blockjob create vol $SRC

# Speed limit: 2 MiB/s for 3 s copies about 6 MiB (slices of 100 ms allow one
# region over quota each).
check blockjob mirror vol $DST --speed 2M --granularity 64K
sleep 3
d=$(done_bytes)
[ "$d" -gt 0 ] && [ "$d" -le $((10 << 20)) ] && ok "2M/s for 3 s copied $d bytes" ||
	not_ok "2M/s for 3 s copied $d bytes"
check dmsetup message vol 0 set-speed 1048576
d1=$(done_bytes); sleep 2; d2=$(done_bytes)
[ $((d2 - d1)) -le $((4 << 20)) ] && ok "1M/s: copied $((d2 - d1)) bytes in 2 s" ||
	not_ok "1M/s: copied $((d2 - d1)) bytes in 2 s"
check_eq "$(dmsetup status vol | awk '{print $9}')" 1048576 "status shows the new speed"

# Pause: nothing more is copied; guest writes still work and are not lost.
check dmsetup message vol 0 pause
check_eq "$(state)" paused "paused"
sleep 0.5; d1=$(done_bytes); sleep 2; d2=$(done_bytes)
check_eq "$d2" "$d1" "no copying while paused"
dd if=/dev/urandom of=/tmp/w bs=64K count=16 status=none
check dd if=/tmp/w of=/dev/mapper/vol bs=64K seek=200 oflag=direct status=none
check dmsetup message vol 0 resume
case "$(state)" in running | ready) ok "running again after resume" ;; *) not_ok "after resume: $(state)" ;; esac
check dmsetup message vol 0 set-speed 0

# background -> write_blocking is allowed, back is refused.
check dmsetup message vol 0 copy-mode write_blocking
case "$(dmsetup status vol)" in *" write_blocking "*) ok "now write_blocking" ;; *) not_ok "$(dmsetup status vol)" ;; esac
dmsetup message vol 0 copy-mode background 2>/dev/null && not_ok "switch back to background accepted" ||
	ok "switch back to background refused"
i=0; until [ "$(state)" = ready ] || [ $i -gt 300 ]; do sleep 0.2; i=$((i + 1)); done
check_eq "$(state)" ready "ready after resume"
ev=$(dmsetup info -c --noheadings -o events vol)
check dmsetup message vol 0 pause
check_eq "$(state)" standby "pause while ready: standby"
check timeout 10 dmsetup wait vol "$ev"
check dd if=/tmp/w of=/dev/mapper/vol bs=64K seek=400 oflag=direct status=none
check dmsetup message vol 0 resume
check_eq "$(state)" ready "resume from standby: ready"
check_eq "$(dev_digest $DST)" "$(dev_digest $SRC)" "copy equals source (writes made while paused included)"
check blockjob complete vol
check blockjob remove vol

# No starvation: in write_blocking mode a writer that keeps one region busy
# does not keep the copier from it; the job becomes ready while it writes.
check blockjob create vol $SRC
fio --name=hammer --filename=/dev/mapper/vol --offset=1M --size=64k --rw=randwrite --bs=4k \
	--direct=1 --ioengine=libaio --iodepth=4 --time_based --runtime=120 --output=/dev/null \
	>/dev/null 2>&1 &
hpid=$!
sleep 1
check blockjob mirror vol $DST --mode write-blocking
i=0; until [ "$(state)" = ready ] || [ $i -gt 300 ]; do sleep 0.2; i=$((i + 1)); done
check_eq "$(state)" ready "write_blocking: ready while one region is written non-stop"
kill -0 $hpid 2>/dev/null && ok "the writer was still running" || not_ok "the writer stopped early"
kill $hpid; wait $hpid 2>/dev/null
check_eq "$(dev_digest $DST)" "$(dev_digest $SRC)" "copy equals source after the hammering"
check dmsetup message vol 0 cancel
check dmsetup remove vol

# Remove while a job runs, then unload the module.
check blockjob create vol $SRC
check blockjob mirror vol $DST --speed 1M
sleep 1
check dmsetup remove vol
check_eq "$(ls /sys/block/vdb/holders /sys/block/vdc/holders | grep -c dm)" 0 "devices released"
check rmmod dm-blockjob
check modprobe dm-blockjob
check blockjob create vol $SRC
check blockjob mirror vol $DST --mode write-blocking --wait
check dmsetup remove vol
check rmmod dm-blockjob
finish
