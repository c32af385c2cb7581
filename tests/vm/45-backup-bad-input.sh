#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 3 --disk-size 256M --timeout 600
# Bad input is refused with a clear error and leaves nothing behind:
# malformed backup/view table lines and messages (dmsetup directly), and
# the CLI's checks (unknown bitmap, bitmap with sync full, bad chunk size,
# TARGET smaller than the volume, equal to the source, in use, a job
# already running).
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"
load_blockjob || die "modprobe dm-blockjob"

SEC=$((16 * 2048))
check bk_vol vol /dev/vdb $SEC
VOLDEV=$(dmsetup info -c --noheadings -o major,minor --separator : vol)
before=$(dmsetup ls | sort)

bad_create() {	# WHAT TABLE-PARAMS
	local what=$1
	shift
	if dmsetup create bad --table "0 $SEC blockjob $*" >/dev/null 2>&1; then
		not_ok "create accepted: $what ($*)"
		dmsetup remove bad
	else
		ok "create refused: $what"
	fi
	check_eq "$(dmsetup ls | sort)" "$before" "no device left after: $what"
}
bad_create "missing arguments" backup /dev/vdb 0 /dev/vdc
bad_create "chunk not a power of two" backup /dev/vdb 0 /dev/vdc 0 24
bad_create "chunk too small" backup /dev/vdb 0 /dev/vdc 0 4
bad_create "chunk zero" backup /dev/vdb 0 /dev/vdc 0 0
bad_create "chunk too large" backup /dev/vdb 0 /dev/vdc 0 262144
bad_create "chunk not a number" backup /dev/vdb 0 /dev/vdc 0 64k
bad_create "unknown feature" backup /dev/vdb 0 /dev/vdc 0 128 1 frobnicate
bad_create "feature count too high" backup /dev/vdb 0 /dev/vdc 0 128 3 sync full
bad_create "bad sync" backup /dev/vdb 0 /dev/vdc 0 128 2 sync partial
bad_create "sync top" backup /dev/vdb 0 /dev/vdc 0 128 2 sync top
bad_create "incremental without bitmap" backup /dev/vdb 0 /dev/vdc 0 128 2 sync incremental
bad_create "bitmap with sync full" backup /dev/vdb 0 /dev/vdc 0 128 4 sync full bitmap bm
bad_create "bitmap_mode without bitmap" backup /dev/vdb 0 /dev/vdc 0 128 2 bitmap_mode always
bad_create "unknown bitmap (new device)" backup /dev/vdb 0 /dev/vdc 0 128 4 sync incremental bitmap nosuch
bad_create "bad on_cbw_error" backup /dev/vdb 0 /dev/vdc 0 128 2 on_cbw_error ignore
bad_create "mirror feature" backup /dev/vdb 0 /dev/vdc 0 128 2 copy_mode background
bad_create "max_copies 0" backup /dev/vdb 0 /dev/vdc 0 128 2 max_copies 0
bad_create "duplicate feature" backup /dev/vdb 0 /dev/vdc 0 128 4 sync full sync none
bad_create "destination too small" backup /dev/vdb 0 /dev/vdc $((512 * 2048 - 100)) 128
bad_create "destination overlaps source" backup /dev/vdb 0 /dev/vdb 100 128
bad_create "destination missing" backup /dev/vdb 0 /dev/nosuch 0 128
bad_create "view without arguments" view
bad_create "view with extra arguments" view "$VOLDEV" 0
bad_create "view of a volume with no backup" view "$VOLDEV"
bad_create "view of a non-dm device" view /dev/vdc

# Loading bad tables into the live volume: refused, the volume unchanged.
check blockjob bitmap add vol bm
tab=$(dmsetup table vol)
for t in "backup /dev/vdb 0 /dev/vdc 0 128 4 sync incremental bitmap nosuch" \
	"backup /dev/vdb 0 /dev/vdc 0 100" "backup /dev/vdb 0 $VOLDEV 0 128"; do
	if dmsetup load vol --table "0 $SEC blockjob $t" 2>/dev/null; then
		not_ok "load accepted: $t"; dmsetup clear vol
	else
		ok "load refused: $t"
	fi
