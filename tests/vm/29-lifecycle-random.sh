#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 64M --timeout 1500
# A randomized lifecycle of one volume (issue 16). Each iteration draws a
# short sequence of steps, as the job on the volume allows, from: start a
# mirror (random granularity, copy mode, sync, speed, error policies, max
# copies, --wait or not), start a backup (random sync, chunk, speed, cbw
# policy, view or not, --wait or not), fio writes (verify=crc32c) in the
# background or not, suspend/resume of the volume, pause/resume and
# set-speed of the job, an error window on the destination or on the
# source, cancel (plain, --force, --no-wait), complete (quiet or under
# writes), dismiss (and auto-dismiss by the next start), reading the
# backup's view, waiting for a backup, and a SIGKILL of a running blockjob
# command (complete, cancel, mirror/backup --wait; sometimes while a write
# is held in flight, so that the command is inside its suspend) followed by
# `blockjob recover`. Then it ends the job (complete, cancel, wait, dismiss)
# and checks, along the way and at the end:
#  - every command ends within its bound (a timeout ends the run);
#  - fio's verify holds on every range of the volume at the end of each
#    iteration (and after a pivot under writes, and after a recover that
#    had a write in flight), with the generation last written there: each
#    generation puts fio's header at its own offset in the block, so a
#    stale block fails like a corrupt or misplaced one;
#  - a pivot with no write in flight leaves the volume reading as before,
#    one under writes holds every write acknowledged;
#  - a mirror cancelled while ready leaves its destination equal to the
#    volume as of the cancel (and not flagged dest_invalid);
#  - a backup that completes, and its view while it runs, equal the volume
#    at the backup's start;
#  - no guest write fails while the source is healthy (in and across
#    destination error windows too, except what a backup under
#    break-guest-write fails on purpose); a write fails while the source
#    fails every write, and the volume then reads as before it;
#  - after recover the volume is neither suspended nor half-loaded;
#  - no new kernel report (Oops, WARNING, KASAN, lockdep, hung task...).
#
# Arguments: [--seed N] [--iters N] (or BJ_SEED, BJ_LIFECYCLE_ITERS); the
# default seed comes from $RANDOM and the clock, the default count is 100
# (a tenth on the debug kernel). The first line is "# seed N"; every
# failure names the seed, the iteration and the step, and prints the
# iteration's steps: "--seed N" replays the same draws. `make soak` runs
# it with many more iterations.
SEED=${BJ_SEED:-} ITERS=${BJ_LIFECYCLE_ITERS:-}
while [ $# -gt 0 ]; do
	case $1 in
	--seed) SEED=${2:-x} ;;
	--iters) ITERS=${2:-x} ;;
	*) SEED=x ;;
	esac
	shift 2 || break
done
[ -n "$SEED" ] || SEED=$(( ((RANDOM << 15) | RANDOM) ^ $(date +%s) ))
if ! [[ $SEED =~ ^[0-9]+$ && ${ITERS:-0} =~ ^[0-9]+$ ]]; then
	echo "usage: $0 [--seed N] [--iters N]" >&2
	exit 2
fi
echo "# seed $SEED"
. "$BJ_TESTS/vm/lib.sh"
[ -n "$ITERS" ] || ITERS=$(scaled 24 5)
case $(uname -r) in
*bjdebug*) TMO=180 ;;
*) TMO=60 ;;
esac
echo "# $ITERS iterations; every command bounded by ${TMO}s"
RANDOM=$SEED

SECT=$((4 << 11))			# a 4 MiB volume
RSZ=$((512 << 10)) NR=8			# fio ranges of the volume
OUT=/tmp/lr.out WLOG=/tmp/lr.wlog
REPORT='Oops|BUG:|WARNING:|KASAN|UBSAN|KFENCE:|general protection fault|Unable to handle kernel|possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|blocked for more than|Kernel panic|kernel BUG at'
declare -A DISK=([la]=/dev/vdb [lb]=/dev/vdc [lc]=/dev/vdd) DEVNUM=() COUNT=()
ITER=0 STEP=0 STEPNAME=setup IT_FAIL=0 TRACE="" BASELINE=0 KREP=0
CUR=la OTHER=lb				# the volume's device, a mirror's destination
JOB="" J_CBW="" J_VIEW=0 J_SYNC="" BK_SHA="" BK_CHECKED=0
GEN=() BSZ=() GSEQ=0			# per range: fio generation ("" = unknown), block size
WPID="" WR=() WG=() WB=()		# the background writer: pid, ranges, generations, sizes

# rnd N: a random number below N in R (drawn here, never in a subshell, so
# that the seed decides every draw)
rnd() {
	R=$((RANDOM % $1))
}

# pick WORD...: one of the words in P
pick() {
	rnd $#
	shift "$R"
	P=$1
}

# fail MSG: a failed check, with what reproduces it
fail() {
	not_ok "seed $SEED iter $ITER step $STEP ($STEPNAME): $*"
	IT_FAIL=1
}

