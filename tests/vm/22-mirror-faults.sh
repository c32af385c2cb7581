#!/bin/bash
# vm-run: --disks 3 --disk-size 64M --timeout 900
# Faults during a mirror: the destination turns into dm-error mid-copy under
# each on-target-error policy; source read errors under each on-source-error
# policy; a destination that fails writes while ready. The guest never sees a
# write fail that the source accepted, and the source is never damaged.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/mirror-lib.sh"
load_blockjob
modprobe dm-flakey
SRC=/dev/vdb DST=/dev/vdc
SIZE=$((48 << 20)); SECT=$((SIZE / 512))

# A guest write through the volume must succeed; the data must land on the source.
guest_write_ok() {
	dd if=/dev/urandom of=/tmp/w bs=64K count=4 status=none
	if dd if=/tmp/w of=/dev/mapper/vol bs=64K seek=$1 oflag=direct conv=fsync status=none; then
		check_eq "$(dd if=/dev/mapper/src bs=64K skip=$1 count=4 iflag=direct status=none | digest)" \
			"$(digest </tmp/w)" "$2: guest write landed on the source"
	else
		not_ok "$2: guest write failed"
	fi
}

setup() {
	mk_pattern $SRC $1 $SIZE
	dmsetup create src --table "0 $SECT linear $SRC 0"
	dmsetup create dst --table "0 $SECT linear $DST 0"
	dm_nodes
	blockjob create vol /dev/mapper/src || die "create"
}

teardown() {
	dmsetup remove vol; dmsetup remove src; dmsetup remove dst
}

# On the debug kernel (three to four times slower) each error policy runs
# once, not once per fault kind: the suite must fit its budget.
TARGET_POLICIES="report stop ignore" SOURCE_POLICIES="report stop ignore"
on_debug_kernel && TARGET_POLICIES="report ignore" SOURCE_POLICIES="stop"

# --- destination dies mid-copy --------------------------------------------
for policy in $TARGET_POLICIES; do
	setup 21
	check blockjob mirror vol /dev/mapper/dst --speed 8M --on-target-error $policy
	sleep 1
	ml_swap dst "0 $SECT error"
	guest_write_ok 10 "target error/$policy"
	case $policy in
	report)
		ml_wait_state vol concluded 60
		case "$(dmsetup status vol)" in *"concluded failed"*target-write*dest_invalid*)
			ok "report: job failed with the error in the status" ;;
		*) not_ok "report: status $(dmsetup status vol)" ;; esac
		guest_write_ok 20 "after failure"
		;;
	stop)
		ml_wait_state vol paused 60
		case "$(dmsetup status vol)" in *" paused "*target-write*io_error*)
			ok "stop: job paused with the error" ;;
		*) not_ok "stop: status $(dmsetup status vol)" ;; esac
		guest_write_ok 20 "while stopped"
		ml_swap dst "0 $SECT linear $DST 0"
		check dmsetup message vol 0 set-speed 0
		check dmsetup message vol 0 resume
		ml_wait_state vol ready 120 && ok "stop: resumed job became ready" || not_ok "stop: $(dmsetup status vol)"
		check_eq "$(dev_digest /dev/mapper/dst)" "$(dev_digest /dev/mapper/src)" "stop: copy equals source after resume"
		;;
	ignore)
		sleep 2
		case "$(dmsetup status vol)" in *" running "*target-write*) ok "ignore: job keeps running" ;;
		*) not_ok "ignore: status $(dmsetup status vol)" ;; esac
		ml_swap dst "0 $SECT linear $DST 0"
		check dmsetup message vol 0 set-speed 0
		ml_wait_state vol ready 120 && ok "ignore: job became ready once the target healed" || not_ok "ignore: $(dmsetup status vol)"
		check_eq "$(dev_digest /dev/mapper/dst)" "$(dev_digest /dev/mapper/src)" "ignore: copy equals source"
		;;
	esac
	teardown
done

# --- destination fails writes while ready ------------------------------------
setup 22
check blockjob mirror vol /dev/mapper/dst --on-target-error ignore --wait
ml_swap dst "0 $SECT error"
guest_write_ok 30 "ready, target failing"
case "$(dmsetup status vol)" in *" running "*) ok "a failed duplicate write left ready" ;;
*) not_ok "status $(dmsetup status vol)" ;; esac
ml_swap dst "0 $SECT linear $DST 0"
ml_wait_state vol ready 60 && ok "ready again once the region was re-copied" || not_ok "$(dmsetup status vol)"
check_eq "$(dev_digest /dev/mapper/dst)" "$(dev_digest /dev/mapper/src)" "copy equals source"
check blockjob complete vol
check_eq "$(dev_digest /dev/mapper/vol)" "$(dev_digest /dev/mapper/src)" "pivoted volume has every write"
teardown

# --- source read errors -----------------------------------------------------
for policy in $SOURCE_POLICIES; do
	setup 23
	want=$(dev_digest /dev/mapper/src)
	# 1 MiB in the middle of the source fails every I/O.
	mid=$((SECT / 2))
	ml_swap src "0 $mid linear $SRC 0
$mid 2048 error
$((mid + 2048)) $((SECT - mid - 2048)) linear $SRC $((mid + 2048))"
	check blockjob mirror vol /dev/mapper/dst --on-source-error $policy
	# Wait until the copier has reached the bad range (the status then shows
	# the error; slow kernels take a while to get there).
	i=0
	while [ $i -lt 600 ]; do
		st=$(dmsetup status vol)
		case "$st" in *source-read*) break ;; esac
		sleep 0.2
		i=$((i + 1))
	done
	sleep 0.5
	st=$(dmsetup status vol)
	case $policy/$st in
	report/*"concluded failed"*source-read*) ok "source error/report: job failed" ;;
	stop/*" paused "*source-read*) ok "source error/stop: job paused" ;;
	ignore/*" running "*source-read*) ok "source error/ignore: job retries" ;;
	*) not_ok "source error/$policy: status $st" ;;
	esac
	guest_write_ok 4 "source error/$policy"
	ml_swap src "0 $SECT linear $SRC 0"
	if [ $policy != report ]; then
		[ $policy = stop ] && check dmsetup message vol 0 resume
		ml_wait_state vol ready 120 && ok "source error/$policy: ready once the source healed" || not_ok "$(dmsetup status vol)"
		check_eq "$(dev_digest /dev/mapper/dst)" "$(dev_digest /dev/mapper/src)" "source error/$policy: copy equals source"
	fi
	teardown
done
finish
