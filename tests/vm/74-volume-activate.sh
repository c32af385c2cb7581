#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run: --disks 4 --disk-size 48M --timeout 600
# Volumes come back where they live (issue 18): the volume record on the
# metadata device, `blockjob activate` and `activate --all`, and the pivot
# recorded durably.
#
# The volume starts on /dev/vdb (identity virtio-bj-vdb) and is mirrored to
# /dev/vdc. The metadata device is copied at each step of `complete` (the
# state a crash at that instant leaves on it): before it (the mirror
# runs), after the kernel's pivot commit (the suspend of the pivot), after
# a pivot abandoned (the mirror table resumed instead), after the CLI's new
# record. Then, for each copy, the volume is removed as a reboot would and
# the copy put back: `activate` must bring the volume back on the source
# for the first and third (where the mirror resumes: it had not pivoted)
# and on the destination for the others, never on a device without every
# write. Then the refusals: a home that is not
# present, a device with the same name but another identity, the metadata
# of another volume, `create` on a device that is not the volume's home,
# and `activate --all` going on past a volume that cannot come back.
. "$BJ_TESTS/vm/lib.sh"
. "$BJ_TESTS/vm/backup-lib.sh"

SEC=$((48 * 2048))
VOLUMES=/etc/blockjob/volumes
load_blockjob || die "modprobe dm-blockjob"
check bk_linear md /dev/vdd 0 2048
check bk_linear md2 /dev/vdd 4096 2048
check bk_linear gone /dev/vdd 8192 16384
S=/dev/vdb D=/dev/vdc MD=/dev/mapper/md
SNUM=$(dev_num $S) DNUM=$(dev_num $D)
md_save() { dd if=$MD of="/tmp/md.$1" bs=1M count=1 iflag=direct status=none; }
md_put() { dd if="/tmp/md.$1" of=$MD bs=1M count=1 oflag=direct conv=fsync status=none; }
record() { blockjob metadata dump $MD | sed -n 's/^ *record:* *//p' | sed -n 1p; }

# --- create: the record and /etc/blockjob/volumes ----------------------------
check mk_pattern "$S" 3
check blockjob create vol $S --metadata $MD
check blockjob bitmap add vol p --persistent
case "$(record)" in *home=virtio-bj-vdb*) ok "the record names the source by identity" ;;
*) not_ok "record: $(blockjob metadata dump $MD)" ;; esac
grep -q "^vol dm-uuid-BJTEST-md$" $VOLUMES && ok "$VOLUMES lists vol with its metadata device" ||
	not_ok "$VOLUMES: $(cat $VOLUMES 2>&1)"
check blockjob activate vol --metadata $MD
check dd if=/dev/urandom of=/dev/mapper/vol bs=64k count=16 seek=7 oflag=direct status=none

# --- the steps of complete ----------------------------------------------------
check blockjob mirror vol $D --wait
md_save a		# a crash while the mirror runs: the source is home
check dmsetup message vol 0 complete
check dmsetup suspend vol
md_save b		# after the pivot commit: the destination is home
case "$(blockjob metadata dump $MD)" in *"pivoted: yes"* | *"pivoted yes"*) ok "the suspend committed the pivot" ;;
*) not_ok "no pivot recorded: $(blockjob metadata dump $MD | head -n 12)" ;; esac
check dmsetup resume vol	# the mirror table again: pivot abandoned
md_save c
case "$(blockjob metadata dump $MD)" in *"pivoted: no"* | *"pivoted no"*) ok "resuming the mirror undid the pivot" ;;
*) not_ok "pivot still recorded: $(blockjob metadata dump $MD | head -n 12)" ;; esac
check dd if=/dev/urandom of=/dev/mapper/vol bs=64k count=16 seek=40 oflag=direct status=none
src_sha=$(dev_digest vol)
check blockjob complete vol
check_eq "$(vol_origin)" "$DNUM" "the volume is on the destination"
md_save d		# the CLI's record after the pivot
case "$(record)" in *home=virtio-bj-vdc*) ok "the record names the destination" ;; *) not_ok "record: $(record)" ;; esac
# Writes after the pivot reach the destination only: the source is stale now.
check dd if=/dev/urandom of=/dev/mapper/vol bs=64k count=16 seek=80 oflag=direct status=none
vol_sha=$(dev_digest vol)
want_p=$(blockjob bitmap dump vol p)

# --- a reboot: the volume comes back where it lives ----------------------------
uuid=$(dmsetup info -c --noheadings -o uuid vol)
check dmsetup remove vol
check blockjob activate --all
check_eq "$(vol_origin)" "$DNUM" "activate --all: vol on the destination"
check_eq "$(dmsetup info -c --noheadings -o uuid vol)" "$uuid" \
	"the same DM UUID, its metadata's: BLOCKJOB-VOL-$(blockjob metadata dump $MD | sed -n 's/.*(uuid \(.*\))$/\1/p')"
