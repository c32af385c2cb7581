#!/bin/bash
# vm-run: --disks 2 --disk-size 64M --timeout 900
# vm-run-by: tests/host/qcow2-vm.sh (it makes the images and checks them)
# Jobs with qcow2: mirror and backup into qcow2 destinations under fio load
# (the host checks them with qemu-img check/compare), and mirror and backup
# --sync top from a volume attached from a qcow2 chain (the host checks that
# exactly the top image's clusters were copied). Needs images from
# tests/host/qcow2-vm.sh in /xfer/qcow2-61; without them it skips.
. "$BJ_TESTS/vm/lib.sh"
X=/xfer/qcow2-61
if [ ! -f $X/ready ]; then
	echo "ok - # SKIP no qcow2 images in /xfer (run tests/host/qcow2-vm.sh)"
	echo "1 passed, 0 failed"
	exit 0
fi
load_blockjob
modprobe loop
modprobe dm-zero
SIZE=$((32 << 20))
load() {	# DEV SECONDS: random writes in the background
	fio --name=load --filename="$1" --rw=randwrite --bs=4k --size=$SIZE --direct=1 \
		--ioengine=psync --time_based --runtime="$2" --rate=1m --randseed=$RANDOM \
		--output=/dev/null >/dev/null 2>&1 &
	FIO=$!
}

dm_create part "0 $((SIZE / 512)) linear /dev/vdb 0"
dm_create part2 "0 $((SIZE / 512)) linear /dev/vdc 0"

# --- mirror into a qcow2 image under load, pivot onto it
mk_pattern part 61
check blockjob create vol /dev/mapper/part
on_exit "blockjob qcow2 detach vol; blockjob remove vol"
load /dev/mapper/vol 6
check blockjob mirror vol $X/mdst.qcow2 --reuse --wait
wait $FIO
check blockjob complete vol
lower=$(dmsetup info -c --noheadings -o major,minor vol-qcow2 | tr -d ' ')
check_eq "$(dmsetup table vol | awk '{print $5}')" "$lower" "after the pivot vol lives on the attached qcow2 image"
check_eq "$(dev_digest vol)" "$(dev_digest part)" "vol (on the qcow2 image) reads the source's data"
check dd if=/dev/mapper/part of=$X/mdst.src.raw bs=1M status=none
check blockjob qcow2 detach vol
check_eq "$(dmsetup ls | grep -c '^vol')" 0 "detach removed vol and vol-qcow2"

# --- backup into a qcow2 image under load (point in time = start)
mk_pattern part 62
check blockjob create vol /dev/mapper/part
check dd if=/dev/mapper/part of=$X/bdst.src.raw bs=1M status=none
blockjob backup vol $X/bdst.qcow2 --reuse --speed 4M --wait >/tmp/backup.out 2>&1 &
BK=$!
for i in $(seq 100); do
	dmsetup status vol 2>/dev/null | grep ' backup ' >/dev/null && break
	sleep 0.1
done
load /dev/mapper/vol 5
wait $BK
check_eq "$?" 0 "backup --wait into bdst.qcow2 completed $(cat /tmp/backup.out)"
wait $FIO
check_eq "$(dmsetup ls | grep -c '^vol-qcow2')" 0 "backup --wait detached the destination"
check_eq "$(dmsetup status vol | awk '{print $4}')" passthrough "vol back in passthrough"
check blockjob remove vol

# --- a qcow2 TARGET that does not exist, without qemu-img: a clear refusal
check blockjob create vol /dev/mapper/part
blockjob mirror vol /tmp/new.qcow2 2>/tmp/err
check_eq "$?" 1 "mirror to a missing qcow2 without qemu-img fails: $(cat /tmp/err)"
check_eq "$(dmsetup ls | grep -c '^vol-qcow2')$(ls /tmp/new.qcow2 2>/dev/null)" 0 "nothing left behind"
check blockjob remove vol

# --- mirror --sync top from an attached chain: only the top's clusters
dd if=/dev/zero of=/dev/mapper/part2 bs=1M oflag=direct status=none
blockjob qcow2 attach tvol $X/ttop.qcow2 2>/tmp/err
check_eq "$?" 0 "attach ttop.qcow2 ($(cat /tmp/err))"
dm_nodes
check blockjob create vol /dev/mapper/part
blockjob mirror vol /dev/mapper/part2 --sync top 2>/tmp/err
check_eq "$?" 1 "--sync top on a volume not attached from qcow2 fails: $(cat /tmp/err)"
check_eq "$(dmsetup status vol | awk '{print $4}')" passthrough "no job started"
check blockjob remove vol
check blockjob mirror tvol /dev/mapper/part2 --sync top --granularity 64K --wait
st=$(dmsetup status tvol)
case $st in *" mirror ready - "*) ok "sync top: ready: $st" ;; *) not_ok "sync top: $st" ;; esac
check blockjob cancel tvol
check dd if=/dev/mapper/part2 of=$X/top-dst.raw bs=1M status=none

# --- backup --sync top from the same chain: the same clusters
dd if=/dev/zero of=/dev/mapper/part2 bs=1M oflag=direct status=none
blockjob backup tvol /dev/mapper/part2 --sync top --view tv 2>/tmp/err
check_eq "$?:$(dmsetup status tvol | awk '{print $4}')" 2:passthrough \
	"backup --sync top --view is refused (usage error): $(cat /tmp/err)"
check blockjob backup tvol /dev/mapper/part2 --sync top --wait
check dd if=/dev/mapper/part2 of=$X/topb-dst.raw bs=1M status=none
check blockjob qcow2 detach tvol

echo "$BJ_PASS passed, $BJ_FAIL failed"
[ "$BJ_FAIL" -eq 0 ]
