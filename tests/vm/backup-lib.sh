# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Helpers of the backup and bitmap VM tests (tests/vm/4N-*.sh, 5N-*.sh).
# Source after lib.sh.
#
#   bk_state VOL                 "<state> <result>" of the job on VOL
#   bk_wait VOL [SECONDS]        poll until the job concludes; prints the result
#   bk_finish VOL                concluded job -> passthrough on the source (dmsetup only)
#   bk_vol NAME DEV SECTORS      blockjob volume over the first SECTORS of DEV, removed at exit
#   bk_linear NAME DEV OFF SECTORS   dm-linear over DEV (removed at exit)
#   bk_error NAME / bk_relinear NAME DEV OFF   swap a dm device's table (error / linear)
#   bk_view_refused VIEW VOL WHAT  creating view VIEW of VOL must fail (ok/not ok on WHAT)
#   bk_writer VOL SECONDS SEED [BYTES]  background fio: unaligned writes of several
#                                sizes + trims, and write-zeroes ranges (blkdiscard -z),
#                                over the whole volume or its first BYTES; sets BK_WPIDS
#   bk_stop_writer               stop them
#   bk_pit_setup SECTORS         vol (blockjob passthrough over a random pattern on
#                                /dev/vdb) and tgt (dm-linear on /dev/vdc), SECTORS
#                                each; the start-time image of vol in /tmp/pit.img
#   bk_chunk DEV N / bk_pit_chunk N   digest of chunk N ($CH bytes) of DEV / of
#                                /tmp/pit.img

bk_state() {
	dmsetup status "$1" | awk '{print $5, $6}'
}

bk_wait() {
	local vol=$1 t=${2:-300} i st
	for ((i = 0; i < t * 10; i++)); do
		st=$(bk_state "$vol")
		case $st in concluded*) echo "${st#concluded }"; return 0 ;; esac
		sleep 0.1
	done
	echo "timeout($st)"
	return 1
}

bk_finish() {
	local vol=$1 sec src off
	read -r _ sec _ _ src off _ < <(dmsetup table "$vol")
	dmsetup load "$vol" --table "0 $sec blockjob passthrough $src $off" &&
		dmsetup suspend "$vol" && dmsetup resume "$vol"
}

bk_vol() {
	dmsetup create "$1" --table "0 $3 blockjob passthrough $2 0" || return
	dm_nodes
	on_exit "dmsetup remove --retry $1"
}

# bk_linear NAME DEV OFFSET SECTORS: a dm-linear slice with the DM UUID
# BJTEST-NAME (a stable identity, as a volume with a metadata device needs).
bk_linear() {
	dmsetup create "$1" -u "BJTEST-$1" --table "0 $4 linear $2 $3" || return
	dm_nodes
	on_exit "dmsetup remove --retry $1"
}

bk_error() {
	local sec
	sec=$(blockdev --getsz "/dev/mapper/$1")
	dmsetup load "$1" --table "0 $sec error" && dmsetup suspend "$1" && dmsetup resume "$1"
}

bk_relinear() {
	local sec
	sec=$(blockdev --getsz "/dev/mapper/$1")
	dmsetup load "$1" --table "0 $sec linear $2 $3" && dmsetup suspend "$1" && dmsetup resume "$1"
}

bk_view_refused() {
	local sec dev
	sec=$(blockdev --getsz "/dev/mapper/$2")
	dev=$(dmsetup info -c --noheadings -o major,minor --separator : "$2")
	if dmsetup create "$1" --table "0 $sec blockjob view $dev" 2>/dev/null; then
		not_ok "$3 was accepted"
		dmsetup remove "$1"
	else
		ok "$3 is refused"
	fi
}

BK_WPIDS=()
bk_writer() {
	local d size
	d=$(dev_path "$1")
	size=${4:-$(blockdev --getsize64 "$d")}
	fio --name=unaligned --filename="$d" --size="$size" --rw=randwrite \
		--bssplit=512/10:3584/15:4k/20:12k/15:68k/20:1m/20 --blockalign=512 \
		--direct=1 --ioengine=libaio --iodepth=4 --time_based --runtime="$2" \
		--randseed="$3" --output=/dev/null \
		--name=trim --filename="$d" --size="$size" --rw=randtrim --bssplit=4k/40:64k/30:1m/30 \
		--direct=1 --ioengine=libaio --iodepth=2 --time_based --runtime="$2" \
		--randseed="$(($3 + 1))" --output=/dev/null >/dev/null 2>&1 &
	BK_WPIDS=($!)
	(
		local end off len
		end=$((SECONDS + $2))
		RANDOM=$3
		while [ $SECONDS -lt $end ]; do
			off=$(( (RANDOM * 32768 + RANDOM) % (size / 512) * 512 ))
			len=$(( (RANDOM % 512 + 1) * 512 ))
			[ $((off + len)) -le "$size" ] || len=$((size - off))
			blkdiscard -z -o "$off" -l "$len" "$d" 2>/dev/null
			sleep 0.05
		done
	) &
	BK_WPIDS+=($!)
}

# Fields of /proc/PID/stat after the command name: 1 state, 2 parent.
_bk_stat() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"
}

# Running (not a zombie waiting for wait)?
_bk_alive() {
	local st
	st=$(_bk_stat "$1" 1)
	[ -n "$st" ] && [ "$st" != Z ]
}

bk_stop_writer() {
	local p c i
	for p in "${BK_WPIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${BK_WPIDS[@]}"; do
		# fio can hang for good on a SIGTERM that comes while its jobs
		# start up (a job that ends in under a second): then SIGKILL it
		# and its job processes.
		for ((i = 0; i < 300; i++)); do
			_bk_alive "$p" || break
			sleep 0.1
		done
		if _bk_alive "$p"; then
			echo "# writer $p still running 30 s after SIGTERM: SIGKILL"
			for c in /proc/[0-9]*; do
				[ "$(_bk_stat "${c#/proc/}" 2)" = "$p" ] && kill -9 "${c#/proc/}" 2>/dev/null
			done
			kill -9 "$p" 2>/dev/null
		fi
		wait "$p" 2>/dev/null
	done
	BK_WPIDS=()
	return 0
}

bk_pit_setup() {
	check mk_pattern vdb "$RANDOM" $(($1 * 512))
	check bk_vol vol /dev/vdb "$1"
	check bk_linear tgt /dev/vdc 0 "$1"
	dd if=/dev/mapper/vol of=/tmp/pit.img bs=1M iflag=direct status=none
}

bk_chunk() {
	dev_digest_at "$1" $(($2 * CH)) "$CH"
}

bk_pit_chunk() {
	"$DIGEST" /tmp/pit.img $(($1 * CH)) "$CH"
}
