#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark's guest side: run inside the test VM by scripts/bench
# (scripts/vm-run --xfer DIR), never by hand on a host.
#
# Reads DIR/config (shell variables, written by scripts/bench), the iologs
# DIR/iolog-{4k,64k}[-rewrite], and the optional DIR/dm-clone.ko (or
# DIR/dm-clone.na: why there is none). Writes DIR/results.txt, one record a
# line, which tests/bench/report.py turns into the table, JSON and chart:
#
#   R <scenario> <system> <metric> <run> <value>   a measured value
#   NA <scenario> <system> <metric> <reason...>      a system/metric that could not run
#   F <scenario> <system> <run> <tag>                fio result DIR/fio/<tag>.json
#   W <scenario> <system> <run> <tag> <t0 ms> <t1 ms>  pivot window over DIR/fio/<tag>_lat.1.log
#   I <key> <value...>                               information (kernel, sizes, ...)
#
# Every step has a timeout; a system that fails gives an NA record and the
# bench goes on with the next one. Devices: /dev/vdb source, /dev/vdc
# destination, /dev/vdd backup/COW device, /dev/vde dm-clone metadata (and
# the metadata device of scenario 7).
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
export DM_DISABLE_UDEV=1
X=${1:-/xfer}
# shellcheck source=/dev/null
. "$X/config"
: "${VOL_MB:=512}" "${RUNS:=3}" "${FIO_T:=15}" "${CONV_T:=60}" "${PIVOT_T:=10}"
: "${COPY_LIMIT:=300}" "${SCENARIOS:=1 2 3 4 5 6 7 8}" "${S7_QD1_IOS:=2048}" "${MEM_TIB:=2}" "${MEM_EXC:=16384}"
: "${S3_SYSTEMS:=dm-linear bj-backup-none bj-backup-full bj-backup-full-md dm-snap-P dm-snap-N}" "${S3_CHUNKS:=4 64}"
OUT=$X/results.txt
FIOD=$X/fio
mkdir -p "$FIOD"
: >"$OUT"
SRC=/dev/vdb DST=/dev/vdc AUX=/dev/vdd META=/dev/vde
SECT=$((VOL_MB * 2048))
VOL_BYTES=$((VOL_MB << 20))
DMT=30			# timeout of a dmsetup command, seconds
WHY=""

log() { echo "bench: $*" >&2; }
# nbd_dev_of NAME: the device node a volume over NBD maps (found by
# major:minor: an NBD device's minor is not its index)
nbd_dev_of() {
	echo "/dev/$(basename "$(readlink "/sys/dev/block/$(dmsetup deps "$1" | sed -n 's/.*(\([0-9]*\), \([0-9]*\)).*/\1:\2/p')")")"
}
rec() { echo "R $*" >>"$OUT"; }
na() {	# scenario system metric reason...
	echo "NA $*" >>"$OUT"
	log "n/a: $*"
}
info() { echo "I $*" >>"$OUT"; }
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# time in microseconds, and a difference in seconds
now_us() { local t=$EPOCHREALTIME; echo $((${t%.*} * 1000000 + 10#${t#*.})); }
now_ms() { echo $(($(now_us) / 1000)); }
secs() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }

dm() { timeout "$DMT" dmsetup "$@"; }
# Remove every dm device (the guest has no others), retrying; views first.
dm_clean() {
	local n _
	for _ in 1 2 3; do
		for n in $(dmsetup ls 2>/dev/null | awk '$1 ~ /pit|snap/ {print $1}') \
			$(dmsetup ls 2>/dev/null | awk '$1 !~ /^z/ {print $1}') \
			$(dmsetup ls 2>/dev/null | awk '{print $1}'); do
			timeout "$DMT" dmsetup remove --retry "$n" >/dev/null 2>&1
		done
		dmsetup ls 2>/dev/null | grep -v 'No devices found' >/dev/null || return 0
		timeout "$DMT" dmsetup remove_all --force >/dev/null 2>&1
	done
	log "warning: dm devices left: $(dmsetup ls | tr '\n' ' ')"
}
# mk_timed NAME TABLE PRED: create NAME with TABLE, timed from T0 just
# before its resume, with a watcher for PRED (limit COPY_LIMIT) started
# before T0.
mk_timed() {
	local err
	err=$(dm create "$1" --notable 2>&1) || { WHY="dmsetup create $1: $(echo "$err" | tr '\n' ' ' | cut -c1-200)"; return 1; }
	dmsetup mknodes "$1" >/dev/null 2>&1
	watch_start "$1" "$3" "$COPY_LIMIT"
	err=$(dm load "$1" --table "$2" 2>&1) || { WHY="dmsetup load: $(echo "$err" | tr '\n' ' ' | cut -c1-200)"; return 1; }
	T0=$(now_us)
	dm resume "$1" || { WHY="resume failed"; return 1; }
}
mk() {	# NAME TABLE [UUID]: dmsetup create + node
	local err
	err=$(dm create "$1" --table "$2" ${3:+--uuid "$3"} 2>&1) || { WHY="dmsetup create $1: $(echo "$err" | tr '\n' ' ' | cut -c1-200)"; return 1; }
	dmsetup mknodes "$1" >/dev/null 2>&1
	return 0
}
# reload NAME TABLE [PRED]: load + suspend + resume (the job starts at the
# resume); with PRED, a watcher for it (limit COPY_LIMIT) starts before T0.
reload() {
	local err
	err=$(dm load "$1" --table "$2" 2>&1) || { WHY="dmsetup load: $(echo "$err" | tr '\n' ' ' | cut -c1-200)"; return 1; }
	dm suspend "$1" || { WHY="suspend failed"; return 1; }
	[ -z "${3:-}" ] || watch_start "$1" "$3" "$COPY_LIMIT"
	T0=$(now_us)
	dm resume "$1" || { WHY="resume failed"; return 1; }
}

# Status patterns (ERE, for dm-watch): "done" and "failed", per predicate.
pattern() {	# PRED: sets DONE_RE, FAIL_RE
	case $1 in
	st_ready)	# blockjob mirror
		DONE_RE=' mirror (ready|standby) ' FAIL_RE=' concluded ' ;;
	st_completed)	# blockjob backup
		DONE_RE=' concluded completed ' FAIL_RE=' concluded ' ;;
	st_raid1)	# "0 N mirror 2 a b x/y 1 AA 1 core": in sync when x = y
		DONE_RE='^[0-9]+ [0-9]+ mirror 2 [^ ]+ [^ ]+ ([0-9]+)/\1 ' FAIL_RE='' ;;
	st_clone)	# "0 N clone mbs u/t rs h/t ...": hydrated when h = t
		DONE_RE='^[0-9]+ [0-9]+ clone [^ ]+ [^ ]+ [^ ]+ ([0-9]+)/\1 ' FAIL_RE=' [Ff]ail' ;;
	*) log "bug: no pattern for $1"; exit 1 ;;
	esac
}
# watch_start NAME PRED LIMIT_S: start dm-watch on NAME for PRED, giving up
# after LIMIT_S. It sleeps in the kernel until the device raises an event,
# so the end of a copy is timed to the event and not to the next dmsetup a
# shell loop would start (tens of ms each under TCG, competing with the copy).
WATCH=$BJ_TESTS/vm/helpers/bin/dm-watch
WATCH_NAME="" WATCH_PID="" WATCH_OUT=/tmp/dm-watch.out
watch_start() {
	pattern "$2"
	"$WATCH" -t "$3" "$1" "$DONE_RE" ${FAIL_RE:+"$FAIL_RE"} >"$WATCH_OUT" 2>&1 &
	WATCH_PID=$! WATCH_NAME=$1
}
# wait_until NAME PRED LIMIT_S: wait until PRED's pattern matches NAME's
# status, through the watcher started for NAME before T0 (reload, mk_timed:
# its limit counts from its start) or a new one (LIMIT_S from T0).
# 0: done, ELAPSED = seconds from T0 to the match; 1: not done in time;
# 2: failed. WHY says why.
wait_until() {
	local name=$1 pred=$2 limit=$3 left rc t
	if [ "$WATCH_NAME" != "$name" ]; then
		left=$((T0 + limit * 1000000 - $(now_us)))
		[ $left -gt 1000 ] || left=1000
		watch_start "$name" "$pred" "$(secs $left)"
	fi
	wait "$WATCH_PID"
	rc=$?
	WATCH_NAME=""
	case $rc in
	0)
		read -r t _ <"$WATCH_OUT"
		ELAPSED=$(secs $((t - T0)))
		return 0 ;;
	2) WHY="$(head -c 300 "$WATCH_OUT")"; return 2 ;;
	3) WHY="not done within ${limit}s: $(head -c 300 "$WATCH_OUT")"; return 1 ;;
	*) WHY="dm-watch: $(head -c 300 "$WATCH_OUT")"; return 2 ;;
	esac
}

