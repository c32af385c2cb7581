#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 64M --timeout 300 --udev
# vm-kernel: stock (userspace only: libdevmapper's udev synchronisation and
# the udev flags the CLI gives its devices; no kernel path of its own)
# With a real udevd: when 'blockjob create' returns, /dev/mapper/NAME and
# udev's /dev/disk/by-id/dm-uuid-BLOCKJOB-VOL-* link exist (no settle in
# between); a backup's view of a volume holding a file system gets no udev
# links and does not take over /dev/disk/by-uuid/<its uuid>; cancel and
# remove take the nodes and links away before they return.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob || die "modprobe dm-blockjob"
start_udev || die "start udevd"
on_exit "blockjob remove vol 2>/dev/null"

check blockjob create vol /dev/vdb
check test -b /dev/mapper/vol
uuid=$(dmsetup info -c --noheadings -o uuid vol)
case $uuid in
BLOCKJOB-VOL-????????-????-????-????-????????????) ok "vol's DM UUID $uuid" ;;
*) not_ok "vol's DM UUID $uuid" ;;
esac
dm=$(readlink -f /dev/mapper/vol)
check_eq "$(readlink -f "/dev/disk/by-id/dm-uuid-$uuid" 2>&1)" "$dm" \
	"by-id/dm-uuid-$uuid is there when create returns"
check_eq "$(readlink -f /dev/disk/by-id/dm-name-vol 2>&1)" "$dm" "by-id/dm-name-vol too"

check mkfs.ext4 -q -F /dev/mapper/vol
udevadm settle --timeout=30	# the watch's change event after mkfs probes it
fs=$(udevadm info -q property -n /dev/mapper/vol | sed -n 's/^ID_FS_UUID=//p')
[ -n "$fs" ] && ok "udev sees the ext4 of vol ($fs)" || not_ok "udev sees no file system on vol"
check_eq "$(readlink -f "/dev/disk/by-uuid/$fs" 2>&1)" "$dm" "by-uuid/$fs is vol"

check blockjob backup vol /dev/vdc --sync none --view vw
check test -b /dev/mapper/vw
check_eq "$(dmsetup info -c --noheadings -o uuid vw | cut -c1-14)" BLOCKJOB-VIEW- \
	"the view's DM UUID has the BLOCKJOB- prefix"
# a synthetic event too (what 'udevadm trigger' at boot sends): the flags stay
check udevadm trigger --action=change --settle /dev/mapper/vw
props=$(udevadm info -q property -n /dev/mapper/vw)
check_eq "$(echo "$props" | grep -c -e '^DM_UDEV_DISABLE_DISK_RULES_FLAG=1$' \
	-e '^DM_UDEV_DISABLE_OTHER_RULES_FLAG=1$')" 2 "the view carries the disk and other rules flags"
check_eq "$(echo "$props" | grep -c '^ID_FS_UUID=')" 0 "udev does not probe the view"
check_eq "$(ls /dev/disk/by-id | grep -c BLOCKJOB-VIEW)" 0 "the view has no by-id link"
check_eq "$(readlink -f "/dev/disk/by-uuid/$fs" 2>&1)" "$dm" "by-uuid/$fs is still vol"

check blockjob cancel vol
check_eq "$(ls /dev/mapper/vw 2>&1 >/dev/null | grep -c 'No such file')" 1 \
	"cancel removed the view's node"
check blockjob remove vol
check_eq "$(ls /dev/mapper/vol /dev/disk/by-id/dm-name-vol "/dev/disk/by-id/dm-uuid-$uuid" 2>&1 |
	grep -c 'No such file')" 3 "remove took vol's node and links away"
finish
