#!/bin/bash
# vm-run: --disks 4 --disk-size 64M --timeout 600
# Every malformed mirror line and message is refused with a clear error and
# leaves nothing behind; the CLI refuses bad targets.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob
SRC=/dev/vdb DST=/dev/vdc SMALL=/dev/vdd
S=$((32 << 11))   # 32 MiB in sectors

bad_line() {
	local line=$1 want=$2 out
	if out=$(dmsetup create bad --table "0 $S blockjob $line" 2>&1); then
		not_ok "accepted: $line"
		dmsetup remove bad
		return
	fi
	if dmsetup info bad >/dev/null 2>&1; then
		not_ok "left a device behind: $line"
		dmsetup remove bad
	fi
	if dmesg | tail -n 5 | grep -F -- "$want" >/dev/null; then
		ok "refused \"$line\": $want"
	else
		not_ok "refused \"$line\" without \"$want\" (dmesg: $(dmesg | tail -n 2 | tr '\n' ' '))"
	fi
}

bad_line "" "Missing mode"
bad_line "mirrors $SRC 0 $DST 0 128" "Unknown mode"
bad_line "mirror $SRC 0 $DST 0" "Not enough arguments"
bad_line "mirror $SRC 0 $DST 0 100" "power of two"
bad_line "mirror $SRC 0 $DST 0 4" "power of two"
bad_line "mirror $SRC 0 $DST 0 262144" "power of two"
bad_line "mirror $SRC x $DST 0 128" "Invalid source offset"
bad_line "mirror $SRC 0 $DST -1 128" "Invalid destination offset"
bad_line "mirror /dev/nope 0 $DST 0 128" "Source device not found"
bad_line "mirror $SRC 0 /dev/nope 0 128" "Destination device not found"
bad_line "mirror $SRC 0 $DST $((100 << 11)) 128" "Destination offset is beyond"
bad_line "mirror $SRC 0 $DST $((40 << 11)) 128" "Destination device too small"
bad_line "mirror $SRC $((40 << 11)) $DST 0 128" "Source device too small"
bad_line "mirror $SRC 0 $SRC 1024 128" "overlaps the source"
bad_line "mirror $SRC 0 $DST 0 128 1" "feature count"
bad_line "mirror $SRC 0 $DST 0 128 2 copy_mode" "feature count"
bad_line "mirror $SRC 0 $DST 0 128 1 copy_mode" "missing its value"
bad_line "mirror $SRC 0 $DST 0 128 2 copy_mode fast" "Invalid copy_mode"
bad_line "mirror $SRC 0 $DST 0 128 2 sync incremental" "a mirror takes full, none or top"
bad_line "mirror $SRC 0 $DST 0 128 2 speed 1k" "Invalid speed"
bad_line "mirror $SRC 0 $DST 0 128 2 on_target_error panic" "Invalid error policy"
bad_line "mirror $SRC 0 $DST 0 128 2 max_copies 0" "Invalid max_copies"
bad_line "mirror $SRC 0 $DST 0 128 2 bitmap bm" "not valid for this mode"
bad_line "mirror $SRC 0 $DST 0 128 2 frobnicate 1" "Unknown feature"
bad_line "mirror $SRC 0 $DST 0 128 4 speed 1 speed 2" "Duplicate feature"
bad_line "mirror $SRC 0 $DST 0 128 2 sync top" "sync top needs start_paused"
bad_line "passthrough $SRC 0 1 start_paused" "not valid for this mode"
bad_line "passthrough $SRC 0 junk" "feature count"
bad_line "passthrough $SRC $((64 << 11))" "Source offset is beyond"
bad_line "passthrough $SRC" "Not enough arguments"
bad_line "passthrough /dev/nope 0" "Source device not found"
bad_line "passthrough $SRC 0 1 frobnicate" "Unknown feature"
bad_line "passthrough $SRC 0 2 start_paused" "feature count"
bad_line "passthrough $SRC $((40 << 11))" "Source device too small"
# A target longer than the device.
if dmsetup create bad --table "0 $((65 << 11)) blockjob passthrough $SRC 0" 2>/dev/null; then
	not_ok "accepted a target longer than the device"; dmsetup remove bad
elif dmesg | tail -n 5 | grep "Source device too small" >/dev/null; then
	ok "refused a target longer than the device"
else
	not_ok "refused a target longer than the device without a clear error"
fi
check_eq "$(dmsetup ls | grep -c bad)" 0 "no device left behind by refused lines"

# Messages: refused with EINVAL and a log line; the job is unaffected.
check blockjob create vol $SRC
on_exit "dmsetup remove vol 2>/dev/null"
bad_msg() {
	if dmsetup message vol 0 "$@" 2>/dev/null; then
		not_ok "message accepted: $*"
	elif dmesg | tail -n 3 | grep "message \"$1\" rejected" >/dev/null; then
		ok "message refused with a log line: $*"
	else
		not_ok "message refused silently: $*"
	fi
}
bad_msg pause
bad_msg complete
bad_msg frobnicate
bad_msg set-speed
check blockjob mirror vol $DST --speed 1M
bad_msg complete
bad_msg set-speed fast
bad_msg set-speed 1 2
bad_msg copy-mode sideways
bad_msg resume
bad_msg set-dirty 0 1
check dmsetup message vol 0 pause
bad_msg pause
bad_msg set-dirty 99999999 1
check dmsetup message vol 0 resume
case "$(dmsetup status vol)" in *" running "*) ok "job still running after bad messages" ;; *) not_ok "$(dmsetup status vol)" ;; esac
check dmsetup message vol 0 cancel
bad_msg cancel
dmsetup remove vol

# CLI refusals: one line, non-zero exit.
cli_refuses() {
	local what=$1 out rc
	shift
	out=$("$@" 2>&1); rc=$?
	if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && printf '%s' "$out" | grep "^blockjob: " >/dev/null; then
		ok "CLI refuses $what: $out"
	else
		not_ok "CLI $what: rc=$rc out=$out"
	fi
}
blockjob create vol $SRC
dmsetup create small --table "0 $((16 << 11)) linear $SMALL 0"
dmsetup create holder --table "0 1024 linear $DST 0"
dm_nodes
cli_refuses "a smaller target" blockjob mirror vol /dev/mapper/small
cli_refuses "the source as target" blockjob mirror vol $SRC
cli_refuses "a target in use" blockjob mirror vol $DST
cli_refuses "a bad granularity" blockjob mirror vol /dev/vde --granularity 3K
cli_refuses "a bad mode" blockjob mirror vol /dev/vde --mode fast
cli_refuses "a missing target" blockjob mirror vol /dev/nonexistent
cli_refuses "an unknown volume" blockjob mirror novol /dev/vde
cli_refuses "complete without a job" blockjob complete vol
check blockjob mirror vol /dev/vde --speed 1M
cli_refuses "a second job" blockjob mirror vol /dev/vde
cli_refuses "complete before ready" blockjob complete vol
dmsetup message vol 0 cancel
dmsetup remove vol; dmsetup remove small; dmsetup remove holder
finish