progress() {	# NAME: percent done of a blockjob job, from "done/total"
	dmsetup status "$1" 2>/dev/null | awk '{split($7, a, "/"); if (a[2] > 0) printf "%.1f", 100 * a[1] / a[2]; else print "?"}'
}

FIO_COMMON=(--ioengine=libaio --direct=1 --output-format=json --eta=never)
# fio_rw TAG DEV SECONDS [ARG...]: 4 KiB random writes, iodepth 16, time based
fio_rw() {
	local tag=$1 dev=$2 t=$3
	shift 3
	timeout $((t + 90)) fio --name=w --filename="$dev" --rw=randwrite --bs=4k --iodepth=16 \
		--size=$VOL_BYTES --time_based --runtime="$t" --norandommap --randrepeat=0 \
		"${FIO_COMMON[@]}" --output="$FIOD/$tag.json" "$@" >/dev/null 2>"$FIOD/$tag.err"
}
fio_replay() {	# TAG IOLOG [ARG...]: replay an iolog (4 KiB writes), iodepth 16 (ARGs may override)
	local tag=$1 log=$2
	shift 2
	timeout 600 fio --name=w --read_iolog="$log" --replay_no_stall=1 --iodepth=16 \
		"${FIO_COMMON[@]}" --output="$FIOD/$tag.json" "$@" >/dev/null 2>"$FIOD/$tag.err"
}
fio_iops() {	# TAG: write IOPS from the JSON (first "iops" of the "write" object)
	awk '/"write" : \{/ {w = 1} w && /"iops" :/ {gsub(/[,"]/, ""); print int($3); exit}' "$FIOD/$1.json"
}
sectors_written() { awk '{print $7}' "/sys/block/$(basename "$1")/stat"; }

# stop_bg PID: SIGTERM to the children of the background function PID (its
# "timeout fio ...", which passes the signal on to fio, which then writes its
# results), then wait for it.
stop_bg() {
	local p c
	for p in /proc/[0-9]*/stat; do
		read -r c _ _ pp _ <"$p" 2>/dev/null || continue
		[ "$pp" = "$1" ] && kill -TERM "$c" 2>/dev/null
	done
	wait "$1"
}

# Flush the scratch disks. With scripts/bench --disk-cache writeback (its
# default) the host writes their dirty pages out now, and not in the middle
# of the next measured pass (with unsafe this is a no-op).
flush_disks() {
	timeout 120 sync "$SRC" "$DST" "$AUX" "$META" 2>/dev/null ||
		log "warning: flushing the scratch disks failed"
}
settle() { sync; flush_disks; echo 3 >/proc/sys/vm/drop_caches; sleep 1; }
# quiesce DEV: wait (at most 10 s) until DEV has nothing in flight and its
# written-sector count has held still for half a second (a job's or a
# snapshot's writes that outlive the guest's, e.g. copies of chunks whose
# guest writes were let go once read), then flush the scratch disks.
quiesce() {
	local d n last="" i rd wr
	d=/sys/block/$(basename "$1")
	for ((i = 0; i < 20; i++)); do
		read -r rd wr <"$d/inflight"
		n="$rd $wr $(sectors_written "$1")"
		[[ $rd == 0 && $wr == 0 && $n == "$last" ]] && break
		last=$n
		sleep 0.5
	done
	flush_disks
}

# ---------------------------------------------------------------------------
modprobe -a dm-mod dm-mirror dm-log dm-region-hash dm-snapshot dm-zero dm-persistent-data \
	dm-bio-prison dm-era 2>/dev/null