check_eq "$uuid" "BLOCKJOB-VOL-$(blockjob metadata dump $MD | sed -n 's/.*(uuid \(.*\))$/\1/p')" \
	"the volume's DM UUID is its metadata's uuid"
check_eq "$(dev_digest vol)" "$vol_sha" "with every write"
check_eq "$(blockjob bitmap dump vol p)" "$want_p" "and its persistent bitmap"
out=$(blockjob activate vol --metadata $MD)
check_eq "$?" 0 "activate on an active volume: exit 0 ($out)"

# --- a crash at each step: the metadata device as it was then -------------------
for step in a:$SNUM b:$DNUM c:$SNUM d:$DNUM; do
	s=${step%%:*} want=${step#*:}
	check dmsetup remove vol
	check md_put "$s"
	out=$(blockjob activate vol --metadata $MD 2>&1)
	check_eq "$?" 0 "step $s: activate ($out)"
	check_eq "$(vol_origin)" "$want" "step $s: the volume came back on $([ "$want" = "$SNUM" ] && echo source || echo destination)"
	case $s in
	a) case $out in *interrupted*) ok "step a: the interrupted mirror is reported" ;; *) not_ok "step a: no word of the mirror: $out" ;; esac ;;
	esac
	# Before the pivot's commit the mirror resumes from its sync map (76
	# checks what it copies; here the destination has moved on since).
	case $s in
	a | c) case $out in *"resumed:"*) ok "step $s: the mirror resumed" ;; *) not_ok "step $s: the mirror did not resume: $out" ;; esac
		check blockjob cancel vol ;;
	esac
	case $(record) in *job=*) not_ok "step $s: the job is still recorded: $(record)" ;;
	*) ok "step $s: the record names one home, no job" ;; esac
done
# step c came back on the source after writes that were duplicated to both.
check dmsetup remove vol
check md_put c
check blockjob activate vol --metadata $MD
check_eq "$(dev_digest vol)" "$src_sha" "step c: the source has every write made until the pivot"
check blockjob cancel vol

# --- refusals -----------------------------------------------------------------
check blockjob create vol2 /dev/mapper/gone --metadata /dev/mapper/md2
check dmsetup remove vol2
check dmsetup remove gone
out=$(blockjob activate vol2 --metadata /dev/mapper/md2 2>&1)
rc=$?
[ $rc -eq 1 ] && case $out in *dm-uuid-BJTEST-gone*"not present"*) true ;; *) false ;; esac &&
	ok "home not present: refused ($out)" || not_ok "home not present: rc $rc: $out"
dmsetup info vol2 >/dev/null 2>&1 && not_ok "vol2 was created" || ok "no vol2"
# The same name, another identity: not taken for the home.
check dmsetup create gone -u BJTEST-impostor --table "0 16384 linear /dev/vdd 8192"
check dm_nodes
out=$(blockjob activate vol2 --metadata /dev/mapper/md2 2>&1)
[ $? -eq 1 ] && ! dmsetup info vol2 >/dev/null 2>&1 && ok "a device of the same name and another identity is not the home ($out)" ||
	not_ok "activated on an impostor: $out"
out=$(blockjob create vol2 /dev/mapper/gone --metadata /dev/mapper/md2 2>&1)
[ $? -eq 1 ] && case $out in *"lives on"*) true ;; *) false ;; esac && ok "create on another device than the home: refused ($out)" ||
	not_ok "create on another device: $out"
dmsetup info vol2 >/dev/null 2>&1 && { not_ok "vol2 created"; dmsetup remove vol2; }
out=$(blockjob activate vol3 --metadata $MD 2>&1)
[ $? -eq 1 ] && case $out in *"volume vol"*) true ;; *) false ;; esac && ok "another volume's metadata: refused ($out)" ||
	not_ok "another volume's metadata: $out"
# activate --all: vol2's home is gone, vol still comes back; exit 1.
grep -q "^vol2 " $VOLUMES && ok "$VOLUMES lists vol2" || not_ok "$VOLUMES: $(cat $VOLUMES)"
check dmsetup remove vol
out=$(blockjob activate --all 2>&1)
rc=$?
check_eq "$rc" 1 "activate --all with one volume missing its home: exit 1 ($out)"
dmsetup info vol >/dev/null 2>&1 && ok "the other volume came back" || not_ok "vol not activated"
check_eq "$(echo "$out" | grep -c vol2)" 1 "one line names vol2"
check blockjob remove vol
grep -q "^vol " $VOLUMES && not_ok "remove left vol in $VOLUMES" || ok "remove took vol out of $VOLUMES"
finish
