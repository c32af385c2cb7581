# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Scenarios 2 and 3 through one NBD path for QEMU and dm-blockjob (issue
# 21). QEMU's jobs see only the writes that come through QEMU, so the guest's
# load goes to an NBD export of qemu-storage-daemon (127.0.0.1, the kernel's
# NBD client connected by 'blockjob create NAME nbd://...'), and fio writes
# the NBD device. What the daemon exports is the only difference:
#
#   nbd-linear        a raw node over SRC, no job (the baseline)
#   bj-*-nbd          a raw node over /dev/mapper/bv, a blockjob volume on
#                     SRC whose job is started by a table reload
#   qemu-*-nbd        a raw node over SRC under QEMU's own job (the job's
#                     filter node sits between the export and SRC)
#
# so the comparison is of the jobs, not of the transports. Sourced by
# tests/bench/guest.sh after qmp.sh.
#
#   nbdp_ready        lo up, the nbd module; 1 and WHY when the guest lacks
#                     them (scripts/bench boots it with --net)
#   nbdp_open SYS LOG [TARGET_DEV]
#                     the daemon, its nodes (v: the exported one; t over
#                     TARGET_DEV for QEMU's job), the export and the kernel
#                     client; NBDP_DEV: the NBD device to write
#   nbdp_close        disconnect the client, stop the daemon

NBDP_PORT=10810
NBDP_URL=nbd://127.0.0.1:$NBDP_PORT/v
NBDP_DEV=""

nbdp_ready() {
	ip -V 2>&1 | grep iproute2 >/dev/null || { WHY="no ip (iproute2) in the guest (vm-run --net)"; return 1; }
	ip link set lo up && modprobe nbd || { WHY="no loopback or no nbd module"; return 1; }
}

nbdp_open() {	# SYSTEM LOG [TARGET_DEV]
	local sys=$1 exported=$SRC err
	NBDP_DEV=""
	mkdir -p "$X/qmp"
	qsd_start "$2" || return 1
	case $sys in bj-*) exported=/dev/mapper/bv ;; esac
	qsd_node v "$exported" || { qsd_stop; return 1; }
	if [ -n "${3:-}" ]; then
		qsd_node t "$3" || { qsd_stop; return 1; }
	fi
	qmp "{\"execute\": \"nbd-server-start\", \"arguments\": {\"addr\": {\"type\": \"inet\", \"data\": {\"host\": \"127.0.0.1\", \"port\": \"$NBDP_PORT\"}}}}" &&
		qmp '{"execute": "block-export-add", "arguments": {"type": "nbd", "id": "e", "node-name": "v", "name": "v", "writable": true}}' ||
		{ qsd_stop; return 1; }
	err=$(blockjob create bn "$NBDP_URL" 2>&1) || { WHY="blockjob create over NBD: $err"; qsd_stop; return 1; }
	NBDP_DEV=$(nbd_dev_of bn)
	[ -b "$NBDP_DEV" ] || { WHY="no NBD device under bn ($NBDP_DEV)"; nbdp_close; return 1; }
}

nbdp_close() {
	blockjob remove bn >/dev/null 2>&1 || log "warning: blockjob remove bn failed"
	qsd_stop
}