modprobe dm-blockjob || log "warning: modprobe dm-blockjob failed"
info kernel "$(uname -r)"
info cpus "$(nproc)"
info mem_kb "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
info vol_mb "$VOL_MB"
info fio_t "$FIO_T"
info conv_t "${CONV_T}s"
info runs "$RUNS"
info targets "$(dmsetup targets | awk '{printf "%s%s", s, $1 $2; s = ","}')"
CLONE=""
if [ -f "$X/dm-clone.ko" ]; then
	cp "$X/dm-clone.ko" /tmp/dm-clone.ko
	if err=$(insmod /tmp/dm-clone.ko 2>&1); then
		CLONE=ok
	else
		CLONE_WHY="insmod dm-clone.ko: $err"
	fi
else
	CLONE_WHY=$(cat "$X/dm-clone.na" 2>/dev/null || echo "no dm-clone module")
fi
log "targets: $(dmsetup targets | awk '{printf "%s ", $1}')"

# Fill the ranges used, so that no copy reads holes and no write allocates
# blocks in the host's sparse disk images.
log "filling the disks ($VOL_MB MiB each)"
for d in $SRC $DST $AUX; do
	timeout 600 fio --name=fill --filename=$d --rw=write --bs=1M --size=$VOL_BYTES --iodepth=4 \
		--ioengine=libaio --direct=1 --refill_buffers --randseed=7 --output=/dev/null >/dev/null 2>&1 &
done
wait
dm_clean

BJ_MIRROR="blockjob mirror $SRC 0 $DST 0 128"
# shellcheck source=tests/bench/qmp.sh
. "$BJ_TESTS/bench/qmp.sh"
# shellcheck source=tests/bench/nbd-path.sh
. "$BJ_TESTS/bench/nbd-path.sh"
if v=$(qsd_version); then
	info qemu "$v"
else
	info qemu "n/a: $(cat "$X/qsd.na" 2>/dev/null || echo "no qemu-storage-daemon")"
fi

# ---------------------------------------------------------------------------
# 1. Bulk copy, idle guest
s1_run() {	# SYSTEM RUN
	local sys=$1 r=$2 t
	WHY="" ELAPSED=""
	case $sys in
	dd)
		T0=$(now_us)
		timeout "$COPY_LIMIT" dd if=$SRC of=$DST bs=4M count=$((VOL_MB / 4)) iflag=direct \
			oflag=direct conv=fsync status=none || { WHY="dd failed"; return 1; }
		ELAPSED=$(secs $(($(now_us) - T0)))
		;;
	bj-mirror | bj-mirror-1M)
		# bj-mirror-1M, diagnostics: 1 MiB regions, one region per copy (per-region cost)
		local mirror=$BJ_MIRROR
		[ $sys = bj-mirror-1M ] && mirror="blockjob mirror $SRC 0 $DST 0 2048"
		mk bv "0 $SECT blockjob passthrough $SRC 0" &&
			reload bv "0 $SECT $mirror" st_ready &&
			wait_until bv st_ready "$COPY_LIMIT" || return 1
		;;
	fio-limit)	# the copy's physical limit: the source read and the destination written at once
		# Timed by fio's own job runtimes (the longer job), not by the
		# process: fio's start-up takes about half a second in the TCG guest.
		local ms
		timeout "$COPY_LIMIT" fio --ioengine=libaio --direct=1 --bs=1M --iodepth=16 --size=$VOL_BYTES \
			--name=read --filename=$SRC --rw=read --name=write --filename=$DST --rw=write --end_fsync=1 \
			--output-format=json --output="$FIOD/s1-fio-limit-$r.json" >/dev/null 2>&1 ||
			{ WHY="fio failed"; return 1; }
		ms=$(awk '/"job_runtime" :/ {gsub(/,/, ""); if ($3 > m) m = $3} END {print m + 0}' \
			"$FIOD/s1-fio-limit-$r.json")
		[ "$ms" -gt 0 ] || { WHY="no job_runtime in fio's output"; return 1; }
		ELAPSED=$(secs $((ms * 1000)))
		;;
	qemu-mirror | qemu-mirror-wb | qemu-backup)
		qemu_copy $sys "$r" || return 1
		;;
	dd-1M)	# diagnostics: dd in the copier's I/O size (1 MiB runs), one at a time
		T0=$(now_us)
		timeout "$COPY_LIMIT" dd if=$SRC of=$DST bs=1M count=$VOL_MB iflag=direct \
			oflag=direct conv=fsync status=none || { WHY="dd failed"; return 1; }
		ELAPSED=$(secs $(($(now_us) - T0)))
		;;
	bj-backup-full)
		mk bv "0 $SECT blockjob passthrough $SRC 0" &&
			reload bv "0 $SECT blockjob backup $SRC 0 $DST 0 128 2 sync full" st_completed &&
			wait_until bv st_completed "$COPY_LIMIT" || return 1
		;;
	dm-raid1)
		mk_timed r1 "0 $SECT mirror core 1 4096 2 $SRC 0 $DST 0" st_raid1 &&
			wait_until r1 st_raid1 "$COPY_LIMIT" || return 1
		;;
	dm-clone | dm-clone-t16)
		[ -n "$CLONE" ] || { WHY=$CLONE_WHY; return 1; }
		dd if=/dev/zero of=$META bs=1M count=4 oflag=direct status=none
		local feat=""
		[ $sys = dm-clone-t16 ] && feat=" 0 4 hydration_threshold 16 hydration_batch_size 16"
		mk_timed cl "0 $SECT clone $META $DST $SRC 128$feat" st_clone &&
			wait_until cl st_clone "$COPY_LIMIT" || return 1
		;;
	esac
	rec 1 "$sys" copy_s "$r" "$ELAPSED"
	t=${ELAPSED%.*}${ELAPSED#*.}
	rec 1 "$sys" rate_mbs "$r" $((VOL_MB * 1000000 / 10#$t))
}
if has 1; then
	log "scenario 1: bulk copy of $VOL_MB MiB, idle guest"
	S1_SYS="dd fio-limit bj-mirror qemu-mirror bj-backup-full qemu-backup qemu-mirror-wb dm-raid1 dm-clone"
	S1_SYS+=" dm-clone-t16 dd-1M bj-mirror-1M"
	for r in $(seq 1 "$RUNS"); do
		for sys in $S1_SYS; do
			settle
			if s1_run $sys "$r"; then
				log "  $sys run $r: ${ELAPSED}s"
			else
				na 1 $sys copy_s "$WHY"
			fi
			dm_clean
		done
	done
fi

# Scenarios 2 and 3 again through qemu-storage-daemon's NBD export, for
# QEMU's jobs and blockjob alike (tests/bench/nbd-path.sh)
NBDP=no
if [ "${NBD_PATH:-yes}" = yes ] && { has 2 || has 3; }; then
	if [ ! -x "$QSD_DIR/qemu-storage-daemon" ]; then
		NBDP_WHY=$(cat "$X/qsd.na" 2>/dev/null || echo "no qemu-storage-daemon in the bench guest")
	elif nbdp_ready; then
		NBDP=ok
	else
		NBDP_WHY=$WHY
	fi
	if [ $NBDP != ok ]; then
		for sys in nbd-linear bj-background-nbd qemu-mirror-nbd bj-write_blocking-nbd qemu-mirror-wb-nbd; do
			has 2 && na 2 $sys iops "$NBDP_WHY"
		done
		for sys in nbd-linear bj-backup-none-nbd qemu-backup-none-nbd bj-backup-full-nbd qemu-backup-full-nbd; do
			has 3 && na 3 "$sys-64k-first" iops "$NBDP_WHY"
		done
	fi
fi

# ---------------------------------------------------------------------------
# 2. Guest writes during a mirror
s2_run() {	# SYSTEM RUN
	local sys=$1 r=$2 dev name pred fpid
	WHY=""
	case $sys in
	dm-linear)
		mk bv "0 $SECT linear $SRC 0" || return 1
		fio_rw "s2-$sys-$r" /dev/mapper/bv "$FIO_T" || { WHY="fio failed: $(tail -c 200 "$FIOD/s2-$sys-$r.err")"; return 1; }
		echo "F 2 $sys $r s2-$sys-$r" >>"$OUT"
		return 0
		;;
	bj-background | bj-write_blocking)
		name=bv pred=st_ready
		mk bv "0 $SECT blockjob passthrough $SRC 0" || return 1
		reload bv "0 $SECT $BJ_MIRROR 2 copy_mode ${sys#bj-}" || return 1
		;;
	dm-raid1)
		name=r1 pred=st_raid1
		T0=$(now_us)
		mk r1 "0 $SECT mirror core 1 4096 2 $SRC 0 $DST 0" || return 1
		;;
	esac
	dev=/dev/mapper/$name
	fio_rw "s2-$sys-$r" "$dev" "$FIO_T" &
	fpid=$!
	if wait_until $name $pred "$FIO_T"; then
		rec 2 "$sys" ready_s "$r" "$ELAPSED"
	else
		na 2 "$sys" ready_s "run $r: not in sync while fio wrote (${FIO_T}s): $(progress $name)% done; $WHY"
	fi
	wait $fpid || { WHY="fio failed: $(tail -c 200 "$FIOD/s2-$sys-$r.err")"; return 1; }
	echo "F 2 $sys $r s2-$sys-$r" >>"$OUT"
	# the same load once in sync: the steady-state cost of a mirror
	if wait_until $name $pred "$COPY_LIMIT"; then
		fio_rw "s2-$sys-insync-$r" "$dev" "$FIO_T" &&
			echo "F 2 $sys-insync $r s2-$sys-insync-$r" >>"$OUT"
	else
		na 2 "$sys-insync" iops "never in sync: $WHY"
	fi
	return 0
}
if has 2; then
	log "scenario 2: fio 4k randwrite qd16 for ${FIO_T}s during a mirror"
	for r in $(seq 1 "$RUNS"); do
		for sys in dm-linear bj-background bj-write_blocking dm-raid1; do
			settle
			s2_run $sys "$r" || na 2 $sys iops "run $r: $WHY"
			log "  $sys run $r done"
			dm_clean
		done
		[ "$NBDP" = ok ] || continue
		for sys in nbd-linear bj-background-nbd qemu-mirror-nbd bj-write_blocking-nbd qemu-mirror-wb-nbd; do
			settle
			s2n_run $sys "$r" || na 2 $sys iops "run $r: $WHY"
			log "  $sys run $r done"
			dm_clean
		done
	done