# dump_state: the iteration so far and the dm devices, for a failure report
dump_state() {
	echo "# seed $SEED iter $ITER steps:$TRACE"
	{ timeout 10 dmsetup info -c; timeout 10 dmsetup table; timeout 10 dmsetup status; } 2>&1 |
		sed 's/^/#   /'
}

# bail MSG: a failure after which the run cannot go on
bail() {
	fail "$*"
	dump_state
	echo "Bail out! seed $SEED iter $ITER: $*"
	exit 1
}

# run CMD...: CMD, its exit status; its output lines in OUTL, in one line
# in OUTS. A command that is silent for $TMO seconds without ending ends
# the run (a step waited past its bound). read -t bounds it without a
# timeout(1) process per command: under TCG every process counts.
run() {
	local l rc
	OUTL=()
	while :; do
		l=""
		IFS= read -r -t "$TMO" l
		rc=$?
		[ $rc -eq 0 ] || [ -n "$l" ] || break
		OUTL+=("$l")
		[ $rc -eq 0 ] || break
	done < <("$@" 2>&1)
	[ $rc -gt 128 ] && bail "did not end within ${TMO}s: $*"
	OUTS="${OUTL[*]}"
	wait $!
}

# must CMD...: run CMD; a failure if it fails
must() {
	run "$@"
	local rc=$?
	[ $rc -eq 0 ] || fail "$* exited $rc: ${OUTL[*]: -3}"
	return $rc
}

# view_exists: the backup's view "pit" is a dm device. Not its node: this
# guest has no udev, so libdevmapper makes and removes /dev/mapper nodes
# itself, and a command killed between a remove and its node update leaves
# a stale node behind (udev removes it on a real host).
view_exists() {
	dmsetup info pit >/dev/null 2>&1
}

# guard: at exit, let every device run again and remove them
guard() {
	[ -n "$WPID" ] && kill "$WPID"
	for d in la lb lc vol; do
		timeout 20 dmsetup resume "$d"
	done
	timeout 20 dmsetup remove pit
	for d in vol la lb lc; do
		timeout 20 dmsetup remove --retry "$d"
	done
}
on_exit guard

# dsha DEV [SKIP COUNT]: digest of /dev/mapper/DEV (its first 4 MiB, or
# COUNT 64 KiB blocks from block SKIP) in H ("" if the read failed)
dsha() {
	local a=(0 $((4 << 20))) rc
	[ $# -eq 3 ] && a=($(($2 << 16)) $(($3 << 16)))
	H=""
	read -r -t "$TMO" H _ < <("$DIGEST" "/dev/mapper/$1" "${a[@]}")
	rc=$?
	[ $rc -gt 128 ] && bail "reading $1 did not end within ${TMO}s"
	wait $! || H=""
}

# jstate: the volume's status in MODE STATE RESULT SPEED NERR FLAGS
jstate() {
	local a
	run dmsetup status vol || bail "dmsetup status vol: $OUTS"
	read -r -a a <<<"$OUTS"
	MODE=${a[3]} STATE=${a[4]} RESULT=${a[5]} SPEED=${a[8]} NERR=${a[9]} FLAGS=-
	[ "$MODE" = mirror ] && FLAGS=${a[14]}
}

# swap_cur: the volume pivoted from CUR to OTHER
swap_cur() {
	local t=$CUR
	CUR=$OTHER OTHER=$t
}

# sync_job: JOB (and TABLE) from the volume's table; a passthrough table on
# OTHER is a pivot
sync_job() {
	local a
	run dmsetup table vol || bail "dmsetup table vol: $OUTS"
	TABLE=$OUTS
	read -r -a a <<<"$OUTS"
	case ${a[3]} in
	passthrough)
		if [ "${a[4]}" = "${DEVNUM[$OTHER]}" ]; then
			swap_cur
		elif [ "${a[4]}" != "${DEVNUM[$CUR]}" ]; then
			bail "vol is on ${a[4]}, neither $CUR nor $OTHER"
		fi
		JOB=""
		;;
	*) JOB=${a[3]} ;;
	esac
}

# on_cur WHAT: the volume must be in passthrough on CUR (no pivot happened)
on_cur() {
	local was=$CUR
	sync_job
	[ -z "$JOB" ] && [ "$CUR" = "$was" ] ||
		fail "$1: vol is in ${JOB:-passthrough} mode on $CUR, not passthrough on $was"
}

# dm_clean WHAT: the volume neither suspended nor with a table loaded but not active
dm_clean() {
	run dmsetup info vol || bail "dmsetup info vol: $OUTS"
	case $OUTS in
	*SUSPENDED* | *INACTIVE*) fail "$1: vol is left half-switched: $OUTS" ;;
	esac
}

