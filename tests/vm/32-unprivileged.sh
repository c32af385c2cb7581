#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 256M --timeout 300
# vm-kernel: stock (refusals before any job code runs; the messages and
# events it tries run on the debug kernel in 24, 30 and 31)
# Without CAP_SYS_ADMIN: events, job messages and status reads are refused,
# each with one line saying so; the job is untouched. With the module not
# loaded (and not loadable), events say how to load it.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SRC=/dev/vdb DST=/dev/vdc
check blockjob create vol $SRC
on_exit "blockjob remove vol 2>/dev/null || dmsetup remove vol 2>/dev/null"
check blockjob mirror vol $DST --speed 1M

as_user() {
	setpriv --reuid=1000 --regid=1000 --clear-groups "$@"
}

check_err() {	# WANT CMD...
	local want=$1 out rc
	shift
	out=$(as_user "$@" 2>&1 >/dev/null)
	rc=$?
	check_eq "$out|$rc" "$want|1" "as uid 1000: $*"
}

EV="blockjob: permission denied: receiving dm-blockjob events needs CAP_SYS_ADMIN (run as root)"
check_err "$EV" blockjob events
check_err "$EV" blockjob events --json
check_err "$EV" blockjob events vol
check_err "$EV" blockjob wait vol --for ready
check_err "blockjob: cannot query vol: permission denied: device-mapper needs CAP_SYS_ADMIN (run as root)" \
	blockjob pause vol
check_err "blockjob: cannot query vol: permission denied: device-mapper needs CAP_SYS_ADMIN (run as root)" \
	blockjob set-speed vol 0
check_err "blockjob: cannot query vol: permission denied: device-mapper needs CAP_SYS_ADMIN (run as root)" \
	blockjob cancel vol --no-wait
check_err "blockjob: cannot query vol: permission denied: device-mapper needs CAP_SYS_ADMIN (run as root)" \
	blockjob status vol
check_err "blockjob: cannot query device-mapper: permission denied: device-mapper needs CAP_SYS_ADMIN (run as root)" \
	blockjob list --json
check_eq "$(blockjob status vol --json | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p')" running \
	"the job still runs, at its speed"
check_eq "$(as_user "$BJ_TESTS/vm/helpers/bin/nl-strict" join)" EPERM \
	"joining the events group without CAP_SYS_ADMIN: EPERM"
check_eq "$("$BJ_TESTS/vm/helpers/bin/nl-strict" join)" OK "root joins the events group"
check blockjob cancel vol
blockjob remove vol

# Module not loaded and not loadable (the family alias would autoload it).
KO=$(modinfo -n dm-blockjob)
check rmmod dm_blockjob
mv "$KO" /tmp/dm-blockjob.ko.hidden
on_exit "mv /tmp/dm-blockjob.ko.hidden $KO"
out=$(blockjob events 2>&1)
check_eq "$out|$?" "blockjob: the dm-blockjob module is not loaded (modprobe dm-blockjob)|1" \
	"events without the module"
mv /tmp/dm-blockjob.ko.hidden "$KO"
# With the module installed, resolving the family loads it (MODULE_ALIAS_GENL_FAMILY).
timeout 3 blockjob events >/dev/null 2>&1
check_eq "$(lsmod | grep -c '^dm_blockjob ')" 1 "resolving the family autoloads the module"

finish