fi

# The metadata device m7 (scenarios 3 and 7), on META.
S7_MD_SECT=$((64 * 2048))	# the metadata device: 64 MiB of META (4 TiB needs 34 MiB)
mk_md7() {	# the metadata device m7, its first MiB zeroed (blockjob formats it, dm-era too)
	mk m7 "0 $S7_MD_SECT linear $META 0" bench-m7 || return 1
	dd if=/dev/zero of=/dev/mapper/m7 bs=1M count=1 oflag=direct status=none ||
		{ WHY="zeroing the metadata device failed"; return 1; }
}

# ---------------------------------------------------------------------------
# 3. Guest writes during a backup (point-in-time copy)

# s3_after_first SYSTEM TAG RUN W0 REWRITE_IOLOG [FIO ARG...]: once the
# first writes (fio result TAG-first) are done: wait for the backup device
# to settle, record the pass and the backup-device bytes since W0, then the
# rewrite pass (REWRITES > 0) and its bytes. 1 and WHY if fio fails.
s3_after_first() {
	local sys=$1 tag=$2 r=$3 w0=$4 relog=$5 w1 w2
	shift 5
	quiesce $AUX
	w1=$(sectors_written $AUX)
	echo "F 3 $sys-first $r $tag-first" >>"$OUT"
	rec 3 "$sys-first" aux_bytes "$r" $(((w1 - w0) * 512))
	[ "$REWRITES" -gt 0 ] || return 0
	fio_replay "$tag-rewrite" "$relog" "$@" || { WHY="fio (rewrites) failed: $(tail -c 200 "$FIOD/$tag-rewrite.err")"; return 1; }
	w2=$(sectors_written $AUX)
	echo "F 3 $sys-rewrite $r $tag-rewrite" >>"$OUT"
	rec 3 "$sys-rewrite" aux_bytes "$r" $(((w2 - w1) * 512))
}