# swap_table DEV error|linear: DEV fails every I/O from now on, or works again
swap_table() {
	local t="0 $SECT error"
	[ "$2" = linear ] && t="0 $SECT linear ${DISK[$1]} 0"
	must dmsetup load "$1" --table "$t" && must dmsetup resume --noflush "$1"
}

FIO=(fio --filename=/dev/mapper/vol --direct=1 --ioengine=libaio --iodepth=4 --thread
	--verify=crc32c --verify_state_save=0 --randrepeat=1)
# fio_job R GEN BS: add range R's job, generation GEN, to FJ. Every block
# of the range is written once (randwrite with the random map); GEN seeds
# the data and decides where in each block fio puts its header.
fio_job() {
	FJ+=(--name="r$1" --offset=$(($1 * RSZ)) --size="$RSZ" --rw=randwrite --bs="$3"
		--randseed="$2" --verify_offset=$((64 + 8 * ($2 % 480))))
}

# write_start N: a background fio writing a new generation to N random ranges
write_start() {
	local i r
	# The running writer's ranges would be forgotten: their new generation
	# then fails the next verify as stale data. Every step settles first.
	if [ -n "$WPID" ]; then
		fail "test bug: a new writer while writer $WPID runs (settle first)"
		settle may_fail
	fi
	WR=() WG=() WB=() FJ=()
	for ((i = 0; i < $1; i++)); do
		rnd $NR
		r=$R
		case " ${WR[*]} " in *" $r "*) continue ;; esac
		pick 4k 16k 64k
		GSEQ=$((GSEQ + 1))
		WR+=("$r") WG+=("$GSEQ") WB+=("$P")
		fio_job "$r" "$GSEQ" "$P"
	done
	timeout -k 5 "$TMO" "${FIO[@]}" --do_verify=0 "${FJ[@]}" >"$WLOG" 2>&1 &
	WPID=$!
}

# settle [may_fail]: wait for the background writer. Its ranges hold the new
# generation if it succeeded; if not they are unknown until written again,
# and it is a failure unless may_fail (the guest may see write errors).
settle() {
	local rc i
	[ -n "$WPID" ] || return 0
	wait "$WPID"
	rc=$?
	WPID=""
	case $rc in 124 | 137) bail "a fio writer did not end within ${TMO}s" ;; esac
	for i in "${!WR[@]}"; do
		if [ $rc -eq 0 ]; then
			GEN[WR[i]]=${WG[i]} BSZ[WR[i]]=${WB[i]}
		else
			GEN[WR[i]]=""
		fi
	done
	[ $rc -eq 0 ] || [ "${1:-}" = may_fail ] ||
		fail "a guest write failed with a healthy source (fio exit $rc): $(grep -m 3 -iE 'error|fail' "$WLOG" | tr '\n' ' ')"
	return $rc
}

# write_fg N [may_fail]: write_start, then settle
write_fg() {
	write_start "$1"
	settle "${2:-}"
}

# verify_all WHAT: fio verifies every range whose generation is known
verify_all() {
	local r
	settle
	FJ=()
	for ((r = 0; r < NR; r++)); do
		[ -n "${GEN[r]}" ] && fio_job "$r" "${GEN[r]}" "${BSZ[r]}"
	done
	[ ${#FJ[@]} -gt 0 ] || return 0
	run "${FIO[@]}" --verify_only=1 "${FJ[@]}" && return 0
	fail "fio verify ($1): $(printf '%s\n' "${OUTL[@]}" | grep -m 3 -E 'verify|bad|error' | tr '\n' ' ')"
	BASELINE=1
	return 1
}

# baseline: a new generation on every range (at the start, and after a
# failed verify, so that the next iterations check their own writes)
baseline() {
	local r
	settle
	WR=() WG=() WB=() FJ=()
	for ((r = 0; r < NR; r++)); do
		GSEQ=$((GSEQ + 1))
		WR+=("$r") WG+=("$GSEQ") WB+=(64k)
		fio_job "$r" "$GSEQ" 64k
	done
	timeout -k 5 "$TMO" "${FIO[@]}" --do_verify=0 "${FJ[@]}" >"$WLOG" 2>&1 &
	WPID=$!
	settle
	BASELINE=0
}

# wait_errors: give a running job up to a second to meet the failing device
wait_errors() {
	local n i
	jstate
	n=$NERR
	for ((i = 0; i < 10; i++)); do
		case $STATE in running | ready) ;; *) return ;; esac
		[ "$NERR" != "$n" ] && return
		sleep 0.1
		jstate
	done
}

# bk_check_done: a backup that completed equals the volume at its start
bk_check_done() {
	[ "$JOB" = backup ] && [ -n "$BK_SHA" ] && [ $BK_CHECKED = 0 ] || return 0
	jstate
	[ "$STATE $RESULT" = "concluded completed" ] || return 0
	BK_CHECKED=1
	dsha lc
	[ "$H" = "$BK_SHA" ] || fail "the completed backup ($J_SYNC) differs from the volume at its start"
}

