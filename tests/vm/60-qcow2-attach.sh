#!/bin/bash
# vm-run: --disks 1 --disk-size 64M --timeout 600
# vm-run-by: tests/host/qcow2-vm.sh (it makes the images and checks them)
# qcow2 attach/detach (blockjob qcow2 attach): the attached device reads what
# qemu-img convert -O raw gives (checksums computed on the host), writable
# attach of a preallocated image, read-only decisions and refusals, loop
# devices gone after detach. Needs images from tests/host/qcow2-vm.sh in
# /xfer/qcow2-60 (scripts/vm-run --xfer); without them it skips.
. "$BJ_TESTS/vm/lib.sh"
X=/xfer/qcow2-60
if [ ! -f $X/manifest ]; then
	echo "ok - # SKIP no qcow2 images in /xfer (run tests/host/qcow2-vm.sh)"
	echo "1 passed, 0 failed"
	exit 0
fi
load_blockjob
modprobe loop
modprobe dm-zero

loops_bound() { ls /sys/block/loop*/loop/backing_file 2>/dev/null | wc -l; }
detach() {
	check blockjob qcow2 detach "$1"
	check_eq "$(dmsetup ls | grep -c "^$1")" 0 "$1: dm devices removed"
	check_eq "$(loops_bound)" 0 "$1: loop devices released"
}

# parity: IMAGE DIGEST RO(0|1) (the host's digest of qemu-img convert -O raw)
i=0
while read -r img digest ro; do
	i=$((i + 1))
	if blockjob qcow2 attach v$i "$X/$img" 2>/tmp/attach.err; then
		ok "attach $img$( [ -s /tmp/attach.err ] && echo ": $(cat /tmp/attach.err)")"
	else
		not_ok "attach $img: $(cat /tmp/attach.err)"
		continue
	fi
	dm_nodes
	check_eq "$(dev_digest /dev/mapper/v$i)" "$digest" "$img: attached device reads what qemu-img convert gives"
	check_eq "$(blockdev --getro /dev/mapper/v$i)" "$ro" "$img: read-only=$ro"
	check_eq "$(dmsetup status v$i | awk '{print $3, $4}')" "blockjob passthrough" "$img: v$i is a blockjob volume"
	detach v$i
done <$X/manifest

# writable attach of a preallocated image: writes land in the file
img=$X/prealloc.qcow2
blockjob qcow2 attach pw "$img" 2>/tmp/attach.err
check_eq "$?:$(cat /tmp/attach.err)" "0:" "preallocated image attached writable, silently"
dm_nodes
check_eq "$(blockdev --getro /dev/mapper/pw)" 0 "preallocated image: writable"
check dd if=$X/pattern.raw of=/dev/mapper/pw bs=64k seek=16 oflag=direct conv=notrunc status=none
check dd if=$X/pattern.raw of=/dev/mapper/pw bs=512 seek=7 count=3 oflag=direct conv=notrunc status=none
check_eq "$(dd if=/dev/mapper/pw bs=64k skip=16 count=$(( $(stat -c %s $X/pattern.raw) / 65536 )) iflag=direct status=none | digest)" \
	"$(digest <$X/pattern.raw)" "writes read back through the attached device"
sync
detach pw

# --read-only forces it
check blockjob qcow2 attach pr "$img" --read-only
dm_nodes
check_eq "$(blockdev --getro /dev/mapper/pr)" 1 "--read-only: read-only"
if dd if=/dev/zero of=/dev/mapper/pr bs=4k count=1 oflag=direct status=none 2>/dev/null; then
	not_ok "write to a read-only attach succeeded"
else
	ok "write to a read-only attach refused"
fi
detach pr

# an image needing allocation: read-only, with the reason on one line
blockjob qcow2 attach na $X/needalloc.qcow2 2>/tmp/attach.err
rc=$?
msg=$(cat /tmp/attach.err)
if [ $rc = 0 ] && [ "$(wc -l </tmp/attach.err)" = 1 ] &&
	[[ $msg == *"attached read-only: "*" ranges of $X/needalloc.qcow2 are not allocated in the top image (writes would need qcow2 allocation)" ]]; then
	ok "needs allocation: read-only: $msg"
else
	not_ok "needs allocation: exit $rc: $msg"
fi
dm_nodes
check_eq "$(blockdev --getro /dev/mapper/na)" 1 "needs allocation: device read-only"
detach na

# refusals: compressed clusters; nothing left behind
blockjob qcow2 attach cz $X/compressed.qcow2 2>/tmp/attach.err
rc=$?
if [ $rc = 1 ] && [ "$(wc -l </tmp/attach.err)" = 1 ] && grep -q compressed /tmp/attach.err; then
	ok "compressed image refused: $(cat /tmp/attach.err)"
else
	not_ok "compressed image: exit $rc: $(cat /tmp/attach.err)"
fi
check_eq "$(dmsetup ls | grep -c '^cz')$(loops_bound)" 00 "refusal leaves no device or loop behind"
blockjob qcow2 detach nosuch 2>/tmp/attach.err
check_eq "$?" 1 "detach of an unknown name fails: $(cat /tmp/attach.err)"
# attach over a name in use
check blockjob qcow2 attach dup $X/prealloc.qcow2 --read-only
blockjob qcow2 attach dup $X/prealloc.qcow2 --read-only 2>/dev/null
check_eq "$?" 1 "attach to a name in use fails"
detach dup

echo "$BJ_PASS passed, $BJ_FAIL failed"
[ "$BJ_FAIL" -eq 0 ]