s3_run() {	# SYSTEM CHUNK_KB RUN
	local sys=$1 ck=$2 r=$3 cs=$(($2 * 2)) w0 tag err
	WHY=""
	tag=s3-$sys-${ck}k-$r
	dd if=/dev/zero of=$AUX bs=64k count=1 oflag=direct status=none
	case $sys in
	dm-linear)
		mk bv "0 $SECT linear $SRC 0" || return 1
		;;
	bj-backup-none | bj-backup-full)
		mk bv "0 $SECT blockjob passthrough $SRC 0" || return 1
		reload bv "0 $SECT blockjob backup $SRC 0 $AUX 0 $cs 2 sync ${sys#bj-backup-}" || return 1
		;;
	bj-backup-full-md)
		# a volume with a metadata device (on META, as scenario 7's): the
		# backup keeps its map of the chunks not durably saved there, and a
		# first write waits for the copy, a flush of AUX and a map commit
		mk d7 "0 $SECT linear $SRC 0" bench-d7 && mk_md7 || return 1
		err=$(timeout 60 blockjob create bv /dev/mapper/d7 --metadata /dev/mapper/m7 2>&1) ||
			{ WHY="blockjob create: $(echo "$err" | tr '\n' ' ' | cut -c1-200)"; return 1; }
		dmsetup mknodes bv >/dev/null 2>&1
		reload bv "0 $SECT blockjob backup /dev/mapper/d7 0 $AUX 0 $cs 4 sync full metadata /dev/mapper/m7" ||
			return 1
		;;
	dm-snap-P | dm-snap-N)
		mk base "0 $SECT linear $SRC 0" &&
			mk bv "0 $SECT snapshot-origin /dev/mapper/base" || return 1
		dm suspend bv || { WHY="suspend"; return 1; }
		mk snap "0 $SECT snapshot /dev/mapper/base $AUX ${sys#dm-snap-} $cs" || { dm resume bv; return 1; }
		dm resume bv || { WHY="resume"; return 1; }
		;;
	esac
	w0=$(sectors_written $AUX)
	fio_replay "$tag-first" "$X/iolog-${ck}k" || { WHY="fio (first writes) failed: $(tail -c 200 "$FIOD/$tag-first.err")"; return 1; }
	s3_after_first "$sys-${ck}k" "$tag" "$r" "$w0" "$X/iolog-${ck}k-rewrite" || return 1
	case $sys in
	bj-*) rec 3 "$sys-${ck}k-first" state "$r" "$(dmsetup status bv | awk '{print $5}')" ;;
	dm-snap-*) rec 3 "$sys-${ck}k-first" snap_status "$r" "$(dmsetup status snap | awk '{print $4}')" ;;
	esac
	return 0
}
if has 3; then
	NIOS=$(grep -c ' write ' "$X/iolog-64k")
	info s3_writes "$NIOS"
	REWRITES=$(($(grep -c ' write ' "$X/iolog-64k-rewrite") / NIOS))
	info s3_rewrites $((REWRITES * NIOS))
	log "scenario 3: $NIOS 4k writes (qd16) to distinct chunks during a backup/snapshot, then again"
	for r in $(seq 1 "$RUNS"); do
		for ck in $S3_CHUNKS; do
			for sys in $S3_SYSTEMS; do
				settle
				s3_run $sys $ck "$r" || na 3 "$sys-${ck}k-first" iops "run $r: $WHY"
				log "  $sys ${ck}k run $r done"
				dm_clean
			done
		done
		[ "$NBDP" = ok ] || continue
		for sys in nbd-linear bj-backup-none-nbd qemu-backup-none-nbd bj-backup-full-nbd qemu-backup-full-nbd; do
			settle
			s3n_run $sys "$r" || na 3 "$sys-64k-first" iops "run $r: $WHY"
			log "  $sys 64k run $r done"
			dm_clean
		done
	done
fi

# ---------------------------------------------------------------------------
# 4. Convergence under a sustained write rate
if has 4; then
	log "scenario 4: convergence"
	mk bv "0 $SECT linear $SRC 0"
	RAW=0
	if fio_rw s4-raw /dev/mapper/bv "$FIO_T"; then
		RAW=$(fio_iops s4-raw)
		echo "F 4 raw 1 s4-raw" >>"$OUT"
	fi
	dm_clean
	info s4_raw_iops "$RAW"
	log "  raw 4k randwrite qd16: $RAW IOPS"
	for pct in 25 50 90; do
		rate=$((RAW * pct / 100))
		for mode in background write_blocking; do
			for r in $(seq 1 "$RUNS"); do
				settle
				sys=bj-$mode-$pct
				if [ "$rate" -le 0 ]; then
					na 4 $sys ready_s "no raw rate measured"
					continue
				fi
				if ! mk bv "0 $SECT blockjob passthrough $SRC 0"; then
					na 4 $sys ready_s "$WHY"
					continue
				fi
				fio_rw "s4-$sys-$r" /dev/mapper/bv $((CONV_T + 30)) --rate_iops="$rate" &
				fpid=$!
				sleep 2
				if reload bv "0 $SECT $BJ_MIRROR 2 copy_mode $mode"; then
					if wait_until bv st_ready "$CONV_T"; then
						rec 4 $sys ready_s "$r" "$ELAPSED"
					else
						rec 4 $sys notready_pct "$r" "$(progress bv)"
						na 4 $sys ready_s "run $r: $WHY"
					fi
				else
					na 4 $sys ready_s "run $r: $WHY"
				fi
				stop_bg $fpid
				echo "F 4 $sys $r s4-$sys-$r" >>"$OUT"
				log "  $sys run $r: ${ELAPSED:-not ready}"
				ELAPSED=""
				dm_clean
			done
		done
	done
fi

# ---------------------------------------------------------------------------
# 5. Pivot cost: longest guest I/O stall across the switch
s5_run() {	# SYSTEM RUN
	local sys=$1 r=$2 tag=s5-$1-$2 fpid t0 t1 err
	WHY=""
	case $sys in
	bj-complete)
		mk bv "0 $SECT blockjob passthrough $SRC 0" &&
			reload bv "0 $SECT $BJ_MIRROR" &&
			wait_until bv st_ready "$COPY_LIMIT" || return 1
		;;
	dm-linear-reload)
		mk bv "0 $SECT linear $SRC 0" || return 1
		;;
	esac
	fio_rw "$tag" /dev/mapper/bv "$PIVOT_T" --write_lat_log="/tmp/$tag" --log_unix_epoch=1 &
	fpid=$!
	sleep $((PIVOT_T / 2))
	t0=$(now_ms)
	case $sys in
	bj-complete)
		err=$(timeout 60 blockjob complete bv 2>&1) || WHY="blockjob complete: $err"
		;;
	dm-linear-reload)
		{ dm load bv --table "0 $SECT linear $SRC 0" && dm suspend bv && dm resume bv; } || WHY="reload failed"
		;;
	esac
	t1=$(now_ms)
	wait $fpid || { WHY="fio failed: $(tail -c 200 "$FIOD/$tag.err")"; return 1; }
	[ -z "$WHY" ] || return 1
	cp "/tmp/${tag}_lat.1.log" "$FIOD/" 2>/dev/null
	rm -f /tmp/"${tag}"_*.log
	echo "F 5 $sys $r $tag" >>"$OUT"
	echo "W 5 $sys $r $tag $t0 $t1" >>"$OUT"
	rec 5 "$sys" switch_ms "$r" $((t1 - t0))
	[ $sys = bj-complete ] && rec 5 "$sys" table "$r" "$(dmsetup table bv | awk '{print $4 "@" $5}')"
	return 0
}
if has 5; then
	log "scenario 5: pivot under fio"
	for r in $(seq 1 "$RUNS"); do
		for sys in dm-linear-reload bj-complete; do
			settle
			s5_run $sys "$r" || na 5 $sys stall_ms "run $r: $WHY"
			log "  $sys run $r done"
			dm_clean
		done
	done