# ensure_ready: bring a live mirror to ready (resume it, lift its speed
# limit, wait); 1 if it concluded (an error window failed it) or never got ready
ensure_ready() {
	settle
	jstate
	[ "$STATE" = ready ] && return 0
	[ "$STATE" = concluded ] && return 1
	case $STATE in
	paused | standby) must blockjob resume vol || return 1 ;;
	esac
	if [ "$SPEED" != 0 ]; then
		must blockjob set-speed vol 0 || return 1
	fi
	if ! run blockjob wait vol --for ready --timeout $((TMO - 10)); then
		jstate
		[ "$STATE" = concluded ] && return 1
		fail "the mirror did not become ready within $((TMO - 10))s ($STATE, $OUTS)"
		return 1
	fi
	jstate
	[ "$STATE" = ready ] && return 0
	fail "the mirror is $STATE after waiting for ready"
	return 1
}

# new_job KIND: the volume got a KIND job (concluded jobs were dismissed:
# the start said so)
new_job() {
	if [ -n "$JOB" ] && [[ $OUTS != *"dismissed the concluded $JOB job"* ]]; then
		fail "a $1 started over a concluded $JOB job without saying it dismissed it: $OUTS"
	fi
	JOB=$1
}

# --- steps: st_NAME, each adds what it drew to TRACE ----------------------

# st_mirror: start a mirror from CUR to OTHER with random parameters
st_mirror() {
	local g mode sync speed ps pt mc wait=()
	pick 4K 8K 64K 256K 1M; g=$P
	pick background write-blocking; mode=$P
	rnd 4; sync=full; [ $R -eq 0 ] && sync=none
	pick 0 0 1M 4M 16M; speed=$P
	pick report stop ignore; ps=$P
	pick report stop ignore; pt=$P
	pick 1 4 16; mc=$P
	rnd 2
	[ $R -eq 0 ] && [ "$speed" != 1M ] && wait=(--wait)
	TRACE+=" mirror($g,$mode,$sync,$speed,$ps/$pt,$mc${wait:+,wait})"
	bk_check_done
	if [ $sync = none ]; then
		# sync none copies new writes only: the destination holds the volume already
		settle
		must dd if="/dev/mapper/$CUR" of="/dev/mapper/$OTHER" bs=1M iflag=direct oflag=direct \
			status=none || return
	fi
	if ! must blockjob mirror vol "/dev/mapper/$OTHER" --granularity "$g" --mode "$mode" \
		--sync "$sync" --speed "$speed" --on-source-error "$ps" --on-target-error "$pt" \
		--max-copies "$mc" "${wait[@]}"; then
		sync_job
		return
	fi
	new_job mirror
}

# st_backup: start a backup of the volume to lc with random parameters
st_backup() {
	local sync chunk speed cbw mc view=() wait=()
	rnd 3; sync=full; [ $R -eq 0 ] && sync=none
	pick 4K 64K 1M; chunk=$P
	pick 0 0 1M 4M 16M; speed=$P
	rnd 4; cbw=break-snapshot; [ $R -eq 0 ] && cbw=break-guest-write
	pick 1 4 16; mc=$P
	rnd 2; [ $R -eq 0 ] && view=(--view pit)
	rnd 3
	[ $R -eq 0 ] && [ $sync = full ] && [ "$speed" != 1M ] && wait=(--wait)
	TRACE+=" backup($sync,$chunk,$speed,$cbw,$mc${view:+,view}${wait:+,wait})"
	bk_check_done
	settle
	dsha vol
	BK_SHA=$H BK_CHECKED=0 J_SYNC=$sync J_CBW=$cbw J_VIEW=0
	if ! must blockjob backup vol /dev/mapper/lc --sync "$sync" --chunk-size "$chunk" \
		--speed "$speed" --on-cbw-error "$cbw" --max-copies "$mc" "${view[@]}" "${wait[@]}"; then
		sync_job
		return
	fi
	new_job backup
	[ -n "${view[*]}" ] && J_VIEW=1
	if [ -n "${wait[*]}" ]; then
		on_cur "backup --wait"
		view_exists && fail "backup --wait left its view"
		dsha lc
		[ "$H" = "$BK_SHA" ] || fail "the backup (--wait) differs from the volume at its start"
	fi
}

# st_write: fio writes a new generation to 1 to 3 ranges, in the background or not
st_write() {
	local n
	settle
	rnd 3; n=$((R + 1))
	rnd 2
	if [ $R -eq 0 ]; then
		TRACE+=" write(bg,$n)"
		write_start $n
	else
		TRACE+=" write($n)"
		write_fg $n
	fi
}

# st_suspend: suspend and resume the volume (a writer may be running)
st_suspend() {
	local nf=()
	rnd 2; [ $R -eq 0 ] && nf=(--noflush)
	TRACE+=" suspend${nf:+-noflush}"
	must dmsetup suspend "${nf[@]}" vol
	must dmsetup resume vol
}

