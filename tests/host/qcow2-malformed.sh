#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Malformed qcow2 images must be refused by "blockjob qcow2 map" with one
# line "blockjob: IMAGE: what is wrong" and exit 1: no crash, no sanitizer
# report. Images are made with qemu-img and patched with printf/dd.
#
# BLOCKJOB=path  binary to test (default: an ASan/UBSan build of the qcow2
#                command made in the temp dir from the checkout's sources)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/qcow2-malformed.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

. "$ROOT/tests/host/sanitized-cli.bash"

if [ -z "${BLOCKJOB:-}" ]; then
	BLOCKJOB=$TMP/blockjob
	if ! build_blockjob "$BLOCKJOB"; then
		echo "not ok - build sanitized blockjob"
		echo "0 passed, 1 failed"
		exit 1
	fi
fi
cd "$TMP" || exit 1

# --- byte patching ---
hexbytes() {	# VALUE NBYTES -> \xNN escapes, big endian
	local v=$1 n=$2 i out=
	for ((i = n - 1; i >= 0; i--)); do
		out+=$(printf '\\x%02x' $(((v >> (i * 8)) & 0xff)))
	done
	printf '%s' "$out"
}
put() {		# FILE OFFSET VALUE NBYTES
	printf "$(hexbytes "$3" "$4")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
put8() { put "$1" "$2" "$3" 1; }
put32() { put "$1" "$2" "$3" 4; }
put64() { put "$1" "$2" "$3" 8; }
get64() { echo $((16#$(od -An -tx1 -j "$2" -N 8 "$1" | tr -d ' \n'))); }
get32() { echo $((16#$(od -An -tx1 -j "$2" -N 4 "$1" | tr -d ' \n'))); }

# A clean v3 image with data in two L2 tables' worth... and a helper copy.
qemu-img create -q -f qcow2 -o cluster_size=65536 good.qcow2 64M
qemu-io -c 'write -P 1 0 128k' -c 'write -z 1M 64k' good.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=65536,compat=0.10 goodv2.qcow2 64M
qemu-io -c 'write -P 1 0 128k' goodv2.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=65536,extended_l2=on goodx.qcow2 64M
qemu-io -c 'write -P 1 0 4k' goodx.qcow2 >/dev/null
L1=$(get64 good.qcow2 40)
L2=$(($(get64 good.qcow2 "$L1") & 0x00fffffffffffe00))
L2V2=$(($(get64 goodv2.qcow2 "$(get64 goodv2.qcow2 40)") & 0x00fffffffffffe00))
L1X=$(get64 goodx.qcow2 40)
L2X=$(($(get64 goodx.qcow2 "$L1X") & 0x00fffffffffffe00))
new() { cp "${2:-good.qcow2}" "$1"; }

# expect NAME FRAGMENT [IMAGE]: map must fail with exit 1 and one line
expect() {
	local name=$1 frag=$2 img=${3:-$1} rc lines
	"$BLOCKJOB" qcow2 map --output=json "$img" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	lines=$(wc -l <"$TMP/err")
	if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -q "^blockjob: $img: " "$TMP/err" &&
	   grep -qF -- "$frag" "$TMP/err" && ! grep -qE 'Sanitizer|runtime error' "$TMP/err"; then
		echo "ok - $name: $(cat "$TMP/err")"
		pass=$((pass + 1))
	else
		echo "not ok - $name (exit $rc, expected '$frag')"
		head -30 "$TMP/err"
		fail=$((fail + 1))
	fi
}

# sanity: the unpatched images map fine
for g in good.qcow2 goodv2.qcow2 goodx.qcow2; do
	if "$BLOCKJOB" qcow2 map --output=json $g >/dev/null 2>"$TMP/err"; then
		echo "ok - $g maps"; pass=$((pass + 1))
	else
		echo "not ok - $g maps"; cat "$TMP/err"; fail=$((fail + 1))
	fi
done

: >empty.img;			expect empty "file too short" empty.img
expect missing "cannot open" nonexistent.qcow2
mkdir -p dir.qcow2;		expect directory "Is a directory" dir.qcow2
new t50.qcow2; truncate -s 50 t50.qcow2;		expect truncated-header "file too short" t50.qcow2
new tl1.qcow2; truncate -s "$L1" tl1.qcow2;		expect truncated-l1 "L1 table at" tl1.qcow2
new tl2.qcow2; truncate -s $((L2 + 4096)) tl2.qcow2;	expect truncated-l2 "L2 table at" tl2.qcow2
new tdata.qcow2; truncate -s $((L2 + 65536)) tdata.qcow2;	expect truncated-data "beyond the end of" tdata.qcow2
new magic.qcow2; put32 magic.qcow2 0 0x12345678;	expect bad-magic "not a qcow2 image" magic.qcow2
new ver.qcow2; put32 ver.qcow2 4 4;			expect version "unsupported qcow2 version 4" ver.qcow2
new cb.qcow2; put32 cb.qcow2 20 30;			expect cluster-bits "unsupported cluster size" cb.qcow2
new cb8.qcow2; put32 cb8.qcow2 20 8;			expect cluster-bits-small "unsupported cluster size" cb8.qcow2
new l1a.qcow2; put64 l1a.qcow2 40 $((L1 + 512));	expect l1-misaligned "L1 table offset" l1a.qcow2
new l1b.qcow2; put64 l1b.qcow2 40 $((1 << 50));		expect l1-beyond "beyond the end of the file" l1b.qcow2
new l1s.qcow2; put32 l1s.qcow2 36 0x7fffffff;		expect l1-oversize "L1 table too large" l1s.qcow2
new l1z.qcow2; put64 l1z.qcow2 24 $((1 << 45));		expect l1-too-small "L1 table too small" l1z.qcow2
new rt.qcow2; put32 rt.qcow2 56 0x10000000;		expect reftable-oversize "refcount table too large" rt.qcow2
new rtb.qcow2; put64 rtb.qcow2 48 $((1 << 40));		expect reftable-beyond "refcount table at" rtb.qcow2
new rta.qcow2; put64 rta.qcow2 48 $((65536 + 8));	expect reftable-misaligned "refcount table offset" rta.qcow2
new ro.qcow2; put32 ro.qcow2 96 7;			expect refcount-order "refcount order 7" ro.qcow2
new hl.qcow2; put32 hl.qcow2 100 50;			expect header-length "header too short" hl.qcow2
new hl2.qcow2; put32 hl2.qcow2 100 0x20000;		expect header-length-big "exceeds the cluster size" hl2.qcow2
new inc.qcow2; put64 inc.qcow2 72 $((1 << 10));		expect unknown-incompat "unsupported incompatible feature(s): (bit 10)" inc.qcow2
new dirty.qcow2; put64 dirty.qcow2 72 1;		expect dirty "qemu-img check -r all" dirty.qcow2
new corrupt.qcow2; put64 corrupt.qcow2 72 2;		expect corrupt "marked corrupt" corrupt.qcow2
new df.qcow2; put64 df.qcow2 72 4;			expect data-file-unnamed "names none" df.qcow2
new ct.qcow2; put8 ct.qcow2 104 7;			expect compression-type "unknown compression type 7" ct.qcow2
new ctb.qcow2; put64 ctb.qcow2 72 8;			expect compression-bit "compression type" ctb.qcow2
new enc.qcow2; put32 enc.qcow2 32 1;			expect encrypted "encrypted images are not supported" enc.qcow2
new x4k.qcow2; put32 x4k.qcow2 20 12; put64 x4k.qcow2 72 16;	expect extl2-small-clusters "extended L2" x4k.qcow2
new sn.qcow2; put32 sn.qcow2 60 100000;			expect snapshots "too many internal snapshots" sn.qcow2
new snb.qcow2; put32 snb.qcow2 60 1; put64 snb.qcow2 64 $((1 << 40));	expect snapshot-table "snapshot table at" snb.qcow2
# header extension claiming more bytes than the first cluster holds
new ext.qcow2; put32 ext.qcow2 112 0x12345678; put32 ext.qcow2 116 0x7fffffff;	expect extension-size "header extension" ext.qcow2
new bo.qcow2; put64 bo.qcow2 8 $((1 << 20)); put32 bo.qcow2 16 10;	expect backing-name-offset "backing file name offset" bo.qcow2
new bl.qcow2; put64 bl.qcow2 8 512; put32 bl.qcow2 16 5000;	expect backing-name-length "bad backing file name" bl.qcow2
# L1/L2 entries
new l2a.qcow2; put64 l2a.qcow2 "$L1" $((L2 + 512));	expect l2-misaligned "L2 table offset" l2a.qcow2
new l2b.qcow2; put64 l2b.qcow2 "$L1" $((1 << 45));	expect l2-beyond "L2 table at" l2b.qcow2
D=$(get64 good.qcow2 "$L2")
new da.qcow2; put64 da.qcow2 "$L2" $((D + 512));	expect data-misaligned "data cluster offset" da.qcow2
new db.qcow2; put64 db.qcow2 "$L2" $(((1 << 62) - 65536 & 0x00ffffffffff0000 | (1 << 63)));	expect data-beyond "beyond the end of" db.qcow2
new z2.qcow2 goodv2.qcow2; put64 z2.qcow2 "$L2V2" 1;	expect zero-in-v2 "zero cluster in a qcow2 v2 image" z2.qcow2
DX=$(get64 goodx.qcow2 "$L2X")
new xb.qcow2 goodx.qcow2; put64 xb.qcow2 $((L2X + 8)) 0x0000000100000001;	expect extl2-bitmap "invalid L2 entry" xb.qcow2
new xu.qcow2 goodx.qcow2; put64 xu.qcow2 $((L2X + 16)) 0; put64 xu.qcow2 $((L2X + 24)) 0x3;	expect extl2-unalloc-bitmap "invalid L2 entry" xu.qcow2

# backing chains
qemu-img create -q -f qcow2 -b nothere.qcow2 -F qcow2 nob.qcow2 64M 2>/dev/null ||
	{ qemu-img create -q -f qcow2 nob.qcow2 64M; qemu-img rebase -q -u -b nothere.qcow2 -F qcow2 nob.qcow2; }
expect backing-missing "cannot open backing file" nob.qcow2
qemu-img create -q -f qcow2 self.qcow2 1M; qemu-img rebase -q -u -b self.qcow2 -F qcow2 self.qcow2
expect backing-self-loop "backing chain loop" self.qcow2
qemu-img create -q -f qcow2 loopa.qcow2 1M
qemu-img create -q -f qcow2 -b loopa.qcow2 -F qcow2 loopb.qcow2 1M
qemu-img rebase -q -u -b loopb.qcow2 -F qcow2 loopa.qcow2
expect backing-loop "backing chain loop" loopb.qcow2
qemu-img create -q -f qcow2 deep0.qcow2 1M
for i in $(seq 1 70); do
	qemu-img create -q -f qcow2 -b deep$((i - 1)).qcow2 -F qcow2 deep$i.qcow2 1M
done
expect chain-too-deep "backing chain deeper than" deep70.qcow2
qemu-img create -q -f qcow2 -b good.qcow2 -F qcow2 fmt.qcow2 64M
# rewrite the backing format extension's value "qcow2" as "vmdk\0"
off=$(grep -abo qcow2 fmt.qcow2 | head -1 | cut -d: -f1)
printf 'vmdk\0' | dd of=fmt.qcow2 bs=1 seek="$off" conv=notrunc status=none
expect backing-format "unsupported backing file format 'vmdk'" fmt.qcow2
new badback.qcow2 ver.qcow2
qemu-img create -q -f qcow2 -b ver.qcow2 -F qcow2 overbad.qcow2 64M 2>/dev/null ||
	{ qemu-img create -q -f qcow2 overbad.qcow2 64M; qemu-img rebase -q -u -b ver.qcow2 -F qcow2 overbad.qcow2; }
expect backing-malformed "backing file" overbad.qcow2

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