fi

# ---------------------------------------------------------------------------
# 6. Memory per volume size
meminfo() {	# -> "slabvm_kb used_kb slab_kb vmalloc_kb" (used = MemTotal - MemFree - Buffers - Cached)
	settle
	awk '/^Slab:/ {s = $2} /^VmallocUsed:/ {v = $2} /^MemTotal:/ {t = $2} /^MemFree:/ {f = $2}
		/^Buffers:/ {b = $2} /^Cached:/ {c = $2}
		END {print s + v, t - f - b - c, s, v}' /proc/meminfo
}
mem_delta() {	# SYSTEM RUN SUFFIX BEFORE AFTER
	local b a i m=(slabvm_kb used_kb slab_kb vmalloc_kb)
	read -ra b <<<"$4"
	read -ra a <<<"$5"
	for i in 0 1 2 3; do
		rec 6 "$1" "${m[i]}$3" "$2" $((a[i] - b[i]))
	done
}
s6_run() {	# SYSTEM RUN TIB
	local sys=$1 r=$2 tib=$3 b a zs=$(($3 << 31)) n
	WHY=""
	mk zsrc "0 $zs zero" && mk zdst "0 $zs zero" || return 1
	case $sys in
	bj-mirror | bj-backup)
		mk bv "0 $zs blockjob passthrough /dev/mapper/zsrc 0" || return 1
		b=$(meminfo)
		if [ $sys = bj-mirror ]; then
			dm load bv --table "0 $zs blockjob mirror /dev/mapper/zsrc 0 /dev/mapper/zdst 0 128 1 start_paused" 2>/tmp/err
		else
			dm load bv --table "0 $zs blockjob backup /dev/mapper/zsrc 0 /dev/mapper/zdst 0 128 3 sync full start_paused" 2>/tmp/err
		fi || { WHY="load: $(cat /tmp/err)"; return 1; }
		dm suspend bv && dm resume bv || { WHY="resume failed"; return 1; }
		a=$(meminfo)
		rec 6 $sys state "$r" "$(dmsetup status bv | awk '{print $5}')"
		mem_delta $sys "$r" "@$tib" "$b" "$a"
		# what the target says it holds: "<state> <copies> <bitmaps>" bytes
		read -r st cp _ < <(dmsetup message bv 0 memory) || { WHY="memory message failed"; return 1; }
		rec 6 $sys "msg_state_b@$tib" "$r" "$st"
		rec 6 $sys "msg_copies_b@$tib" "$r" "$cp"
		;;
	dm-raid1)
		b=$(meminfo)
		mk r1 "0 $zs mirror core 2 128 nosync 2 /dev/mapper/zsrc 0 /dev/mapper/zdst 0" || return 1
		a=$(meminfo)
		mem_delta $sys "$r" "@$tib" "$b" "$a"
		;;
	dm-snap-N)
		mk base "0 $zs snapshot-origin /dev/mapper/zsrc" || return 1
		b=$(meminfo)
		dm suspend base || return 1
		mk snap "0 $zs snapshot /dev/mapper/zsrc /dev/mapper/zdst N 128" || { dm resume base; return 1; }
		dm resume base || return 1
		a=$(meminfo)
		mem_delta $sys "$r" "@$tib" "$b" "$a"
		[ "$tib" = "$MEM_TIB" ] || return 0
		# per exception: one 64 KiB write to every other chunk, MEM_EXC
		# chunks (every other: dm-snapshot merges exceptions of consecutive
		# chunks into one; no cache drop in between: it would leave free
		# slots in the slabs)
		b=$(awk '/^Slab:/ {print $2}' /proc/meminfo)
		n=$MEM_EXC
		timeout 600 fio --name=exc --filename=/dev/mapper/base --rw=write:64k --bs=64k \
			--size=$((n * 128))k --number_ios="$n" --ioengine=libaio --iodepth=16 --direct=1 \
			--output=/dev/null >/dev/null 2>&1 || { WHY="writes to the origin failed"; return 1; }
		a=$(awk '/^Slab:/ {print $2}' /proc/meminfo)
		rec 6 $sys-exc slab_kb "$r" $((a - b))
		rec 6 $sys-exc exceptions "$r" "$n"
		rec 6 $sys-exc snap_status "$r" "$(dmsetup status snap | awk '{print $4}')"
		;;
	esac
	return 0
}
if has 6; then
	log "scenario 6: memory for 1 and $MEM_TIB TiB volumes at 64 KiB granularity"
	info mem_tib "$MEM_TIB"
	for r in $(seq 1 "$RUNS"); do
		for sys in bj-mirror bj-backup dm-raid1 dm-snap-N; do
			for tib in 1 "$MEM_TIB"; do
				s6_run $sys "$r" "$tib" || na 6 $sys slabvm_kb "run $r, $tib TiB: $WHY"
				dm_clean
			done
		done
	done
fi