# st_pause: pause the job, maybe write, resume it (or resume a job an error stopped)
st_pause() {
	jstate
	case $STATE in
	running | ready)
		TRACE+=" pause"
		if ! run blockjob pause vol; then
			jstate
			[ "$STATE" = concluded ] || fail "pause refused in state $STATE: $OUTS"
			return
		fi
		rnd 2
		if [ $R -eq 0 ]; then
			TRACE+="+write"
			settle	# a background writer's ranges first (write_start forgets them)
			write_fg 1
		fi
		if ! run blockjob resume vol; then
			jstate
			[ "$STATE" = concluded ] || fail "resume refused in state $STATE: $OUTS"
		fi
		;;
	paused | standby)
		TRACE+=" resume"
		must blockjob resume vol
		;;
	esac
}

# st_speed: a new copy rate limit
st_speed() {
	pick 0 1M 4M 64M
	TRACE+=" speed($P)"
	if ! run blockjob set-speed vol "$P"; then
		jstate
		[ "$STATE" = concluded ] || fail "set-speed refused in state $STATE: $OUTS"
	fi
}

# st_dstwin: the job's destination fails every I/O for a moment; guest
# writes meanwhile (issued in the window, or running across its edges)
# must succeed: the source accepts them. Except those that a backup under
# break-guest-write fails on purpose.
st_dstwin() {
	local t=$OTHER may="" n across
	if [ "$JOB" = backup ]; then
		t=lc
		[ "$J_CBW" = break-guest-write ] && may=may_fail
	fi
	settle
	rnd 2; n=$((R + 1))
	rnd 2; across=$R
	TRACE+=" dstwin"
	if [ $across = 1 ]; then
		TRACE+="(across)"
		write_start $n
	fi
	swap_table $t error || { settle $may; return; }
	[ $across = 0 ] && write_fg $n $may
	rnd 2
	[ $R -eq 0 ] && wait_errors
	swap_table $t linear
	settle $may
	jstate
	TRACE+="->$STATE"
	[ "$FLAGS" = - ] || TRACE+="[$FLAGS]"
	case $STATE in
	paused | standby)
		rnd 2
		[ $R -eq 0 ] && must blockjob resume vol
		;;
	esac
}

# st_srcwin: the source fails every I/O for a moment: a guest write then
# fails, and the source (so the volume) still holds what it held
st_srcwin() {
	local off pre
	settle
	rnd $((NR * RSZ >> 16)); off=$R
	TRACE+=" srcwin"
	dsha vol "$off" 1
	pre=$H
	swap_table "$CUR" error || return
	if run dd if=/dev/urandom of=/dev/mapper/vol bs=64K count=1 seek=$off oflag=direct status=none; then
		fail "a write succeeded while the source failed every write"
	fi
	rnd 2
	[ $R -eq 0 ] && wait_errors
	swap_table "$CUR" linear
	if [ -n "$JOB" ]; then
		jstate
		TRACE+="->$STATE"
		case $STATE in
		paused | standby)
			rnd 2
			[ $R -eq 0 ] && must blockjob resume vol
			;;
		esac
	fi
	dsha vol "$off" 1
	[ "$H" = "$pre" ] || fail "the write the source failed changed the volume"
}

# st_cancel: cancel the job (plain or --force; waiting or --no-wait; quiet
# or under writes). A mirror cancelled while ready leaves the volume as of
# the cancel on its destination.
st_cancel() {
	local force=() nowait=() quiet=0 pre="" copy=0 rc want=0 q="" st0 res0 nerr0
	rnd 4; [ $R -eq 0 ] && force=(--force)
	rnd 3; [ $R -eq 0 ] && nowait=(--no-wait)
	rnd 3; [ $R -ne 0 ] && quiet=1 q=quiet,
	[ $quiet = 1 ] && settle
	bk_check_done
	jstate
	st0=$STATE res0=$RESULT nerr0=$NERR
	[ "$st0" = concluded ] && nowait=()	# --no-wait refuses a concluded job
	[ "$st0" = concluded ] && [ "$JOB/$res0" != mirror/cancelled ] && force=()
	TRACE+=" cancel(${force:+force,}${nowait:+nowait,}$q$st0)"
	if [ $quiet = 1 ]; then
		dsha vol
		pre=$H
		[ "$JOB" = mirror ] && [ -z "${force[*]}" ] &&
			case $st0 in ready | standby) copy=1 ;; esac
	fi
	run blockjob cancel vol "${force[@]}" "${nowait[@]}"
	rc=$?
	# exit 1 for a job that had failed
	[ "$st0/$res0" = concluded/failed ] && want=1
	if [ $rc -ne $want ]; then
		local why excused=0
		why=$OUTS
		jstate
		# a live job may conclude by itself meanwhile: a backup that
		# completed refuses --no-wait, a job that had met an error failed
		if [ $rc -eq 1 ] && [ "$st0" != concluded ]; then
			[ -n "${nowait[*]}" ] && [ "$STATE/$RESULT" = concluded/completed ] && excused=1
			[ "$nerr0" != 0 ] && excused=1
		fi
		[ $excused = 1 ] || fail "cancel of a $st0 $res0 job exited $rc: $why"
	fi
	if [ -n "${nowait[*]}" ]; then
		jstate
		[ "$STATE" = concluded ] || fail "cancel --no-wait: the job is $STATE"
		if [ "$JOB" = mirror ]; then
			case ,$FLAGS, in
			*,dest_invalid,*) [ $copy = 0 ] || fail "cancel after ready flagged dest_invalid ($FLAGS)" ;;
			*) [ -z "${force[*]}" ] || fail "cancel --force did not flag dest_invalid ($FLAGS)" ;;
			esac
		fi
	else
		on_cur "cancel"
	fi
	view_exists && [ -z "$JOB" ] && fail "the backup's view outlived its job"
	if [ $copy = 1 ]; then
		dsha "$OTHER"
		[ "$H" = "$pre" ] || fail "the destination of a mirror cancelled after ready differs from the volume at the cancel"
		dsha vol
		[ "$H" = "$pre" ] || fail "the cancel changed the volume"
	fi
}