# s2n_run SYSTEM RUN: scenario 2 through NBD; SYSTEM nbd-linear,
# bj-background-nbd, bj-write_blocking-nbd, qemu-mirror-nbd or
# qemu-mirror-wb-nbd
s2n_run() {
	local sys=$1 r=$2 fpid mode left ready
	WHY=""
	case $sys in
	bj-*)
		mode=${sys#bj-} mode=${mode%-nbd}
		mk bv "0 $SECT blockjob passthrough $SRC 0" || return 1
		;;
	esac
	nbdp_open "$sys" "$X/qmp/s2-$sys-$r.log" "$DST" || return 1
	case $sys in
	nbd-linear)
		fio_rw "s2-$sys-$r" "$NBDP_DEV" "$FIO_T" || { WHY="fio failed: $(tail -c 200 "$FIOD/s2-$sys-$r.err")"; nbdp_close; return 1; }
		echo "F 2 $sys $r s2-$sys-$r" >>"$OUT"
		nbdp_close
		return 0
		;;
	bj-*)
		reload bv "0 $SECT $BJ_MIRROR 2 copy_mode $mode" || { nbdp_close; return 1; }
		;;
	qemu-*)
		T0=$(now_us)
		qemu_job "${sys%-nbd}" v t || { nbdp_close; return 1; }
		;;
	esac
	fio_rw "s2-$sys-$r" "$NBDP_DEV" "$FIO_T" &
	fpid=$!
	if [ "${sys%%-*}" = qemu ] && ! qmp_wait; then
		stop_bg $fpid
		nbdp_close
		return 1
	fi
	# ready: "yes" within the window, "late" after it (QEMU's event came
	# while fio still ran), "no" not yet
	ready=no
	case $sys in
	bj-*) wait_until bv st_ready "$FIO_T" && ready=yes ;;
	qemu-*)
		left=$(((T0 + FIO_T * 1000000 - $(now_us) + 999999) / 1000000))
		if qmp_event BLOCK_JOB_READY $((left > 1 ? left : 1)); then
			ready=late
			ELAPSED=$(secs $((EVENT_US - T0)))
			[ "$EVENT_US" -gt $((T0 + FIO_T * 1000000)) ] || ready=yes
		fi
		;;
	esac
	if [ $ready = yes ]; then
		rec 2 "$sys" ready_s "$r" "$ELAPSED"
	else
		na 2 "$sys" ready_s "run $r: not in sync while fio wrote (${FIO_T}s); $WHY"
	fi
	if ! wait $fpid; then
		WHY="fio failed: $(tail -c 200 "$FIOD/s2-$sys-$r.err")"
		[ "${sys%%-*}" = qemu ] && qemu_job_end
		nbdp_close
		return 1
	fi
	echo "F 2 $sys $r s2-$sys-$r" >>"$OUT"
	# the same load once in sync
	case $sys in
	bj-*) wait_until bv st_ready "$COPY_LIMIT" && ready=yes ;;
	qemu-*) [ $ready != no ] || { qmp_event BLOCK_JOB_READY "$COPY_LIMIT" && ready=yes; } ;;
	esac
	if [ $ready != no ]; then
		fio_rw "s2-$sys-insync-$r" "$NBDP_DEV" "$FIO_T" &&
			echo "F 2 $sys-insync $r s2-$sys-insync-$r" >>"$OUT"
	else
		na 2 "$sys-insync" iops "never in sync: $WHY"
	fi
	[ "${sys%%-*}" = qemu ] && qemu_job_end
	nbdp_close
	return 0
}

# s3n_run SYSTEM RUN: scenario 3 through NBD, 64 KiB chunks (QEMU's backup
# copies 64 KiB clusters to a raw target and has no other size); SYSTEM
# nbd-linear, bj-backup-none-nbd, bj-backup-full-nbd, qemu-backup-none-nbd
# or qemu-backup-full-nbd
s3n_run() {
	local sys=$1 r=$2 tag w0 sync fpid
	WHY=""
	tag=s3-$sys-64k-$r
	dd if=/dev/zero of=$AUX bs=64k count=1 oflag=direct status=none
	sync=${sys%-nbd} sync=${sync##*-}
	case $sys in
	bj-*) mk bv "0 $SECT blockjob passthrough $SRC 0" || return 1 ;;
	esac
	nbdp_open "$sys" "$X/qmp/$tag.log" "$AUX" || return 1
	# from before the job's start: QEMU's copy may run before its reply
	w0=$(sectors_written $AUX)
	case $sys in
	bj-*) reload bv "0 $SECT blockjob backup $SRC 0 $AUX 0 128 2 sync $sync" || { nbdp_close; return 1; } ;;
	qemu-backup-none-nbd) qemu_job qemu-backup-none v t || { nbdp_close; return 1; } ;;
	qemu-backup-full-nbd) qemu_job qemu-backup v t || { nbdp_close; return 1; } ;;
	esac
	fio_replay "$tag-first" "$X/iolog-64k" --replay_redirect="$NBDP_DEV" &
	fpid=$!
	if [ "${sys%%-*}" = qemu ] && ! qmp_wait; then
		stop_bg $fpid
		nbdp_close
		return 1
	fi
	if ! wait $fpid; then
		WHY="fio (first writes) failed: $(tail -c 200 "$FIOD/$tag-first.err")"
		nbdp_close
		return 1
	fi
	# the job's progress into the QMP log
	[ "${sys%%-*}" = qemu ] && qmp '{"execute": "query-block-jobs"}'
	if ! s3_after_first "$sys-64k" "$tag" "$r" "$w0" "$X/iolog-64k-rewrite" --replay_redirect="$NBDP_DEV"; then
		nbdp_close
		return 1
	fi
	nbdp_close
	return 0
}