# ---------------------------------------------------------------------------
# 7. Persistent bitmap: first writes to clean granules, rewrites of dirty
# ones, metadata I/O per write, memory
# s7_setup SYSTEM: a fresh volume bv over d7 (the volume's range of SRC)
# with its metadata on m7: dm-era (64 KiB blocks), or a blockjob volume with
# the metadata device and one 64 KiB bitmap, persistent or in memory.
s7_setup() {
	local sys=$1 err p=""
	# DM UUIDs: a volume with a metadata device records its devices by a
	# stable identity, and blockjob refuses a device without one
	mk d7 "0 $SECT linear $SRC 0" bench-d7 && mk_md7 || return 1
	case $sys in
	dm-era)
		mk bv "0 $SECT era /dev/mapper/m7 /dev/mapper/d7 128" || return 1
		;;
	bj-persistent | bj-memory)
		err=$(timeout 60 blockjob create bv /dev/mapper/d7 --metadata /dev/mapper/m7 2>&1) ||
			{ WHY="blockjob create: $(echo "$err" | tr '\n' ' ' | cut -c1-200)"; return 1; }
		dmsetup mknodes bv >/dev/null 2>&1
		[ $sys = bj-persistent ] && p=--persistent
		err=$(timeout 60 blockjob bitmap add bv b7 --granularity 64K $p 2>&1) ||
			{ WHY="bitmap add: $(echo "$err" | tr '\n' ' ' | cut -c1-200)"; return 1; }
		;;
	esac
}
disk_stat() { cat "/sys/block/$(basename "$1")/stat"; }
# s7_pass SYSTEM PASS RUN IOLOG [FIO ARG...]: one measured replay on bv; fio's
# figures, the write requests (empty flush writes included), write sectors
# and flush requests the metadata disk took (/sys/block/vde/stat) and, for blockjob, the metadata message's counters
# (commits, writes held, bitmap blocks written), as differences over the pass.
s7_pass() {
	local sys=$1 pass=$2 r=$3 log=$4 tag=s7-$1-$2-$3 s0 s1 m0 m1
	shift 4
	[ "$sys" = dm-era ] || m0=$(dmsetup message bv 0 metadata 2>/dev/null) ||
		{ WHY="metadata message failed"; return 1; }
	read -ra s0 < <(disk_stat $META)
	fio_replay "$tag" "$log" "$@" || { WHY="fio ($pass) failed: $(tail -c 200 "$FIOD/$tag.err")"; return 1; }
	read -ra s1 < <(disk_stat $META)
	echo "F 7 $sys-$pass $r $tag" >>"$OUT"
	# stat fields: 5 writes completed, 7 sectors written, 16 flushes completed
	rec 7 "$sys-$pass" md_writes "$r" $((s1[4] - s0[4]))
	rec 7 "$sys-$pass" md_bytes "$r" $(((s1[6] - s0[6]) * 512))
	rec 7 "$sys-$pass" md_flushes "$r" $((${s1[15]:-0} - ${s0[15]:-0}))
	[ "$sys" = dm-era ] && return 0
	m1=$(dmsetup message bv 0 metadata 2>/dev/null) || { WHY="metadata message failed"; return 1; }
	read -ra s0 <<<"$m0"
	read -ra s1 <<<"$m1"
	rec 7 "$sys-$pass" md_commits "$r" $((s1[0] - s0[0]))
	rec 7 "$sys-$pass" md_held "$r" $((s1[1] - s0[1]))
	rec 7 "$sys-$pass" md_blocks "$r" $((s1[2] - s0[2]))
	rec 7 "$sys-$pass" md_state "$r" "${s1[3]}"
	return 0
}
# s7_mem SYSTEM RUN TIB: memory of one 64 KiB bitmap (persistent or not) on a
# TIB TiB volume over dm-zero with a metadata device: the memory message's
# bitmaps figure, and slab+vmalloc before and after the bitmap add.
s7_mem() {
	local sys=$1 r=$2 tib=$3 zs=$(($3 << 31)) b a err st cp bm p=""
	WHY=""
	mk zsrc "0 $zs zero" bench-zsrc7 && mk_md7 || return 1
	err=$(timeout 120 blockjob create bv /dev/mapper/zsrc --metadata /dev/mapper/m7 2>&1) ||
		{ WHY="blockjob create: $(echo "$err" | tr '\n' ' ' | cut -c1-200)"; return 1; }
	[ $sys = bj-persistent ] && p=--persistent
	b=$(meminfo)
	err=$(timeout 120 blockjob bitmap add bv b7 --granularity 64K $p 2>&1) ||
		{ WHY="bitmap add: $(echo "$err" | tr '\n' ' ' | cut -c1-200)"; return 1; }
	a=$(meminfo)
	read -r st cp bm < <(dmsetup message bv 0 memory) || { WHY="memory message failed"; return 1; }
	rec 7 "$sys-mem" "msg_bitmaps_b@$tib" "$r" "$bm"
	rec 7 "$sys-mem" "slabvm_kb@$tib" "$r" $((${a%% *} - ${b%% *}))
	rec 7 "$sys-mem" "bitmap_list@$tib" "$r" "$(dmsetup message bv 0 bitmap list | tr ' ' ,)"
	return 0
}
if has 7; then
	S7_LOG=$X/iolog-64k S7_RELOG=$X/iolog-64k-rewrite S7_QD1=/tmp/iolog-s7-qd1
	# first writes at iodepth 1: the first S7_QD1_IOS writes of the iolog
	awk -v n="$S7_QD1_IOS" '/ write / {if (++w > n) next} {print}' "$S7_LOG" >"$S7_QD1"
	info s7_writes "$(grep -c ' write ' "$S7_LOG")"
	info s7_qd1_writes "$(grep -c ' write ' "$S7_QD1")"
	info s7_rewrites "$(grep -c ' write ' "$S7_RELOG")"
	# the metadata range, written once (no metadata write allocates blocks in the host's image)
	timeout 300 fio --name=fill --filename=$META --rw=write --bs=1M --size=$((S7_MD_SECT * 512)) \
		--iodepth=4 --ioengine=libaio --direct=1 --output=/dev/null >/dev/null 2>&1 ||
		log "warning: filling the metadata range failed"
	log "scenario 7: 4k writes to distinct 64K granules (qd1: $(grep -c ' write ' "$S7_QD1"), qd16: $(grep -c ' write ' "$S7_LOG")), then rewrites"
	for r in $(seq 1 "$RUNS"); do
		for sys in bj-persistent dm-era bj-memory; do
			if s7_setup $sys && settle && s7_pass $sys first-qd1 "$r" "$S7_QD1" --iodepth=1; then
				log "  $sys first writes qd1 run $r: $(fio_iops "s7-$sys-first-qd1-$r") IOPS"
			else
				na 7 "$sys-first-qd1" iops "run $r: $WHY"
			fi
			dm_clean
			if s7_setup $sys && settle && s7_pass $sys first-qd16 "$r" "$S7_LOG"; then
				log "  $sys first writes qd16 run $r: $(fio_iops "s7-$sys-first-qd16-$r") IOPS"
				quiesce $SRC
				if ! grep -q ' write ' "$S7_RELOG"; then
					na 7 "$sys-rewrite" iops "no rewrite pass (--rewrites 0)"
				elif s7_pass $sys rewrite "$r" "$S7_RELOG"; then
					log "  $sys rewrites run $r: $(fio_iops "s7-$sys-rewrite-$r") IOPS"
				else
					na 7 "$sys-rewrite" iops "run $r: $WHY"
				fi
			else
				na 7 "$sys-first-qd16" iops "run $r: $WHY"
			fi
			dm_clean
		done
		for sys in bj-persistent bj-memory; do
			for tib in 1 "$MEM_TIB"; do
				s7_mem $sys "$r" "$tib" || na 7 "$sys-mem" "msg_bitmaps_b@$tib" "run $r, $tib TiB: $WHY"
				dm_clean
			done
		done
	done
	info mem_tib "$MEM_TIB"