# st_complete: pivot onto the destination, with no write in flight (the
# volume must read the same after) or under writes (fio verifies them)
st_complete() {
	local pre="" loaded=0 was=$CUR
	rnd 3; [ $R -eq 0 ] && loaded=1
	if ! ensure_ready; then
		TRACE+=" complete(not ready: $STATE $RESULT)"
		[ "$STATE $RESULT" = "concluded failed" ] && [ "$NERR" = 0 ] &&
			fail "the mirror failed without an error"
		return
	fi
	if [ $loaded = 1 ]; then
		TRACE+=" complete(writes)"
		write_start 2
	else
		TRACE+=" complete"
		dsha vol
		pre=$H
	fi
	if ! must blockjob complete vol; then
		settle
		sync_job
		return
	fi
	settle
	sync_job
	if [ -n "$JOB" ] || [ "$CUR" = "$was" ]; then
		fail "complete left the volume in ${JOB:-passthrough} mode on $CUR"
		return
	fi
	COUNT[pivot]=$((${COUNT[pivot]:-0} + 1))
	if [ -n "$pre" ]; then
		dsha vol
		[ "$H" = "$pre" ] || fail "the pivoted volume differs from the volume before the pivot"
	else
		verify_all "after the pivot under writes"
	fi
}

# st_dismiss: dismiss a concluded job (back on the source, views gone);
# refused for a live one
st_dismiss() {
	local rc
	jstate
	if [ "$STATE" = concluded ]; then
		TRACE+=" dismiss($RESULT)"
		bk_check_done
		must blockjob dismiss vol || return
		on_cur "dismiss"
		view_exists && fail "dismiss left the view"
	else
		TRACE+=" dismiss-refused"
		run blockjob dismiss vol
		rc=$?
		[ $rc -eq 1 ] || fail "dismiss of a $STATE job exited $rc: $OUTS"
	fi
}

# st_view: read the backup's view (maybe while copy-before-write runs): it
# shows the volume at the backup's start, or fails once the job has ended
st_view() {
	settle
	rnd 2
	[ $R -eq 0 ] && write_start 2
	TRACE+=" view${WPID:+(writes)}"
	dsha pit
	settle
	if [ -n "$H" ]; then
		[ -z "$BK_SHA" ] || [ "$H" = "$BK_SHA" ] ||
			fail "the view differs from the volume at the backup's start"
	else
		jstate
		[ "$STATE" = concluded ] || fail "reading the view failed with the job $STATE"
	fi
}

# st_bwait: wait for a backup to end (resumed, no speed limit)
st_bwait() {
	TRACE+=" bwait"
	jstate
	[ "$STATE" = paused ] && run blockjob resume vol
	[ "$SPEED" != 0 ] && run blockjob set-speed vol 0
	run blockjob wait vol --for concluded --timeout $((TMO - 10))
	jstate
	TRACE+="->$RESULT"
	case $STATE/$RESULT in
	concluded/completed) bk_check_done ;;
	concluded/failed) [ "$NERR" != 0 ] || fail "the backup failed without an error" ;;
	concluded/cancelled) ;;
	*) fail "the backup did not end within $((TMO - 10))s ($STATE)" ;;
	esac
}

# hold_write: a guest write in flight, held in the suspended source
hold_write() {
	local i w
	must dmsetup suspend --noflush "$CUR" || return 1
	write_start 1
	for ((i = 0; i < 100; i++)); do
		read -r _ w <"$INFLIGHT"
		[ "$w" -ge 1 ] && return 0
		sleep 0.1
	done
	fail "no write in flight 10 s after it started"
	return 1
}

