# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# QEMU's own block jobs in the bench guest (issue 21): qemu-storage-daemon,
# which scripts/bench ships in $X/qsd with the libraries it links (or says
# in $X/qsd.na why not), driven over QMP on its stdio, a bash coproc: no
# QEMU source, no socket helper. Sourced by tests/bench/guest.sh.
#
#   qsd_start LOG     start a daemon and leave QMP's negotiation mode; LOG
#                     gets the exchange ("> " sent, "< " received)
#   qmp JSON          send a command and wait for its reply (events that
#                     arrive meanwhile are kept for qmp_event); 1 and WHY on
#                     an error reply or none within QMP_T seconds
#   qmp_send JSON, qmp_wait
#                     the same in two steps (a load starts in between)
#   qmp_event NAME S  wait at most S seconds for event NAME; EVENT_US: its
#                     timestamp (QEMU's, realtime, microseconds); 1 when
#                     none came, 2 when the job ended otherwise (WHY)
#   qsd_stop          quit the daemon and reap it
#   qsd_node NAME DEV a raw node NAME over DEV
#   qemu_job SYS SRC DST, qemu_job_end
#                     send the command of QEMU's job SYS; cancel it
#   qemu_copy SYS RUN scenario 1's copy by QEMU: SYS qemu-mirror (to
#                     BLOCK_JOB_READY), qemu-mirror-wb (the same with
#                     copy-mode write-blocking) or qemu-backup (sync full,
#                     to BLOCK_JOB_COMPLETED); ELAPSED from T0, taken just
#                     before the job's command, to the event's timestamp
#
# The nodes: host_device on the scratch disks (O_DIRECT, aio=native) under
# a raw node of VOL_BYTES at offset 0, the range the other systems copy.
# QEMU's defaults everywhere else (mirror granularity, buf-size, backup
# workers), as a user of blockdev-mirror would have them.

QSD_DIR=$X/qsd
QMP_T=60
QMP_EVENTS=() QMP_LOG=/dev/null QSD_CHILD=""

qsd_version() {
	[ -x "$QSD_DIR/qemu-storage-daemon" ] || return 1
	LD_LIBRARY_PATH=$QSD_DIR/lib "$QSD_DIR/qemu-storage-daemon" --version | sed -n '1s/^qemu-storage-daemon version //p'
}

qmp_read() {	# LIMIT_S: the next line from the daemon into QMP_LINE
	local line
	# bash unsets QSD and QSD_PID once the daemon is gone
	[ -n "${QSD[0]:-}" ] || return 1
	IFS= read -r -t "$1" line <&"${QSD[0]}" || return 1
	echo "< $line" >>"$QMP_LOG"
	QMP_LINE=$line
}

# qmp_send JSON: send a command, not waiting for its reply (qmp_wait)
qmp_send() {
	QMP_CMD=$1
	[ -n "${QSD[1]:-}" ] && printf '%s\n' "$1" 1>&"${QSD[1]}" ||
		{ WHY="qemu-storage-daemon is gone: $(head -c 200 "$QMP_LOG.err")"; return 1; }
	echo "> $1" >>"$QMP_LOG"
}

# qmp_wait: the reply to the command qmp_send sent last
qmp_wait() {
	while qmp_read "$QMP_T"; do
		case $QMP_LINE in
		'{"return"'*) return 0 ;;
		'{"error"'*) WHY="QMP: $QMP_CMD: $(echo "$QMP_LINE" | cut -c1-200)"; return 1 ;;
		*'"event"'*) QMP_EVENTS+=("$QMP_LINE") ;;
		esac
	done
	WHY="QMP: no reply to $QMP_CMD within ${QMP_T}s"
	return 1
}

qmp() { qmp_send "$1" && qmp_wait; }

qsd_start() {	# LOG
	QMP_LOG=$1 QMP_EVENTS=()
	: >"$QMP_LOG"
	if [ ! -x "$QSD_DIR/qemu-storage-daemon" ]; then
		WHY=$(cat "$X/qsd.na" 2>/dev/null || echo "no qemu-storage-daemon in the bench guest")
		return 1
	fi
	coproc QSD { LD_LIBRARY_PATH=$QSD_DIR/lib exec "$QSD_DIR/qemu-storage-daemon" \
		--chardev stdio,id=qmp --monitor chardev=qmp 2>>"$QMP_LOG.err"; }
	QSD_CHILD=$QSD_PID
	qmp_read 30 || { WHY="qemu-storage-daemon: no QMP greeting: $(head -c 200 "$QMP_LOG.err")"; qsd_stop; return 1; }
	qmp '{"execute": "qmp_capabilities"}' || { qsd_stop; return 1; }
}

qsd_stop() {
	local i
	[ -n "$QSD_CHILD" ] || return 0
	[ -n "${QSD[1]:-}" ] && printf '%s\n' '{"execute": "quit"}' 1>&"${QSD[1]}" 2>/dev/null &&
		echo '> {"execute": "quit"}' >>"$QMP_LOG"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$QSD_CHILD" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$QSD_CHILD" 2>/dev/null && log "warning: qemu-storage-daemon did not quit; killed"
	wait "$QSD_CHILD" 2>/dev/null
	QSD_CHILD=""
}

