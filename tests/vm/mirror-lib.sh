# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Helpers of the mirror lifecycle VM tests (tests/vm/2N-*.sh): a volume
# "vol" over dm-linear "src" and a destination dm-linear "dst", so that
# either can be swapped to an error table, or suspended to hold I/O.
# Source after lib.sh; set SRC, DST (disks) and SIZE (bytes) first.
#
#   ml_setup SEED               pattern on SRC, garbage on DST, src, dst, vol
#   ml_teardown                 resume src and dst, remove vol, src, dst
#   ml_wait_state VOL STATE S   poll until VOL's status shows STATE (S seconds)
#   ml_swap NAME TABLE          load TABLE into dm device NAME, switch to it
#   ml_devnum NAME              major:minor of dm device NAME
#   ml_state                    "<state> <result>" of the job on vol
#   ml_hold_write               a guest write to vol held in flight in src
#                               (suspended without flushing); ml_release_write
#                               lets it go and checks it completed
#   ml_in_suspend PID           wait until PID sleeps in dm_suspend, interruptibly
#                               (waiting for I/O in flight: a signal ends it)

ml_setup() {
	local sect=$((SIZE / 512))
	mk_pattern "$SRC" "$1" "$SIZE"
	# garbage in the destination (other data than the source's): fio is
	# twice as fast as /dev/urandom on the debug kernel
	mk_pattern "$DST" $(($1 + 7919)) "$SIZE"
	dmsetup create src --table "0 $sect linear $SRC 0" &&
		dmsetup create dst --table "0 $sect linear $DST 0" || die "dm-linear"
	dm_nodes
	blockjob create vol /dev/mapper/src || die "create"
}

ml_teardown() {
	dmsetup resume src 2>/dev/null
	dmsetup resume dst 2>/dev/null
	dmsetup remove --retry vol; dmsetup remove --retry src; dmsetup remove --retry dst
}

ml_wait_state() {
	local i=0
	while [ $i -lt $(($3 * 10)) ]; do
		case "$(dmsetup status "$1")" in *" $2 "*) return 0 ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

ml_swap() {
	dmsetup load "$1" --table "$2" && dmsetup suspend --noflush "$1" && dmsetup resume "$1"
}

ml_devnum() {
	dmsetup info -c --noheadings -o major,minor --separator : "$1"
}

ml_state() {
	dmsetup status vol | awk '{print $5, $6}'
}

ml_hold_write() {
	local inflight i
	check dmsetup suspend --noflush src
	dd if=/dev/urandom of=/dev/mapper/vol bs=4K count=1 seek=200 oflag=direct status=none &
	ML_HELD=$!
	inflight=/sys/block/dm-$(dmsetup info -c --noheadings -o minor vol)/inflight
	for ((i = 0; i < 600; i++)); do
		[ "$(awk '{print $2}' "$inflight")" -ge 1 ] && break
		sleep 0.1
	done
	check_eq "$(awk '{print $2}' "$inflight")" 1 "a guest write is held in flight"
}

ml_release_write() {
	check dmsetup resume src
	wait "$ML_HELD"
	check_eq "$?" 0 "the held write completed"
}

ml_in_suspend() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = S ] &&
			grep -q dm_suspend "/proc/$1/stack" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
