#!/bin/bash
# vm-run: --disks 3 --disk-size 64M --timeout 600
# Mirror an idle volume, then pivot: the destination equals the source, the
# volume reads the same data from the destination, the source is released.
# Also: sync none, cancel before ready, region sizes, odd volume sizes.
. "$BJ_TESTS/vm/lib.sh"
load_blockjob

SRC=/dev/vdb DST=/dev/vdc
mk_pattern $SRC 1
mk_pattern $DST 99   # garbage destination

check blockjob create vol $SRC
on_exit "blockjob remove vol 2>/dev/null || dmsetup remove vol 2>/dev/null"
want=$(dev_digest $SRC)

check blockjob mirror vol $DST --wait
st=$(dmsetup status vol)
case "$st" in *" mirror ready - "*) ok "mirror ready: $st" ;; *) not_ok "mirror not ready: $st" ;; esac
check_eq "$(dev_digest $DST)" "$want" "destination equals source when ready"
check blockjob complete vol
check_eq "$(dmsetup table vol | awk '{print $4, $5, $6}')" "passthrough 254:32 0" "volume now maps the destination"
check_eq "$(dev_digest /dev/mapper/vol)" "$want" "volume reads the same data after the pivot"
holders=$(ls /sys/block/vdb/holders | wc -l)
check_eq "$holders" 0 "source released after the pivot"
blockjob remove vol

# Region sizes and a volume that is not a multiple of the region size; on the
# debug kernel the smallest and the largest (the budget of make check).
grans="4K 64K 1M 4M"		# 4M: regions larger than one copy I/O
on_debug_kernel && grans="4K 4M"
for gran in $grans; do
	mk_pattern $DST $RANDOM
	mk_pattern $SRC $RANDOM
	# 63 MiB + 7 sectors: not a multiple of any region size.
	dmsetup create part --table "0 $((63*2048+7)) linear $SRC 0"
	dm_nodes
	check blockjob create vol /dev/mapper/part
	want=$(dev_digest /dev/mapper/part)
	check blockjob mirror vol $DST --granularity $gran --wait
	check blockjob complete vol
	check_eq "$(dev_digest $DST $(( (63*2048+7)*512 )))" "$want" "granularity $gran, odd size: copy equals source"
	check_eq "$(dev_digest /dev/mapper/vol)" "$want" "granularity $gran: volume reads the source's data"
	blockjob remove vol
	dmsetup remove part
done

# sync none: only new writes reach the destination.
dd if=/dev/zero of=$DST bs=1M count=64 oflag=direct status=none
check blockjob create vol $SRC
check blockjob mirror vol $DST --sync none --wait
dd if=/dev/urandom of=/tmp/blk bs=64K count=1 status=none
dd if=/tmp/blk of=/dev/mapper/vol bs=64K seek=100 oflag=direct status=none
check_eq "$(dd if=$DST bs=64K skip=100 count=1 status=none | digest)" \
	"$(digest </tmp/blk)" "sync none: new write duplicated to the destination"
check_eq "$(dd if=$DST bs=64K skip=0 count=1 status=none | digest)" \
	"$(dd if=/dev/zero bs=64K count=1 status=none | digest)" "sync none: old data not copied"
check dmsetup message vol 0 cancel
blockjob remove vol

# Cancel before ready: the volume stays on the source, destination flagged invalid.
check blockjob create vol $SRC
want=$(dev_digest $SRC)
check blockjob mirror vol $DST --speed 2M
sleep 1
check dmsetup message vol 0 cancel
st=$(dmsetup status vol)
case "$st" in *"concluded cancelled"*dest_invalid*) ok "cancelled before ready: $st" ;; *) not_ok "status after cancel: $st" ;; esac
check blockjob remove vol
check_eq "$(dev_digest $SRC)" "$want" "source untouched by a cancelled mirror"
finish
