#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 4 --disk-size 32M --timeout 600 --net
# vm-kernel: stock (the CLI's keeper and the kernel's NBD client: the dm-blockjob error paths it drives run on the debug kernel in 22-mirror-faults)
# A dropped NBD connection during a migration (issue 20). Host B (network
# namespace bjb) serves disks with 'blockjob export'; host A mirrors volumes
# into them with --nbd-timeout 2 (request and dead-connection timeouts of
# the kernel's client) at a rate that leaves the copy mid-way; a guest
# writer (fio, crc32c verify) writes each volume through it all. The
# keeper that 'blockjob mirror' starts logs to syslog (a busybox syslogd
# here) and keeps its pid in /run/blockjob/nbd-keeper/nbdN.pid.
# - Link down (bja0, host A's side of the veth) under --on-target-error
#   stop: the job stops on a target error within 3 x timeout + slack; link
#   up: the keeper reconnects and resumes it (not before); it reaches
#   ready; B's disk equals the volume; after the pivot fio verifies every
#   block through the NBD device (no region lost); remove ends the keeper.
# - Link down under report: the job fails with a target-write error within
#   3 x timeout + slack (no hang); the writer never saw an error, a write
#   reads back, dismiss returns at once (link still down) to passthrough,
#   the NBD device is disconnected, the keeper exits.
# - Server killed (kill -9 qemu-nbd) under report: the job fails likewise;
#   the keeper's attempts are refused (syslog); the volume keeps working;
#   the keeper gives up after its bound (30 s), says so and exits, the
#   device left connected; cancel (exit 1: the job had failed) puts the
#   volume back in passthrough and nothing is left connected.
# Times are printed as "# measured: ...".
. "$BJ_TESTS/vm/lib.sh"
load_blockjob
net_hosts || die "net_hosts"
SIZE=$((24 << 20))
TIMEOUT=2			# --nbd-timeout
# How long the kernel's client takes to fail a dropped connection's I/O:
# a request times out after TIMEOUT (a send blocked on a full socket
# buffer after up to twice that: two sends of sk_sndtimeo each), then it
# waits TIMEOUT for a reconnect; SLACK for the block layer's timer rounding
# (a second) and the work queues.
SLACK=8
FAIL_BOUND=$((3 * TIMEOUT + SLACK))
# the keeper's retry bound: max(2 x TIMEOUT, 30) s
RETRY_BOUND=30
KEEPER_DIR=/run/blockjob/nbd-keeper
SYSLOG=/tmp/syslog

# syslog for the keeper's messages
syslogd -n -O "$SYSLOG" &
on_exit "kill $!"
for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
[ -S /dev/log ] || die "syslogd made no /dev/log"
on_exit "ip link set bja0 up"

# now_ms: milliseconds since the epoch
now_ms() {
	local us=${EPOCHREALTIME/./}
	echo $((us / 1000))
}

# secs MS: MS milliseconds as seconds with one decimal
secs() {
	printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100))
}

# await SECS WHAT CMD...: poll CMD every 0.1 s until it succeeds (ok WHAT),
# at most SECS seconds (not ok)
await() {
	local n=$(($1 * 10)) what=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		if "$@"; then
			ok "$what"
			return 0
		fi
		sleep 0.1
	done
	not_ok "$what (not within $((n / 10)) s)"
	return 1
}

# st VOL FIELD: a field of the volume's status line (state, result, done,
# errors, last, flags)
st() {
	dmsetup status "$1" | awk -v f="$2" '{
		split($7, d, "/")
		v["state"] = $5; v["result"] = $6; v["done"] = d[1]; v["errors"] = $10
		v["last"] = $11; v["flags"] = $15; print v[f] }'
}

# stopped_on_error VOL: paused (or standby) by a target error, policy stop
stopped_on_error() {
	case $(st "$1" state) in paused | standby) ;; *) return 1 ;; esac
	[[ $(st "$1" flags) == *io_error* && $(st "$1" last) == target-* ]]
}

# going VOL: running or ready, no error stop pending
going() {
	case $(st "$1" state) in running | ready) ;; *) return 1 ;; esac
	[[ $(st "$1" flags) != *io_error* ]]
}

