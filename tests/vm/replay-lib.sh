# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Crash-replay helpers for the persistent-bitmap tests (issue 17) and the
# mirror's sync map (79, issue 18), the method
# of xfstests generic/482: record every write of a volume's metadata and data
# devices in ONE dm-log-writes log, then check the log at every FLUSH/FUA
# point with tests/vm/helpers/log-replay-check (see its header). Source it
# after lib.sh:  . "$BJ_TESTS/vm/replay-lib.sh"
#
# Layout: lw = log-writes over $RL_DEV (/dev/vdb) logging to $RL_LOG
# (/dev/vdc); on top of lw two dm-linear devices, md = its first $RL_MD_SECT
# sectors (the metadata device) and data = the rest. Use /dev/mapper/md and
# /dev/mapper/data, e.g. the table "passthrough /dev/mapper/data 0 2
# metadata /dev/mapper/md". dm-log-writes logs a write when it is on stable
# storage, in completion order: FUA writes when they complete, others at
# the next flush.
#
#   rl_seeds N [ARG...]  the test's arguments: SEEDS (N, or --seeds N) seeds
#                        from SEED (random, or --seed S, which runs that one)
#   rl_nullb GB          RL_DEV becomes a null_blk device with FUA (below)
#   rl_setup [MD_SECT]   modprobe dm-log-writes; zero the log's first MiB and
#                        the metadata region of $RL_DEV (the checker's image
#                        of it starts all zero: format the metadata through
#                        /dev/mapper/md after this); create lw, md, data
#                        (removed at exit too). Sets RL_MD_SECT, RL_DATA_SECT.
#   rl_mark NAME         add the mark NAME to the log (e.g. right after the
#                        bitmap is added: rl_check's MARK)
#   rl_entries           the entries logged so far (dmsetup status lw)
#   rl_teardown          remove data, md and lw (whatever exists; the volume
#                        on top must be gone). Removing lw logs its pending
#                        writes and the end mark and writes the log's super.
#   rl_load SEED IOS [MIB [JOBS]]  the random write load of 79 and 81 on
#                        /dev/mapper/vol: fio, JOBS (default 2) jobs of IOS
#                        4-64 KiB writes each over its first MIB (default:
#                        all), iodepth 8, an fsync every 32 writes, no O_SYNC.
#                        Two jobs can have writes to the same blocks in
#                        flight at once, which the device may apply in
#                        another order than the log shows (it logs by
#                        completion): use one job where the log must match
#                        the device byte for byte (a point-in-time image).
#   rl_check_map LABEL VOL [ARG...]  the checker's --sync-map mode over the
#                        log (metadata $RL_MD_SECT sectors, then the source
#                        and the destination of VOL sectors each) from the mark
#                        "start", ARGs added (--pit IMAGE: a backup's map);
#                        ok/not_ok LABEL with its summary, the first
#                        violations shown; adds to RL_POINTS and RL_WRITES
#   rl_check BITMAP MARK [ARG...]  rl_teardown, then the checker over the
#                        log for the bitmap BITMAP from the mark MARK (ARGs
#                        added, e.g. --verbose); its output on stdout, its
#                        exit status (0 ok, 1 violations, 2 bad log/input).
#
# Field note: dm-log-writes could log two flushes in flight out of order;
# replay single-queue devices (rl_setup says how many queues $RL_DEV has).

RL_DEV=${RL_DEV:-/dev/vdb}

rl_seeds() {
	SEEDS=$1 SEED=$RANDOM
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--seeds) SEEDS=$2; shift 2 ;;
		--seed) SEED=$2; SEEDS=1; shift 2 ;;
		*) die "unknown argument $1" ;;
		esac
	done
	echo "# seeds $SEEDS from $SEED (replay one with --seed S)"
}

