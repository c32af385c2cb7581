# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for VM tests (tests/vm/NN-*.sh), which run inside the guest as root
# (scripts/vm-run). Source it:  . "$BJ_TESTS/vm/lib.sh"
#
#   ok WHAT / not_ok WHAT    print "ok - WHAT [@T]" / "not ok - WHAT [@T]", count
#                            (T: seconds since the test started, to see where
#                            a test spends its time)
#   check CMD...             run CMD; ok/not_ok "CMD" by its status (output shown on failure)
#   check_eq A B WHAT        ok if A = B
#   die MSG                  "not ok - MSG", "Bail out!", exit 1 (cleanups run)
#   finish                   print the tally, exit 1 if anything failed
#   on_exit CMD              run CMD (eval) at exit, last registered first
#   dev_path NAME            /dev/NAME, /dev/mapper/NAME or NAME itself
#   dev_size NAME            size in bytes
#   digest                   digest of standard input (tests/vm/helpers/digest.c)
#   dev_digest NAME [BYTES]  digest of the whole device or its first BYTES (O_DIRECT)
#   dev_digest_at NAME OFF BYTES  digest of BYTES bytes of NAME from byte OFF (O_DIRECT)
#   load_blockjob            modprobe dm-blockjob
#   sync_map_bytes MDEV      bytes the mirror's sync map on metadata device
#                            MDEV holds ("" without one)
#   sync_map_empties MDEV WHAT  ok WHAT once that map is empty (waits 10 s at most)
#   job_field VOL FIELD      a field of `blockjob status VOL --json` (offset,
#                            len, speed, status, result...)
#   wait_job_offset VOL BYTES SECS  until VOL's job has copied BYTES (polls;
#                            fails after SECS)
#   dm_nodes                 dmsetup mknodes (no udev in the guest)
#   dm_create NAME TABLE     dmsetup create + mknodes; removed at exit
#   dm_remove NAME           dmsetup remove --retry
#   mk_pattern DEV SEED [BYTES]  fill DEV (or its first BYTES) with a
#                            deterministic pseudo-random pattern (fio, fixed seed)
#   fio_verify_write DEV [FIO-ARG...]  write DEV with verify=crc32c blocks
#   fio_verify_check DEV [FIO-ARG...]  check what fio_verify_write wrote
#                            (pass the same FIO-ARGs, e.g. --size=64M --bs=4k)
#   kmsg MSG                 write a marker to the kernel log
#   power_cut [DELAY]        ask vm-run for a power cut (a SIGKILL of QEMU):
#                            at once (does not return), or DELAY (150ms, 2s)
#                            after the request (returns at once: the test goes
#                            on and the kill lands in what it does next)
#   await_power_cut [SECS]   wait for the delayed power cut; die after SECS
#                            (default 60) if it does not come
#                            (two boots: Documentation/testing.rst, "Power cuts")
#   net_hosts                a second host for the NBD tests (header: vm-run
#                            --net): network namespace bjb, joined to the
#                            guest's own (host A, 192.0.2.1 on bja0) by a veth
#                            pair (bjb0, 192.0.2.2); nbd and veth loaded;
#                            removed at exit. "on_b CMD..." runs CMD on host B.
#   nbd_connected            how many NBD devices have a connection

set -o pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DM_DISABLE_UDEV=1
BJ_TESTS=${BJ_TESTS:-/bj/tests}

BJ_PASS=0
BJ_FAIL=0
BJ_EXIT_CMDS=()
BJ_LOG=$(mktemp /tmp/bjlog.XXXXXX)
BJ_T0=${EPOCHREALTIME/./}

_bj_at() {
	local us=$((${EPOCHREALTIME/./} - BJ_T0))
	printf '[@%d.%ds]' $((us / 1000000)) $((us / 100000 % 10))
}

ok() {
	BJ_PASS=$((BJ_PASS + 1))
	echo "ok - $* $(_bj_at)"
}

not_ok() {
	BJ_FAIL=$((BJ_FAIL + 1))
	echo "not ok - $* $(_bj_at)"
}

check() {
	if "$@" >"$BJ_LOG" 2>&1; then
		ok "$*"
	else
		local rc=$?
		not_ok "$* (exit $rc)"
		sed 's/^/#   /' "$BJ_LOG" | tail -n 30
		return $rc
	fi
}

check_eq() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3 ('$1' != '$2')"
		return 1
	fi
}