failed() {
	[ "$(st "$1" state) $(st "$1" result)" = "concluded failed" ]
}

# copied VOL BYTES: the job has copied at least BYTES
copied() {
	[ "$(st "$1" "done")" -ge "$2" ]
}

# nbd_of VOL: the NBD device blockjob connected for VOL (nbdN), "" if none
nbd_of() {
	local d
	for d in /sys/block/nbd*; do
		grep -q "^blockjob:$1:nbd://" "$d/backend" 2>/dev/null && { basename "$d"; return; }
	done
}

no_nbd_connected() {
	[ "$(nbd_connected)" = 0 ]
}

# keepers: the pids of running keepers, and what they keep ("PID DEV"; no
# process forked per pid: this runs in polling loops)
keepers() {
	local p a
	for p in /proc/[0-9]*; do
		mapfile -d '' -t a <"$p/cmdline" 2>/dev/null || continue
		[ "${a[0]:-} ${a[1]:-}" = "blockjob nbd-keeper" ] && echo "${p#/proc/} ${a[-1]}"
	done
	return 0
}

# keeper_runs DEV: the pid in DEV's pid file is a running keeper of /dev/DEV
keeper_runs() {
	local pid
	pid=$(cat "$KEEPER_DIR/$1.pid" 2>/dev/null) || return 1
	keepers | grep -x "$pid /dev/$1" >/dev/null
}