# st_kill: SIGKILL a running blockjob command (complete, cancel, or a job
# start with --wait) at a random moment, or inside its suspend while a write
# is held in flight; then blockjob recover: the volume is consistent and
# its data intact
st_kill() {
	local cmd=() hold=0 quiet=0 pre="" pid rc i st s what copy=0 g hl="" oldtab
	settle
	sync_job
	oldtab=$TABLE
	[ -n "$JOB" ] && jstate
	if [ -n "$JOB" ] && [ "$STATE" != concluded ]; then
		rnd 2
		if [ "$JOB" = mirror ] && [ $R -eq 0 ] && ensure_ready; then
			cmd=(blockjob complete vol)
		else
			cmd=(blockjob cancel vol)
		fi
	else
		# (a speed no other step draws: a job this starts has a table of its own)
		bk_check_done
		rnd 2
		if [ $R -eq 0 ]; then
			pick 4K 64K 1M; g=$P
			cmd=(blockjob mirror vol "/dev/mapper/$OTHER" --granularity "$g" --speed 4100K --wait)
		else
			cmd=(blockjob backup vol /dev/mapper/lc --speed 4100K --wait)
		fi
	fi
	# without a held write nothing writes: the volume must read the same after
	rnd 3; [ $R -eq 0 ] && hold=1
	[ $hold = 0 ] && quiet=1
	[ $hold = 1 ] && hl=,held
	TRACE+=" kill(${cmd[1]}$hl"
	if [ $quiet = 1 ]; then
		dsha vol
		pre=$H
		[ "${cmd[1]}" = cancel ] && [ "$JOB" = mirror ] &&
			case $STATE in ready | standby) copy=1 ;; esac
	fi
	if [ $hold = 1 ]; then
		hold_write || { must dmsetup resume "$CUR"; settle; TRACE+=")"; return; }
	fi
	"${cmd[@]}" >"$OUT" 2>&1 &
	pid=$!
	if [ $hold = 1 ]; then
		for ((i = 0; i < 100; i++)); do
			s=() st=""
			mapfile -t s 2>/dev/null <"/proc/$pid/stack"
			case "${s[*]}" in *dm_suspend*) break ;; esac
			read -r st 2>/dev/null <"/proc/$pid/stat"
			st=${st##*) }
			case ${st%% *} in Z | "") break ;; esac
			sleep 0.1
		done
		[ $i -lt 100 ] || fail "${cmd[*]} not in its suspend after 10 s"
		# or let the suspend finish and kill right after: the command is
		# then anywhere between its suspend and its resume
		rnd 2
		if [ $R -eq 0 ]; then
			TRACE+=",released"
			hold=0
			must dmsetup resume "$CUR"
		fi
	else
		pick 0 0.05 0.1 0.2 0.4
		[ "$P" = 0 ] || sleep "$P"
	fi
	# (stderr: not bash's notice that the job was killed)
	{
		kill -9 $pid
		for ((i = 0; i < TMO * 10; i++)); do
			st=""
			read -r st <"/proc/$pid/stat"
			st=${st##*) }
			case ${st%% *} in Z | "") break ;; esac
			sleep 0.1
		done
		[ $i -lt $((TMO * 10)) ] || bail "${cmd[*]} did not die of SIGKILL within ${TMO}s"
		wait $pid
		rc=$?
	} 2>/dev/null
	[ $hold = 1 ] && must dmsetup resume "$CUR"
	must blockjob recover vol
	what=$OUTS
	# (the writer may be waiting for the volume that the kill left suspended)
	settle
	case $what in
	*"finished the pivot"*) what=pivot ;;
	*"and resumed"*) what=dropped+resumed ;;
	*dropped*) what=dropped ;;
	*"resumed the volume"*) what=resumed ;;
	*"nothing to recover"*) what=nothing ;;
	esac
	COUNT[recover-$what]=$((${COUNT[recover-$what]:-0} + 1))
	TRACE+=",rc $rc,recover:$what"
	dm_clean "after recover"
	sync_job
	if [ -n "$JOB" ]; then
		jstate
		TRACE+=",$JOB $STATE)"
	else
		TRACE+=",passthrough)"
	fi
	if [ -n "$JOB" ] && [ "$TABLE" != "$oldtab" ]; then
		# the killed command had started its job
		J_SYNC=full J_CBW=break-snapshot J_VIEW=0 BK_SHA=$pre BK_CHECKED=0
	fi
	if [ $copy = 1 ] && { [ -z "$JOB" ] || [[ ,$FLAGS, == *,not_mirroring,* ]]; }; then
		# the cancel took effect: the destination holds the volume as of it
		[[ ,$FLAGS, == *,dest_invalid,* ]] && [ -n "$JOB" ] &&
			fail "a killed cancel after ready flagged dest_invalid ($FLAGS)"
		dsha "$OTHER"
		[ "$H" = "$pre" ] || fail "the destination of a mirror cancelled after ready (killed, recovered) differs from the volume at the cancel"
	fi
	if [ -n "$pre" ]; then
		dsha vol
		[ "$H" = "$pre" ] || fail "the volume changed across the killed ${cmd[1]} and recover"
	else
		verify_all "after recover"
	fi
}