# event_us LINE: QEMU's timestamp of an event line, in microseconds
event_us() {
	local s u
	read -r s u < <(sed -n 's/.*"timestamp": *{"seconds": *\([0-9]*\), *"microseconds": *\([0-9]*\)}.*/\1 \2/p' <<<"$1")
	[ -n "$s" ] && [ -n "$u" ] || return 1
	echo $((s * 1000000 + 10#$u))
}

qmp_event() {	# NAME LIMIT_S
	local want=$1 end=$(($(now_us) + $2 * 1000000)) left line i
	while :; do
		for i in "${!QMP_EVENTS[@]}"; do
			line=${QMP_EVENTS[$i]}
			unset "QMP_EVENTS[$i]"
			case $line in
			*"\"event\": \"$want\""*)
				if [ "$want" = BLOCK_JOB_COMPLETED ] && [[ $line == *'"error"'* ]]; then
					WHY="job failed: $(echo "$line" | cut -c1-300)"
					return 2
				fi
				EVENT_US=$(event_us "$line") || { WHY="no timestamp in $line"; return 2; }
				return 0 ;;
			*'"event": "BLOCK_JOB_COMPLETED"'* | *'"event": "BLOCK_JOB_CANCELLED"'* | *'"event": "BLOCK_JOB_ERROR"'*)
				WHY="waiting for $want: $(echo "$line" | cut -c1-300)"
				return 2 ;;
			esac
		done
		left=$((end - $(now_us)))
		[ $left -gt 0 ] || { WHY="no $want within $2 s"; return 1; }
		qmp_read "$(secs $left)" || continue
		[[ $QMP_LINE == *'"event"'* ]] && QMP_EVENTS+=("$QMP_LINE")
	done
}

# qsd_node NAME DEV: a raw node NAME of VOL_BYTES at offset 0 over a
# host_device node NAME-dev on DEV (O_DIRECT, aio=native)
qsd_node() {
	qmp "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"host_device\", \"node-name\": \"$1-dev\", \"filename\": \"$2\", \"cache\": {\"direct\": true}, \"aio\": \"native\"}}" &&
		qmp "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"raw\", \"node-name\": \"$1\", \"file\": \"$1-dev\", \"offset\": 0, \"size\": $VOL_BYTES}}"
}

# qemu_job SYSTEM SRC_NODE DST_NODE: send the command of QEMU's job of
# SYSTEM (qemu-mirror, qemu-mirror-wb, qemu-backup = sync full,
# qemu-backup-none), id "job"; its reply is for qmp_wait. JOB_EV: the event
# that ends its copy (READY for a mirror, COMPLETED for a backup). The reply
# may come late: the daemon's monitor shares its main loop with the job,
# and in the TCG guest a backup's whole copy of the volume has run before
# the reply to blockdev-backup came, so a guest load is started before
# waiting for it.
qemu_job() {
	local job sync=full extra=""
	case $1 in
	qemu-mirror) job=blockdev-mirror JOB_EV=BLOCK_JOB_READY ;;
	qemu-mirror-wb) job=blockdev-mirror JOB_EV=BLOCK_JOB_READY extra=', "copy-mode": "write-blocking"' ;;
	qemu-backup) job=blockdev-backup JOB_EV=BLOCK_JOB_COMPLETED ;;
	qemu-backup-none) job=blockdev-backup JOB_EV=BLOCK_JOB_COMPLETED sync=none ;;
	*) log "bug: qemu_job $1"; exit 1 ;;
	esac
	qmp_send "{\"execute\": \"$job\", \"arguments\": {\"job-id\": \"job\", \"device\": \"$2\", \"target\": \"$3\", \"sync\": \"$sync\"$extra}}"
}

# qemu_job_end: cancel the job (a ready mirror cancelled completes without
# switching over) and wait for its end
qemu_job_end() {
	qmp '{"execute": "block-job-cancel", "arguments": {"device": "job"}}' || return 0
	qmp_event BLOCK_JOB_COMPLETED 60 || [ $? = 2 ] || log "warning: $WHY"
}

qemu_copy() {	# SYSTEM RUN
	local sys=$1 r=$2 rc why
	mkdir -p "$X/qmp"
	qsd_start "$X/qmp/s1-$sys-$r.log" || return 1
	qsd_node src "$SRC" && qsd_node dst "$DST" || { qsd_stop; return 1; }
	T0=$(now_us)
	qemu_job "$sys" src dst && qmp_wait || { qsd_stop; return 1; }
	qmp_event $JOB_EV "$COPY_LIMIT"
	rc=$?
	# shellcheck disable=SC2034 # ELAPSED: for the caller
	[ $rc = 0 ] && ELAPSED=$(secs $((EVENT_US - T0)))
	why=${WHY:-}
	[ $JOB_EV = BLOCK_JOB_READY ] && qemu_job_end
	qsd_stop
	WHY=$why
	return $rc
}