fi

# ---------------------------------------------------------------------------
# 8. Migration to another host over NBD (issue 20): host B is network
# namespace bjb (192.0.2.2, a veth pair from the guest's own namespace,
# 192.0.2.1); it serves DST with 'blockjob export' (qemu-nbd). The volume is
# the first VOL_MB of SRC. dd-nbd: dd 4 MiB O_DIRECT from SRC into the NBD
# device (connected by 'blockjob create' over the URL); bj-mirror-nbd:
# blockjob mirror into the export, from the command to ready. IOPS: fio as
# in scenario 2 on the volume with no job (bj-volume) and during a mirror
# into the export (bj-mirror-nbd, during the copy).
S8_URL=nbd://192.0.2.2:10809/s8
s8_net() {
	if ! ip -V 2>&1 | grep iproute2 >/dev/null || [ ! -x /usr/bin/qemu-nbd ]; then
		WHY="no ip (iproute2) or qemu-nbd in the guest (vm-run --net)"
		return 1
	fi
	modprobe veth && modprobe nbd || { WHY="no nbd or veth module"; return 1; }
	ip netns add bjb && ip link add bja0 type veth peer name bjb0 netns bjb &&
		ip addr add 192.0.2.1/24 dev bja0 && ip -n bjb addr add 192.0.2.2/24 dev bjb0 &&
		ip link set lo up && ip link set bja0 up &&
		ip -n bjb link set lo up && ip -n bjb link set bjb0 up ||
		{ WHY="network namespace setup failed"; return 1; }
	ip netns exec bjb blockjob export $DST --listen 192.0.2.2:10809 --name s8 >/dev/null 2>"$X/s8.err" ||
		{ WHY="blockjob export: $(cat "$X/s8.err")"; return 1; }
	info nbd_server "qemu-nbd $(qemu-nbd --version | awk 'NR == 1 { print $2 }')"
}
s8_volume() {
	mk s8src "0 $SECT linear $SRC 0" &&
		blockjob create bv /dev/mapper/s8src 2>"$X/s8.err" ||
		{ WHY="create: $(cat "$X/s8.err")"; return 1; }
}
s8_run() {	# SYSTEM RUN
	local sys=$1 r=$2 nbd t
	WHY="" ELAPSED=""
	case $sys in
	dd-nbd)
		blockjob create bn "$S8_URL" 2>"$X/s8.err" || { WHY="create over NBD: $(cat "$X/s8.err")"; return 1; }
		# the NBD device the volume maps (its minor is not its index)
		nbd=$(nbd_dev_of bn)
		T0=$(now_us)
		timeout "$COPY_LIMIT" dd if=$SRC of="$nbd" bs=4M count=$((VOL_MB / 4)) iflag=direct \
			oflag=direct conv=fsync status=none || WHY="dd to $nbd failed"
		ELAPSED=$(secs $(($(now_us) - T0)))
		blockjob remove bn
		[ -z "$WHY" ] || return 1
		;;
	bj-mirror-nbd)
		s8_volume || return 1
		T0=$(now_us)
		blockjob mirror bv "$S8_URL" 2>"$X/s8.err" || { WHY="mirror: $(cat "$X/s8.err")"; return 1; }
		wait_until bv st_ready "$COPY_LIMIT" || return 1
		blockjob cancel bv
		;;
	esac
	rec 8 "$sys" copy_s "$r" "$ELAPSED"
	t=${ELAPSED%.*}${ELAPSED#*.}
	rec 8 "$sys" rate_mbs "$r" $((VOL_MB * 1000000 / 10#$t))
}
s8_iops() {	# SYSTEM RUN
	local sys=$1 r=$2
	WHY=""
	s8_volume || return 1
	if [ "$sys" = bj-mirror-nbd ]; then
		blockjob mirror bv "$S8_URL" 2>"$X/s8.err" || { WHY="mirror: $(cat "$X/s8.err")"; return 1; }
	fi
	fio_rw "s8-$sys-$r" /dev/mapper/bv "$FIO_T" || { WHY="fio failed: $(tail -c 200 "$FIOD/s8-$sys-$r.err")"; return 1; }
	echo "F 8 $sys-load $r s8-$sys-$r" >>"$OUT"
	[ "$sys" = bj-mirror-nbd ] && blockjob cancel bv
	return 0
}
if has 8; then
	log "scenario 8: mirror of $VOL_MB MiB to another host over NBD (veth), against dd to the same NBD device"
	if s8_net; then
		for r in $(seq 1 "$RUNS"); do
			for sys in dd-nbd bj-mirror-nbd; do
				settle
				if s8_run $sys "$r"; then
					log "  $sys run $r: ${ELAPSED}s"
				else
					na 8 $sys copy_s "run $r: $WHY"
				fi
				dm_clean
			done
			for sys in bj-volume bj-mirror-nbd; do
				settle
				s8_iops $sys "$r" || na 8 "$sys-load" iops "run $r: $WHY"
				dm_clean
			done
		done
		blockjob export --stop 192.0.2.2:10809
	else
		na 8 dd-nbd copy_s "$WHY"
		na 8 bj-mirror-nbd copy_s "$WHY"
	fi
fi

dm_clean
echo "DONE" >>"$OUT"
log "done"
exit 0