# keeper_detached DEV: the keeper of DEV is in another session than the
# test's (setsid) and holds nothing of the command that started it: /dev/null,
# sockets (the watch, syslog) and its signalfd only
keeper_detached() {
	local pid f l
	pid=$(cat "$KEEPER_DIR/$1.pid") || return 1
	[ "$(awk '{print $6}' "/proc/$pid/stat")" != "$(awk '{print $6}' /proc/$$/stat)" ] ||
		{ echo "# the keeper is in the test's session"; return 1; }
	for f in /proc/"$pid"/fd/*; do
		l=$(readlink "$f")
		case $l in /dev/null | socket:* | anon_inode:*signalfd*) ;; *) echo "# keeper holds $l"; return 1 ;; esac
	done
}

# keeper_gone DEV: no pid file of DEV, no keeper process at all
keeper_gone() {
	[ ! -e "$KEEPER_DIR/$1.pid" ] && [ -z "$(keepers)" ]
}

# logged PATTERN: the syslog has a line of blockjob's matching PATTERN
logged() {
	grep 'blockjob\[[0-9]*\]' "$SYSLOG" | grep -E -- "$1" >/dev/null
}

# writer VOL: fio writes VOL once (crc32c blocks, 2 MB/s) in the background
writer() {
	fio_verify_write "/dev/mapper/$1" --size=$SIZE --rate=2m &
	writer_pid=$!
}

# read_back VOL: a write of 1 MiB to VOL reads back
read_back() {
	local f=/tmp/rb.$$
	head -c 1048576 /dev/urandom >"$f"
	dd if="$f" of="/dev/mapper/$1" bs=1M seek=20 oflag=direct conv=notrunc status=none &&
		[ "$(dev_digest_at "$1" $((20 << 20)) 1048576)" = "$(digest <"$f")" ]
	local rc=$?
	rm -f "$f"
	return $rc
}

# --- 1. link down under --on-target-error stop --------------------------------
mk_pattern /dev/vdb 3 $SIZE
mk_pattern /dev/vdc 4 $SIZE
check on_b blockjob export /dev/vdc --listen $BJ_NET_B:10809
on_exit "blockjob export --stop $BJ_NET_B:10809"
check blockjob create vol /dev/vdb
on_exit "blockjob remove vol"
writer vol
check blockjob mirror vol nbd://$BJ_NET_B:10809/vdc --on-target-error stop \
	--nbd-timeout $TIMEOUT --speed 1M
dev=$(nbd_of vol)
[ -n "$dev" ] || die "no NBD device connected for vol"
check keeper_runs "$dev"
check keeper_detached "$dev"
await 20 "the copy is under way (2 MiB copied)" copied vol $((2 << 20))
t0=$(now_ms)
ip link set bja0 down
await $FAIL_BOUND "link down: the job stops on a target error" stopped_on_error vol
t_stop=$(now_ms)
echo "# measured: stop: link down to the job stopped on a target error: $(secs $((t_stop - t0))) s (bound $FAIL_BOUND s)"
check_eq "$(st vol last)" "target-write:-5" "the job's last error: target-write, EIO"
await 5 "the keeper logged the dead connection" logged "$dev \(volume vol\): the connection is dead; reconnecting, once a second for up to 30 s"
check keeper_runs "$dev"
check stopped_on_error vol
t1=$(now_ms)
ip link set bja0 up
await 30 "link up: the keeper reconnects and resumes the job" going vol
t_go=$(now_ms)
echo "# measured: stop: link up to the job going again: $(secs $((t_go - t1))) s (link down for $(secs $((t1 - t0))) s)"
await 5 "syslog: reconnected" logged "$dev \(volume vol\): reconnected \(attempt [0-9]+"
await 5 "syslog: resumed the mirror" logged "$dev \(volume vol\): resumed the mirror, stopped on a target error"
grep 'blockjob\[' "$SYSLOG" | sed 's/^/#   /'
check blockjob set-speed vol 0
wait $writer_pid
check_eq $? 0 "the writer (fio, through the stop and the reconnect) got no error"
check blockjob wait vol --for ready --timeout 60
check_eq "$(dev_digest_at /dev/vdc 0 "$(dev_size vol)")" "$(dev_digest vol)" "ready: B's disk equals the volume (no region lost)"
check blockjob complete vol
check_eq "$(vol_origin vol)" "$(dev_num "/dev/$dev")" "after the pivot vol maps $dev"
check fio_verify_check /dev/mapper/vol --size=$SIZE
check keeper_runs "$dev"
t0=$(now_ms)
check blockjob remove vol
await 5 "remove: the NBD device is disconnected" no_nbd_connected
await 5 "...and the keeper exits, its pid file gone" keeper_gone "$dev"
echo "# measured: remove to the keeper gone: $(secs $(($(now_ms) - t0))) s"
check blockjob export --stop $BJ_NET_B:10809

# --- 2. link down under report -------------------------------------------------
mk_pattern /dev/vdd 5 $SIZE
mk_pattern /dev/vde 6 $SIZE
check on_b blockjob export /dev/vde --listen $BJ_NET_B:10810
on_exit "blockjob export --stop $BJ_NET_B:10810"
check blockjob create vol2 /dev/vdd
on_exit "blockjob remove vol2"
writer vol2
check blockjob mirror vol2 nbd://$BJ_NET_B:10810/vde --on-target-error report \
	--nbd-timeout $TIMEOUT --speed 1M
dev=$(nbd_of vol2)
[ -n "$dev" ] || die "no NBD device connected for vol2"
check keeper_runs "$dev"
await 20 "the copy is under way (2 MiB copied)" copied vol2 $((2 << 20))
t0=$(now_ms)
ip link set bja0 down
await $FAIL_BOUND "link down: the job fails" failed vol2
t_fail=$(now_ms)
echo "# measured: report: link down to the job failed: $(secs $((t_fail - t0))) s (bound $FAIL_BOUND s)"
out=$(blockjob wait vol2 --for concluded 2>&1)
check_eq $? 1 "wait --for concluded: exit 1"
if [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -E "vol2: mirror job failed \(last error target-write:-5\)" >/dev/null; then
	ok "...one line that says the job failed and why: $out"
else
	not_ok "...expected one line: failed, a target write error: $out"
fi
wait $writer_pid
check_eq $? 0 "the writer (fio, through the link's loss) got no error"
check read_back vol2
check fio_verify_check /dev/mapper/vol2 --size=$((20 << 20))
check keeper_runs "$dev"
t0=$(now_ms)
check blockjob dismiss vol2
t_c=$(now_ms)
echo "# measured: report: dismiss with the link down: $(secs $((t_c - t0))) s"
[ $((t_c - t0)) -le $((TIMEOUT * 1000)) ] && ok "dismiss with the link down returned within $TIMEOUT s" ||
	not_ok "dismiss with the link down took $(secs $((t_c - t0))) s"
check_eq "$(dmsetup table vol2 | awk '{print $4, $5}')" "passthrough $(dev_num /dev/vdd)" \
	"vol2 back in passthrough on its own disk"
await 5 "dismiss: the NBD device is disconnected" no_nbd_connected
await 5 "...and the keeper exits, its pid file gone (the link still down)" keeper_gone "$dev"
echo "# measured: dismiss to the keeper gone: $(secs $(($(now_ms) - t_c))) s"
check ip link set bja0 up
check read_back vol2

# --- 3. the server killed under report -----------------------------------------
mk_pattern /dev/vdb 7 $SIZE
mk_pattern /dev/vdc 8 $SIZE
check on_b blockjob export /dev/vdc --listen $BJ_NET_B:10811 --name killme
check blockjob create vol3 /dev/vdb
on_exit "blockjob remove vol3"
writer vol3
check blockjob mirror vol3 nbd://$BJ_NET_B:10811/killme --on-target-error report \
	--nbd-timeout $TIMEOUT --speed 1M
dev=$(nbd_of vol3)
[ -n "$dev" ] || die "no NBD device connected for vol3"
check keeper_runs "$dev"
await 20 "the copy is under way (2 MiB copied)" copied vol3 $((2 << 20))
server=$(cat "/run/blockjob/nbd-export/$BJ_NET_B:10811.pid")
t0=$(now_ms)
check kill -9 "$server"
await $FAIL_BOUND "server killed: the job fails" failed vol3
t_fail=$(now_ms)
echo "# measured: server killed to the job failed: $(secs $((t_fail - t0))) s (bound $FAIL_BOUND s)"
check_eq "$(st vol3 last)" "target-write:-5" "the job's last error: target-write, EIO"
await 5 "syslog: the keeper's attempts are refused" logged "$dev \(volume vol3\): reconnect attempt 1 failed: cannot connect to $BJ_NET_B:10811: Connection refused"
wait $writer_pid
check_eq $? 0 "the writer (fio, through the server's death) got no error"
check read_back vol3
# nothing answers: the keeper retries for its bound, max(2 x 2, 30) s from
# the notification, then gives up and exits; the device stays connected
# (to nothing) until the job is cancelled
await $((RETRY_BOUND + 10)) "the keeper gives up after its bound and exits, its pid file gone" keeper_gone "$dev"
t_gone=$(now_ms)
echo "# measured: server killed to the keeper gone: $(secs $((t_gone - t0))) s (bound $RETRY_BOUND s)"
[ $((t_gone - t0)) -ge $((RETRY_BOUND * 1000)) ] && ok "...not before the bound" ||
	not_ok "...before the bound: $(secs $((t_gone - t0))) s"
logged "$dev \(volume vol3\): gave up reconnecting /dev/$dev to nbd://$BJ_NET_B:10811/killme: [0-9]+ attempts in 3[01] s; the last: cannot connect to $BJ_NET_B:10811: Connection refused" &&
	ok "syslog: the keeper gave up, with the count of attempts and the last error" ||
	not_ok "syslog: no line of the keeper giving up"
check_eq "$(nbd_connected)" 1 "the NBD device stays connected after the keeper gave up"
check read_back vol3
out=$(blockjob cancel vol3 2>&1)
check_eq "$?: $out" "1: blockjob: vol3: the mirror job had failed before the cancel (last error target-write:-5); the volume is back on its source" \
	"cancel of the failed job: exit 1, says so"
check_eq "$(dmsetup table vol3 | awk '{print $4, $5}')" "passthrough $(dev_num /dev/vdb)" \
	"vol3 back in passthrough on its own disk"
await 5 "cancel: nothing left connected" no_nbd_connected
check read_back vol3
grep "blockjob\[.*: $dev (volume vol3)" "$SYSLOG" | sed 's/^/#   /'
finish