# rl_nullb GB: use a null_blk device of GB GiB (memory-backed, with a
# volatile write cache and FUA, one queue) as RL_DEV. A virtio disk has no
# FUA: an O_SYNC write becomes a write and a flush, and dm-log-writes logs a
# write that is not FUA only at the next flush, so the log cannot show a
# data write made durable (FUA) before the metadata it needs. On this
# device it can: FUA writes are logged as they complete.
rl_nullb() {
	modprobe null_blk nr_devices=1 gb="$1" memory_backed=1 cache_size=64 fua=1 \
		submit_queues=1 bs=512 || return
	RL_DEV=/dev/nullb0
	[ "$(cat /sys/block/nullb0/queue/fua)" = 1 ] ||
		{ echo "rl_nullb: nullb0 has no FUA" >&2; return 1; }
}
RL_LOG=${RL_LOG:-/dev/vdc}
RL_MD_SECT=${RL_MD_SECT:-16384}		# 8 MiB
RL_DATA_SECT=
RL_CHECKER=${RL_CHECKER:-$BJ_TESTS/vm/helpers/bin/log-replay-check}

rl_setup() {
	local size q
	[ -n "${1:-}" ] && RL_MD_SECT=$1
	modprobe dm-log-writes || return
	size=$(blockdev --getsz "$RL_DEV") || return
	RL_DATA_SECT=$((size - RL_MD_SECT))
	[ "$RL_DATA_SECT" -gt 0 ] || { echo "rl_setup: $RL_DEV is too small" >&2; return 1; }
	q=$(find "/sys/block/${RL_DEV#/dev/}/mq" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	echo "# rl_setup: $RL_DEV has $q hardware queue(s); metadata $RL_MD_SECT sectors, data $RL_DATA_SECT"
	dd if=/dev/zero of="$RL_LOG" bs=1M count=1 oflag=direct status=none || return
	dd if=/dev/zero of="$RL_DEV" bs=1M count=$(((RL_MD_SECT + 2047) / 2048)) oflag=direct \
		status=none || return
	dm_create lw "0 $size log-writes $RL_DEV $RL_LOG" || return
	dm_create md "0 $RL_MD_SECT linear /dev/mapper/lw 0" || return
	dm_create data "0 $RL_DATA_SECT linear /dev/mapper/lw $RL_MD_SECT"
}

rl_mark() {
	dmsetup message lw 0 mark "$1"
}

rl_entries() {
	dmsetup status lw | awk '$3 == "log-writes" { print $4 }'
}

rl_teardown() {
	local d
	for d in data md lw; do
		if dmsetup info "$d" >/dev/null 2>&1; then
			dmsetup remove --retry "$d" || return
		fi
	done
	dm_nodes
}

rl_load() {
	local size=${3:-$(($(blockdev --getsize64 /dev/mapper/vol) >> 20))}
	fio --filename=/dev/mapper/vol --direct=1 --ioengine=libaio --rw=randwrite \
		--bsrange=4k-64k --size="${size}M" --number_ios="$2" --iodepth=8 \
		--randseed="$1" --output=/dev/null --name=load --numjobs="${4:-2}" --fsync=32
}

RL_POINTS=0 RL_WRITES=0
rl_check_map() {
	local label=$1 vol=$2 r sum pts wrs vio
	shift 2
	"$RL_CHECKER" --log "$RL_LOG" --md-start 0 --md-sectors "$RL_MD_SECT" \
		--data-start "$RL_MD_SECT" --data-sectors "$vol" --sync-map \
		--dst-start $((RL_MD_SECT + vol)) --from-mark start --verbose "$@" \
		>/tmp/replay.out 2>&1
	r=$?
	sum=$(sed -n '/^points /p' /tmp/replay.out)
	read -r _ pts _ wrs _ vio <<<"$sum"
	if [ $r = 0 ] && [ "${pts:-0}" -gt 0 ] && [ "${vio:-1}" = 0 ]; then
		ok "$label: $sum"
		RL_POINTS=$((RL_POINTS + pts)) RL_WRITES=$((RL_WRITES + wrs))
	else
		not_ok "$label (exit $r): $sum"
		sed -n '/^violation\|^FAIL\|^log-replay-check/p' /tmp/replay.out | head -n 20
	fi
	sed -n 's/^log: /# log: /p' /tmp/replay.out
}

rl_check() {
	local bitmap=$1 mark=$2
	shift 2
	rl_teardown || return 2
	"$RL_CHECKER" --log "$RL_LOG" --md-start 0 --md-sectors "$RL_MD_SECT" \
		--data-start "$RL_MD_SECT" --data-sectors "$RL_DATA_SECT" \
		--bitmap "$bitmap" --from-mark "$mark" "$@"
}
