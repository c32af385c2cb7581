#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 4 --disk-size 32M --timeout 600 --net
# vm-kernel: stock (its dm-blockjob paths are the mirror's, run on the debug kernel in 20, 21 and 26; the NBD client is the kernel's own. Runs there by name: run-vm-tests --kernel debug 77)
# Live migration to another host over NBD (issue 20). Host B (network
# namespace bjb, 192.0.2.2) serves a disk with 'blockjob export' (qemu-nbd);
# host A (the guest's own namespace) mirrors volume vol into
# nbd://192.0.2.2:PORT/EXPORT through the kernel's NBD client.
# - Migration under fio (crc32c verify): ready, pivot with fio writing; fio's
#   verify passes; vol then maps the NBD device, B's
#   disk equals vol; remove disconnects the NBD device; create over the
#   URL brings vol back on B's disk (host A after a reboot).
# - Hand-over: ready, cancel: B's disk equals the volume as of the cancel,
#   the NBD device is disconnected, later writes to vol stay on A.
# - Bad input: a host that does not answer, a closed port, no such export,
#   an export smaller than the volume, a malformed URL: one line each, no
#   NBD device left connected, vol unchanged in passthrough.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob
net_hosts || die "net_hosts"
SIZE=$((24 << 20))
NBD_MAJOR=43

# await_nbd_connected N WHAT: within 10 s, N NBD devices are connected
await_nbd_connected() {
	local i
	for i in $(seq 100); do
		[ "$(nbd_connected)" = "$1" ] && break
		sleep 0.1
	done
	check_eq "$(nbd_connected)" "$1" "$2"
}

# vol_major NAME: the major number of the device volume NAME maps
vol_major() {
	dmsetup deps "$1" | sed -n 's/.*(\([0-9]*\), [0-9]*).*/\1/p'
}

# --- migration: ready, pivot under fio ----------------------------------
mk_pattern /dev/vdb 3 $SIZE
mk_pattern /dev/vdc 4 $SIZE
url=$(on_b blockjob export /dev/vdc --listen $BJ_NET_B:10809)
check_eq "$url" "nbd://$BJ_NET_B:10809/vdc" "export on host B prints its URL"
on_exit "blockjob export --stop $BJ_NET_B:10809 2>/dev/null"
check blockjob create vol /dev/vdb
# every block of the first 12 MiB written once (fio's random map),
# rate-limited so that fio is still writing at the pivot; then fio reads
# them back
fio --name=load --filename=/dev/mapper/vol --rw=randwrite --size=$((SIZE / 2)) \
	--bssplit=4k/40:12k/20:64k/20:100k/20 --blockalign=4k --direct=1 \
	--ioengine=libaio --iodepth=8 --rate=$(scaled 3 2)m --verify=crc32c --verify_fatal=1 \
	--do_verify=1 --randseed=$RANDOM --output=/tmp/fio.out >/dev/null 2>&1 &
fio_pid=$!
check blockjob mirror vol "$url" --wait
check_eq "$(nbd_connected)" 1 "one NBD device connected for the mirror"
kill -0 $fio_pid 2>/dev/null && ok "fio still writing at the pivot" || not_ok "fio ended before the pivot"
check blockjob complete vol
check_eq "$(vol_major vol)" $NBD_MAJOR "vol maps the NBD device after the pivot"
wait $fio_pid
rc=$?
check_eq $rc 0 "fio (writes across the pivot, then verify of what it wrote) passed"
[ $rc -eq 0 ] || tail -n 20 /tmp/fio.out
check_eq "$(dev_digest /dev/mapper/vol)" "$(dev_digest_at /dev/vdc 0 "$(dev_size vol)")" "B's disk equals the volume"
check blockjob remove vol
await_nbd_connected 0 "remove disconnected the NBD device"
# host A after a reboot: the volume comes back on the remote export
ref=$(dev_digest_at /dev/vdc 0 "$(dev_size vdc)")
check blockjob create vol "$url"
check_eq "$(vol_major vol)" $NBD_MAJOR "create over an NBD URL maps the NBD device"
check_eq "$(dev_digest /dev/mapper/vol)" "$ref" "...and reads B's disk"
check blockjob remove vol
await_nbd_connected 0 "remove disconnected it"
check blockjob export --stop $BJ_NET_B:10809

# --- hand-over: ready, cancel -------------------------------------------
mk_pattern /dev/vdd 5 $SIZE
mk_pattern /dev/vde 6 $SIZE
check on_b blockjob export /dev/vde --listen $BJ_NET_B:10810 --name handover
on_exit "blockjob export --stop $BJ_NET_B:10810 2>/dev/null"
check blockjob create vol2 /dev/vdd
fio --name=load --filename=/dev/mapper/vol2 --rw=randwrite --bs=4k --direct=1 \
	--ioengine=libaio --iodepth=8 --time_based --runtime=$(scaled 4 2) --rate=2m \
	--output=/dev/null >/dev/null 2>&1 &
fio_pid=$!
check blockjob mirror vol2 nbd://$BJ_NET_B:10810/handover --wait
# fio has exited: every write it made has completed, on both hosts
wait $fio_pid
ref=$(dev_digest /dev/mapper/vol2)
check blockjob cancel vol2
await_nbd_connected 0 "cancel disconnected the NBD device"
check_eq "$(dev_digest_at /dev/vde 0 "$(dev_size vol2)")" "$ref" "B's disk equals the volume as of the cancel"
check fio --name=after --filename=/dev/mapper/vol2 --rw=randwrite --bs=4k --direct=1 \
	--ioengine=psync --size=1M --output=/dev/null
check_eq "$(dev_digest_at /dev/vde 0 "$(dev_size vol2)")" "$ref" "writes after the cancel stay on host A"
check_eq "$(dmsetup table vol2 | awk '{print $4}')" passthrough "vol2 back in passthrough on its own disk"

# --- bad input ------------------------------------------------------------
modprobe loop
truncate -s 8M /tmp/small.img
small=$(on_b losetup -f --show /tmp/small.img) || die "losetup"
on_exit "losetup -d $small"
check on_b blockjob export "$small" --listen $BJ_NET_B:10811 --name small
on_exit "blockjob export --stop $BJ_NET_B:10811 2>/dev/null"
table=$(dmsetup table vol2)
# bad_url URL EXIT PATTERN WHAT: mirror to URL fails with EXIT and one line
# matching PATTERN; nothing connected, vol2 unchanged
bad_url() {
	local out rc
	out=$(blockjob mirror vol2 "$1" 2>&1)
	rc=$?
	check_eq $rc "$2" "$4: exit $2"
	if [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -iE -- "$3" >/dev/null; then
		ok "$4: one line: $out"
	else
		not_ok "$4: expected one line matching '$3', got: $out"
	fi
	check_eq "$(nbd_connected)" 0 "$4: no NBD device left connected"
	check_eq "$(dmsetup table vol2)" "$table" "$4: vol2 unchanged"
}
bad_url nbd://192.0.2.9:10809/x 1 "192.0.2.9.*(unreachable|no route|timed out)" "a host that does not answer"
bad_url nbd://$BJ_NET_B:10999/x 1 "refused" "a closed port"
bad_url nbd://$BJ_NET_B:10810/nope 1 "nope" "no such export"
bad_url nbd://$BJ_NET_B:10811/small 1 "small" "an export smaller than the volume"
bad_url nbd://:10809/x 2 "nbd://" "a URL without a host"
bad_url nbd://$BJ_NET_B:99999/x 2 "port" "a port out of range"
check blockjob remove vol2
finish
