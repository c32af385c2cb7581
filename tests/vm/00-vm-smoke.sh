#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 2 --disk-size 256M --timeout 300
# vm-kernel: stock (the harness itself: every debug-kernel test needs the same
# disks, tools and module load, and fails without them)
# The VM has every promised tool, module and disk; dm works end to end.
. "$BJ_TESTS/vm/lib.sh"

for t in busybox bash dmsetup dd losetup blockdev blkdiscard setpriv fio \
	sha256sum cmp timeout modprobe insmod rmmod lsmod modinfo depmod tar awk; do
	check command -v "$t"
done
check_eq "$(dd --version | sed -n 1p | grep -c coreutils)" 1 "dd is GNU coreutils"
check_eq "$(readlink -f "$(command -v losetup)")" /usr/sbin/losetup "losetup is util-linux"
check_eq "$(readlink -f "$(command -v modprobe)")" /usr/bin/kmod "modprobe is kmod"
check fio --version
check dmsetup version
check_eq "$(setpriv --reuid=bjuser --regid=bjuser --clear-groups id -u)" 1000 "setpriv to bjuser"
check_eq "$(setpriv --reuid=nobody --regid=nogroup --clear-groups id -u)" 65534 "setpriv to nobody"
check_eq "$BJ_TESTS" /bj/tests "BJ_TESTS is /bj/tests"

for m in dm-mod dm-flakey dm-delay dm-log-writes dm-snapshot dm-mirror dm-log \
	dm-region-hash dm-zero dm-era dm-bufio loop virtio_blk; do
	check modprobe "$m"
done
targets=$(dmsetup targets | awk '{print $1}' | tr '\n' ' ')
for t in linear striped zero error flakey delay log-writes snapshot snapshot-origin mirror era; do
	case " $targets " in
	*" $t "*) ok "dm target $t" ;;
	*) not_ok "dm target $t (have: $targets)" ;;
	esac
done
check test -c /dev/mapper/control
check_eq "$(cat /proc/sys/kernel/hung_task_timeout_secs)" 60 "hung_task_timeout_secs is 60"

# disks: /dev/vda is vm-run's, the scratch disks are vdb, vdc
check test -b /dev/vda
check_eq "$(dev_size vdb)" $((256 << 20)) "vdb is 256M"
check_eq "$(dev_size vdc)" $((256 << 20)) "vdc is 256M"
check_eq "$(cat /sys/block/vdb/serial)" bj-vdb "vdb is the first scratch disk"
check test ! -e /dev/vdd

# dm linear over vdb: pattern in, same data out, O_DIRECT both ways
check mk_pattern vdb 1 $((64 << 20))
want=$(dev_digest vdb $((64 << 20)))
check dm_create smoke "0 $((64 << 11)) linear /dev/vdb 0"
check test -b /dev/mapper/smoke
check_eq "$(dev_digest smoke)" "$want" "dm linear reads what vdb holds"
check dd if=/dev/mapper/smoke of=/dev/vdc bs=1M iflag=direct oflag=direct status=none
check cmp -n $((64 << 20)) /dev/mapper/smoke /dev/vdc
check fio_verify_write smoke --size=16M
check fio_verify_check smoke --size=16M
check dm_remove smoke
check blkdiscard -o 0 -l $((1 << 20)) /dev/vdc
check_eq "$(dev_digest vdc $((1 << 20)))" "$(head -c $((1 << 20)) /dev/zero | digest)" \
	"discarded range reads zeroes"

# loop
check truncate -s 16M /tmp/loop.img
if loopdev=$(losetup -f --show /tmp/loop.img); then
	ok "losetup $loopdev"
	check mk_pattern "$loopdev" 2
	check losetup -d "$loopdev"
else
	not_ok "losetup"
fi

# timeout, the unprivileged user cannot open the disks
check_eq "$(timeout 1 sleep 5; echo $?)" 124 "timeout works"
if setpriv --reuid=bjuser --regid=bjuser --clear-groups dd if=/dev/vdb of=/dev/null count=1 status=none 2>/dev/null; then
	not_ok "bjuser cannot read /dev/vdb"
else
	ok "bjuser cannot read /dev/vdb"
fi

if modinfo dm-blockjob >/dev/null 2>&1; then
	check load_blockjob
	check rmmod dm_blockjob
else
	echo "# dm-blockjob.ko not in the VM (not built); skipped"
fi
if [ -x /usr/bin/blockjob ]; then
	ok "blockjob CLI at /usr/bin/blockjob"
else
	echo "# /usr/bin/blockjob not in the VM (not built)"
fi

finish
