#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qcow2 attach and qcow2 jobs in the VM, with host-side preparation and
# verification (the guest has no qemu-img):
#   60: images made here with qemu-img; the guest attaches them and checks
#       the device's digest (tests/vm/helpers/digest.c) against that of
#       "qemu-img convert -O raw" computed here;
#       after the guest wrote into a preallocated image, "qemu-img check"
#       and "qemu-img compare" agree here.
#   61: mirror and backup into qcow2 destinations under fio load, checked
#       here with qemu-img check/compare; mirror and backup --sync top copy
#       exactly the top image's clusters.
# Usage: tests/host/qcow2-vm.sh [--kernel stock|debug] [60|61]...
# Last line "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/scripts/lib.sh"
KARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) KARGS=(--kernel "$2"); shift 2 ;;
	*) break ;;
	esac
done
WHICH=("$@")
[ ${#WHICH[@]} -gt 0 ] || WHICH=(60 61)
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
for t in qemu-img qemu-io python3; do
	command -v $t >/dev/null || { echo "not ok - $t missing"; echo "0 passed, 1 failed"; exit 1; }
done
mkdir -p "$BLOCKJOB_CACHE/tmp"
D=$(mktemp -d "$BLOCKJOB_CACHE/tmp/qcow2-vm.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$D"' EXIT
q() { qemu-img "$@" >/dev/null || not_ok "setup: qemu-img $*"; }
io() { local img=$1; shift; local a=(); for c in "$@"; do a+=(-c "$c"); done
	qemu-io "${a[@]}" "$img" >/dev/null || not_ok "setup: qemu-io $img $*"; }
DIGEST=$ROOT/tests/vm/helpers/bin/digest	# the guest's dev_digest, built for both
make -s -C "$ROOT/userspace" ../tests/vm/helpers/bin/digest >/dev/null ||
	{ echo "not ok - make the digest helper"; echo "0 passed, 1 failed"; exit 1; }
rawdigest() { qemu-img convert -O raw "$1" "$D/conv.raw" && "$DIGEST" "$D/conv.raw"; rm -f "$D/conv.raw"; }
vm() {	# TEST: run tests/vm/TEST-*.sh with --xfer, count its result
	local t log
	t=$(ls "$ROOT"/tests/vm/"$1"-*.sh)
	log=$D/vm-$1.log
	"$ROOT/scripts/vm-run" "${KARGS[@]}" $(sed -n '1,20s/^#[[:space:]]*vm-run:[[:space:]]*//p' "$t" | head -n1) \
		--xfer "$D/xfer" "$t" 2>&1 | tee "$log" | grep -E '^(not )?ok ' | sed 's/^/    /'
	if [ "${PIPESTATUS[0]}" = 0 ]; then ok "VM test $(basename "$t")"; else
		not_ok "VM test $(basename "$t") (log kept: $log)"; trap - EXIT; tail -n 30 "$log"; fi
}

run60() {
	local X=$D/xfer/qcow2-60 s
	mkdir -p "$X"
	cd "$X" || return
	# depth 1..3 over a raw base with holes; zero clusters; raw backing
	head -c 16M /dev/urandom >base.raw
	fallocate -p -o 2M -l 1M base.raw
	q create -f qcow2 -b base.raw -F raw d1.qcow2
	io d1.qcow2 "write -P 0x11 1M 256k" "write -z 4M 128k" "write -P 0x12 15M 1M"
	q create -f qcow2 -o cluster_size=4096 -b d1.qcow2 -F qcow2 d2.qcow2
	io d2.qcow2 "write -P 0x21 1100k 8k" "write -z 8M 1M" "write -P 0x22 3M 64k"
	q create -f qcow2 -b d2.qcow2 -F qcow2 d3.qcow2 20M
	io d3.qcow2 "write -P 0x31 0 64k" "write -P 0x32 17M 1M" "write -z 5M 64k"
	q create -f qcow2 zeros.qcow2 8M
	io zeros.qcow2 "write -P 0x44 0 2M" "write -z 64k 512k" "write -z -u 1M 256k" "discard 1536k 64k"
	q create -f qcow2 -o preallocation=metadata prealloc.qcow2 8M
	io prealloc.qcow2 "write -P 0x55 0 3M"
	cp prealloc.qcow2 prealloc.orig.qcow2
	q create -f qcow2 needalloc.qcow2 8M
	io needalloc.qcow2 "write -P 0x66 1M 1M" "write -P 0x67 5M 64k"
	q convert -c -O qcow2 d1.qcow2 compressed.qcow2
	head -c 2M /dev/urandom >pattern.raw
	: >manifest
	for s in d1.qcow2:1 d2.qcow2:1 d3.qcow2:1 zeros.qcow2:1 prealloc.qcow2:0; do
		echo "${s%:*} $(rawdigest "${s%:*}") ${s#*:}" >>manifest
	done
	cd "$ROOT" || return
	vm 60
	# what the guest wrote into prealloc.qcow2
	cd "$X" || return
	qemu-img convert -O raw prealloc.orig.qcow2 want.raw
	dd if=pattern.raw of=want.raw bs=64k seek=16 conv=notrunc status=none
	dd if=pattern.raw of=want.raw bs=512 seek=7 count=3 conv=notrunc status=none
	if qemu-img check prealloc.qcow2 >check.out 2>&1; then ok "qemu-img check prealloc.qcow2 after the guest's writes"
	else not_ok "qemu-img check prealloc.qcow2: $(tail -n 3 check.out)"; fi
	if qemu-img compare -f qcow2 -F raw prealloc.qcow2 want.raw >cmp.out 2>&1; then
		ok "qemu-img compare: prealloc.qcow2 holds the guest's writes"
	else not_ok "qemu-img compare prealloc.qcow2: $(cat cmp.out)"; fi
	if qemu-img map --output=json prealloc.qcow2 | grep '"depth": 0, "present": false' >/dev/null; then
		not_ok "prealloc.qcow2 gained unallocated ranges"
	else ok "prealloc.qcow2: allocation unchanged"; fi
	cd "$ROOT" || return
}

run61() {
	local X=$D/xfer/qcow2-61
	mkdir -p "$X"
	cd "$X" || return
	# destinations: 32 MiB (the guest's volume), preallocated
	q create -f qcow2 -o preallocation=metadata mdst.qcow2 32M
	q create -f qcow2 -o preallocation=metadata bdst.qcow2 32M
	# sync top: a 64K-cluster top over a full base
	head -c 32M /dev/urandom >tbase.raw
	q convert -f raw -O qcow2 tbase.raw tbase.qcow2
	rm -f tbase.raw
	q create -f qcow2 -b tbase.qcow2 -F qcow2 ttop.qcow2
	io ttop.qcow2 "write -P 0x71 64k 64k" "write -P 0x72 1M 192k" "write -z 5M 128k" "write -P 0x73 31M 1M"
	qemu-img convert -O raw ttop.qcow2 "$D/ttop.raw"
	touch ready
	cd "$ROOT" || return
	vm 61
	cd "$X" || return
	local f
	for f in mdst bdst; do
		[ -f $f.src.raw ] || { not_ok "$f: the guest saved no source copy"; continue; }
		if qemu-img check $f.qcow2 >check.out 2>&1; then ok "qemu-img check $f.qcow2"
		else not_ok "qemu-img check $f.qcow2: $(tail -n 3 check.out)"; fi
		if qemu-img compare -f qcow2 -F raw $f.qcow2 $f.src.raw >cmp.out 2>&1; then
			ok "qemu-img compare: $f.qcow2 equals the source"
		else not_ok "qemu-img compare $f.qcow2: $(cat cmp.out)"; fi
	done
	for f in top-dst topb-dst; do
		local what=mirror
		[ $f = topb-dst ] && what=backup
		if [ ! -f $f.raw ]; then
			not_ok "$what sync top: the guest saved no destination copy"
			continue
		fi
		# expected: the top's clusters (64K regions) from the image, zeroes elsewhere
		python3 - "$D/ttop.raw" $f.raw ttop.qcow2 <<'PY'
import json, subprocess, sys
img = open(sys.argv[1], "rb").read()
got = open(sys.argv[2], "rb").read()
m = json.loads(subprocess.check_output(["qemu-img", "map", "--output=json", sys.argv[3]]))
want = bytearray(len(img))
g = 65536
for e in m:
    if e["present"] and e["depth"] == 0:
        a = e["start"] // g * g
        b = (e["start"] + e["length"] + g - 1) // g * g
        want[a:b] = img[a:b]
sys.exit(0 if bytes(want) == got else 1)
PY
		if [ $? = 0 ]; then ok "$what sync top: the destination holds exactly the top image's clusters"
		else not_ok "$what sync top: the destination differs from the top image's clusters"; fi
	done
	cd "$ROOT" || return
}

for w in "${WHICH[@]}"; do
	case $w in
	60) run60 ;;
	61) run61 ;;
	*) not_ok "unknown test $w" ;;
	esac
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