_bj_run_exit() {
	local rc=$? i
	trap - EXIT
	for ((i = ${#BJ_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${BJ_EXIT_CMDS[i]}" >/dev/null 2>&1 || true
	done
	rm -f "$BJ_LOG"
	exit $rc
}
trap _bj_run_exit EXIT

on_exit() {
	BJ_EXIT_CMDS+=("$*")
}

die() {
	not_ok "$*"
	echo "Bail out! $*"
	exit 1
}

finish() {
	echo "# $BJ_PASS ok, $BJ_FAIL not ok $(_bj_at)"
	[ "$BJ_FAIL" -eq 0 ] || exit 1
	exit 0
}

dev_path() {
	case $1 in
	/*) echo "$1" ;;
	*) if [ -b "/dev/mapper/$1" ]; then echo "/dev/mapper/$1"; else echo "/dev/$1"; fi ;;
	esac
}

# dev_num DEV: DEV's "major:minor", as a table line names it
dev_num() {
	local d
	d=$(dev_path "$1")
	printf '%d:%d' "0x$(stat -Lc '%t' "$d")" "0x$(stat -Lc '%T' "$d")"
}

# vol_origin [NAME]: the device the live table of volume NAME (default vol) maps
vol_origin() {
	dmsetup table "${1:-vol}" | awk '{print $5}'
}

dev_size() {
	blockdev --getsize64 "$(dev_path "$1")"
}

# digest: a 64-bit digest of standard input (not sha256: in the guest
# sha256sum and pipes each move about 25 MB/s under TCG; the helper reads a
# device itself at over 500 MB/s, tests/vm/helpers/digest.c). Give it a
# device, not a pipe, where the data is large.
DIGEST=$BJ_TESTS/vm/helpers/bin/digest
digest() {
	"$DIGEST"
}

# dev_digest NAME [BYTES]: digest of the whole device or of its first BYTES
dev_digest() {
	if [ -n "${2:-}" ]; then
		"$DIGEST" "$(dev_path "$1")" 0 "$2"
	else
		"$DIGEST" "$(dev_path "$1")"
	fi
}

# dev_digest_at NAME OFFSET BYTES: digest of BYTES bytes of NAME from byte
# OFFSET (O_DIRECT: both multiples of 512)
dev_digest_at() {
	"$DIGEST" "$(dev_path "$1")" "$2" "$3"
}

# sync_map_bytes MDEV: bytes the mirror's sync map on metadata device MDEV
# holds, "" when it has none (blockjob metadata dump --json)
sync_map_bytes() {
	blockjob metadata dump "$1" --json |
		sed -n 's/.*"name": "mirror-sync"[^}]*"count": \([0-9]*\).*/\1/p'
}

# job_field VOL FIELD: a field of `blockjob status VOL --json`
job_field() {
	blockjob status "$1" --json | sed -n "s/.*\"$2\": \"\{0,1\}\([^\",]*\).*/\1/p"
}

# wait_job_offset VOL BYTES SECS: until VOL's job has copied BYTES (a bound, not a sleep)
wait_job_offset() {
	local i=0
	while [ $i -lt $(($3 * 10)) ]; do
		[ "$(job_field "$1" offset)" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# sync_map_empties MDEV WHAT: the clear passes of an idle mirror empty its
# map; wait for that (a bound, not a sleep: 10 s at most), then check it
sync_map_empties() {
	local n=0
	while [ "$(sync_map_bytes "$1")" != 0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	check_eq "$(sync_map_bytes "$1")" 0 "$2"
}

# scaled N [DIVISOR]: N, or N / DIVISOR (default 3) on the debug kernel,
# where every process costs several times more. For loops that repeat one
# race many times: the debug kernel still runs every path, fewer times.
scaled() {
	case $(uname -r) in
	*bjdebug*) echo $(($1 / ${2:-3})) ;;
	*) echo "$1" ;;
	esac
}

# on_debug_kernel: true on the debug kernel, where a test runs three to four
# times slower and only some of its variants (the suite must fit its budget).
on_debug_kernel() {
	case $(uname -r) in *bjdebug*) return 0 ;; esac
	return 1
}

load_blockjob() {
	modprobe dm-blockjob
}

dm_nodes() {
	dmsetup mknodes >/dev/null 2>&1
}

# dm_create NAME TABLE...: with the DM UUID BJTEST-NAME (a stable identity).
dm_create() {
	local name=$1
	shift
	dmsetup create "$name" -u "BJTEST-$name" --table "$*" || return
	dm_nodes
	on_exit "dmsetup remove --retry $name"
}

dm_remove() {
	dmsetup remove --retry "$1"
}

# start_udev: a real systemd-udevd (the test's header asks vm-run for
# --udev), devices known to it, and libdevmapper told to synchronise with it
# (vm-run's DM_DISABLE_UDEV=1 dropped). udevd is stopped at exit.
start_udev() {
	[ -x /usr/lib/systemd/systemd-udevd ] || { echo "# no udevd: the header needs --udev"; return 1; }
	unset DM_DISABLE_UDEV
	/usr/lib/systemd/systemd-udevd --daemon || return 1
	on_exit "udevadm control --exit"
	udevadm trigger --action=add --subsystem-match=block &&
		udevadm settle --timeout=30
}

kmsg() {
	echo "bj-test: $*" >/dev/kmsg
}

mk_pattern() {
	local d=$1 seed=$2 size=${3:-}
	d=$(dev_path "$d")
	[ -n "$size" ] || size=$(blockdev --getsize64 "$d")
	fio --name=bjpattern --filename="$d" --rw=write --bs=1M --size="$size" \
		--direct=1 --ioengine=psync --randrepeat=1 --randseed="$seed" \
		--refill_buffers --buffer_compress_percentage=0 \
		--output=/dev/null >"$BJ_LOG" 2>&1 || { cat "$BJ_LOG"; return 1; }
}

_bj_fio_verify() {
	local d
	d=$(dev_path "$1")
	shift
	fio --name=bjverify --filename="$d" --rw=write --bs=64k --direct=1 \
		--ioengine=libaio --iodepth=8 --verify=crc32c --verify_fatal=1 \
		--verify_state_save=0 --randrepeat=1 --randseed=4242 "$@" \
		--output="$BJ_LOG.fio" >/dev/null 2>&1
	local rc=$?
	if [ $rc -ne 0 ]; then
		grep -v '^$' "$BJ_LOG.fio" | tail -n 20
	fi
	rm -f "$BJ_LOG.fio"
	return $rc
}

fio_verify_write() {
	local d=$1
	shift
	_bj_fio_verify "$d" --do_verify=0 "$@"
}

fio_verify_check() {
	local d=$1
	shift
	_bj_fio_verify "$d" --verify_only=1 "$@"
}

# The request is a console line that scripts/vm-run watches for; it goes to
# /dev/console itself, so that a test's redirected stdout cannot hide it.
power_cut() {
	local d=${1:-}
	[[ -z $d || $d =~ ^[0-9]+(ms|s)$ ]] || die "power_cut: a delay is e.g. 150ms or 2s, not '$d'"
	# on a line of its own: a program writing to the console may have left
	# a line open (fio's progress ends in a carriage return, not a newline)
	printf '\nBJ-POWER-CUT%s\n' "${d:+ $d}" >/dev/console
	[ -n "$d" ] || await_power_cut
}

# (a sleep as a bound: the event is our own death, nothing to poll for)
# shellcheck disable=SC2120	# SECS is for the tests
await_power_cut() {
	sleep "${1:-60}"
	die "no power cut ${1:-60}s after asking for it (run under scripts/vm-run?)"
}

# Host A is the guest's own network namespace, not a second one: the kernel's
# NBD client is configured over generic netlink, which its family answers in
# the initial namespace only.
BJ_NET_A=192.0.2.1
BJ_NET_B=192.0.2.2
net_hosts() {
	if ! ip -V 2>&1 | grep iproute2 >/dev/null || [ ! -x /usr/bin/qemu-nbd ]; then
		echo "# no ip or qemu-nbd in the guest: the test's header needs vm-run --net"
		return 1
	fi
	modprobe veth && modprobe nbd || return 1
	ip netns add bjb || return 1
	on_exit "ip netns del bjb"
	ip link add bja0 type veth peer name bjb0 netns bjb &&
		ip addr add $BJ_NET_A/24 dev bja0 &&
		ip -n bjb addr add $BJ_NET_B/24 dev bjb0 &&
		ip link set lo up && ip link set bja0 up &&
		ip -n bjb link set lo up && ip -n bjb link set bjb0 up
}
on_b() {
	ip netns exec bjb "$@"
}

# (sysfs has a device's "pid" while it is connected)
nbd_connected() {
	local d n=0
	for d in /sys/block/nbd*; do
		[ -e "$d/pid" ] && n=$((n + 1))
	done
	echo $n
}