done
check_eq "$(dmsetup table vol)" "$tab" "volume table unchanged"
check_eq "$(dmsetup info vol | grep -c 'Tables present:.*INACTIVE')" 0 "no inactive table left"

bad_msg() {	# WHAT MESSAGE...
	local what=$1
	shift
	if dmsetup message vol 0 "$@" >/dev/null 2>&1; then not_ok "message accepted: $what"; else ok "message refused: $what"; fi
}
bad_msg "pause without a job" pause
bad_msg "cancel without a job" cancel
bad_msg "empty bitmap operation" bitmap
bad_msg "unknown bitmap operation" bitmap frob bm
bad_msg "bitmap add bad granularity" bitmap add x 100
bad_msg "bitmap add missing granularity" bitmap add x
bad_msg "bitmap clear unknown" bitmap clear nosuch
bad_msg "bitmap name with a slash" bitmap add a/b 128
bad_msg "unknown verb" frobnicate
# with a backup running
check blockjob backup vol /dev/vdc --sync none
bad_msg "set-speed not a number" set-speed fast
bad_msg "complete on a backup" complete
bad_msg "copy-mode on a backup" copy-mode write_blocking
bad_msg "set-dirty on a backup" set-dirty 0 1
bad_msg "resume while running" resume
check dmsetup message vol 0 set-speed 1048576
case $(dmsetup status vol) in *" 1048576 "*) ok "set-speed shows in status" ;; *) not_ok "status: $(dmsetup status vol)" ;; esac

# CLI refusals: exit 1, one line on stderr.
refuse() {	# WHAT CMD...
	local what=$1 rc
	shift
	"$@" >/tmp/out 2>/tmp/err
	rc=$?
	if [ $rc = 1 ] && [ "$(wc -l </tmp/err)" = 1 ] && [ ! -s /tmp/out ]; then
		ok "refused: $what: $(cat /tmp/err)"
	else
		not_ok "$what: exit $rc, stderr: $(cat /tmp/err)"
	fi
}
# Errors in the command line itself: exit 2, one line on stderr.
refuse_usage() {	# WHAT CMD...
	local what=$1 rc
	shift
	"$@" >/tmp/out 2>/tmp/err
	rc=$?
	if [ $rc = 2 ] && [ "$(wc -l </tmp/err)" = 1 ] && [ ! -s /tmp/out ]; then
		ok "refused (usage): $what: $(cat /tmp/err)"
	else
		not_ok "$what: exit $rc (want 2), stderr: $(cat /tmp/err)"
	fi
}
refuse "a job already runs" blockjob backup vol /dev/vdd
check dmsetup message vol 0 cancel
check bk_finish vol
check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "back to passthrough"
refuse "unknown bitmap" blockjob backup vol /dev/vdc --bitmap nosuch
refuse_usage "bitmap with sync full" blockjob backup vol /dev/vdc --sync full --bitmap bm
refuse_usage "incremental without bitmap" blockjob backup vol /dev/vdc --sync incremental
refuse_usage "chunk size not a power of two" blockjob backup vol /dev/vdc --chunk-size 12K
refuse_usage "chunk size too small" blockjob backup vol /dev/vdc --chunk-size 2K
refuse_usage "chunk size too large" blockjob backup vol /dev/vdc --chunk-size 128M
check bk_linear small /dev/vdc 0 $((SEC - 8))
refuse "TARGET smaller than the volume" blockjob backup vol /dev/mapper/small
refuse "TARGET equal to the source" blockjob backup vol /dev/vdb
refuse "TARGET is the volume" blockjob backup vol /dev/mapper/vol
refuse "TARGET in use" blockjob backup vol /dev/vdc
refuse "TARGET not a block device" blockjob backup vol /tmp/out
refuse "unknown volume" blockjob backup novol /dev/vdd
refuse_usage "bitmap add: bad granularity" blockjob bitmap add vol x --granularity 3K
refuse "bitmap remove: unknown" blockjob bitmap remove vol nosuch
refuse "bitmap dump: unknown" blockjob bitmap dump vol nosuch
refuse "bitmap add: exists" blockjob bitmap add vol bm
check_eq "$(dmsetup table vol | awk '{print $4}')" passthrough "volume still in passthrough after the refusals"
dmsetup remove small
check dmsetup remove vol
check rmmod dm_blockjob
finish