# steps_for_state: the steps the job on the volume allows, in STEPS (a
# step listed twice is drawn twice as often)
steps_for_state() {
	if [ -z "$JOB" ]; then
		STEPS=(mirror mirror mirror backup backup backup write suspend srcwin kill)
		return
	fi
	jstate
	if [ "$STATE" = concluded ]; then
		STEPS=(dismiss dismiss mirror backup cancel write kill)
	elif [ "$JOB" = mirror ]; then
		STEPS=(write suspend pause speed dstwin dstwin srcwin cancel complete complete kill kill dismiss)
	else
		STEPS=(write suspend pause speed dstwin dstwin srcwin cancel kill)
		[ "$J_SYNC" = full ] && STEPS+=(bwait)
		[ $J_VIEW = 1 ] && STEPS+=(view view)
	fi
}

# finish_job: end the job on the volume (a concluded one may stay, for the
# next start to dismiss)
finish_job() {
	local n
	for ((n = 0; n < 4; n++)); do
		settle
		sync_job
		[ -n "$JOB" ] || return 0
		STEP=$((STEP + 1))
		jstate
		if [ "$STATE" = concluded ]; then
			rnd 4
			if [ $R -eq 0 ] && [ $ITER -lt $ITERS ]; then
				TRACE+=" (left concluded)"
				bk_check_done
				return 0
			fi
			STEPNAME=dismiss
			st_dismiss
		elif [ "$JOB" = mirror ]; then
			rnd 3
			if [ $R -eq 0 ]; then
				STEPNAME=cancel
				st_cancel
			else
				STEPNAME=complete
				st_complete
				[ -z "$JOB" ] || { STEPNAME=cancel; st_cancel; }
			fi
		elif [ "$J_SYNC" = full ]; then
			STEPNAME=bwait
			st_bwait
		else
			STEPNAME=cancel
			st_cancel
		fi
	done
	fail "the job did not end"
}

# kreports: a failure for each new kernel report
kreports() {
	local l=()
	mapfile -t l < <(dmesg | grep -E "$REPORT")
	if [ ${#l[@]} -gt $KREP ]; then
		fail "kernel report: ${l[*]:$KREP:5}"
		KREP=${#l[@]}
	fi
}

# --- setup -------------------------------------------------------------------
load_blockjob || bail "modprobe dm-blockjob"
for d in la lb lc; do
	dmsetup create $d --table "0 $SECT linear ${DISK[$d]} 0" || bail "dmsetup create $d"
done
dm_nodes
for d in la lb lc; do
	DEVNUM[$d]=$(dmsetup info -c --noheadings -o major,minor --separator : $d)
done
blockjob create vol /dev/mapper/la || bail "blockjob create vol"
INFLIGHT=/sys/block/dm-$(dmsetup info -c --noheadings -o minor vol)/inflight
baseline
verify_all "the first generation" || bail "fio cannot verify its own writes"
ok "seed $SEED: setup, $NR ranges of fio data on a 4 MiB volume"

# --- iterations ----------------------------------------------------------------
for ((ITER = 1; ITER <= ITERS; ITER++)); do
	IT_FAIL=0 TRACE="" STEP=0
	kmsg "seed $SEED iter $ITER"
	[ $BASELINE = 1 ] && baseline
	rnd 2
	nsteps=$((R + 2))
	for ((STEP = 1; STEP <= nsteps; STEP++)); do
		steps_for_state
		pick "${STEPS[@]}"
		STEPNAME=$P
		COUNT[$P]=$((${COUNT[$P]:-0} + 1))
		"st_$P"
	done
	STEPNAME=finish
	TRACE+=" |"
	finish_job
	STEPNAME=end
	verify_all "end of the iteration"
	dm_clean "end of the iteration"
	kreports
	if [ $IT_FAIL = 0 ]; then
		ok "iter $ITER:$TRACE"
	else
		echo "# seed $SEED iter $ITER steps:$TRACE"
		BASELINE=1
	fi
done

# --- the end -------------------------------------------------------------------
ITER=$ITERS STEP=0 STEPNAME=teardown
finish_job
echo "# steps drawn: $(for k in "${!COUNT[@]}"; do printf '%s=%s ' "$k" "${COUNT[$k]}"; done)"
IT_FAIL=0
must blockjob remove vol
for d in la lb lc; do
	must dmsetup remove $d
done
must rmmod dm_blockjob
[ $IT_FAIL = 1 ] || ok "seed $SEED: teardown (volume and devices removed, module unloaded)"
finish
