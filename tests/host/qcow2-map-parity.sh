#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Parity of "blockjob qcow2 map --output=json" with "qemu-img map --output=json"
# (Debian 12's qemu-utils 7.2) on a corpus of images made here with qemu-img
# and qemu-io. Host only, no VM.
#
# BLOCKJOB=path  binary to test (default: an ASan/UBSan build of the qcow2
#                command made in the temp dir from the checkout's sources)
# KEEP=1         keep the temp dir
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/qcow2-parity.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

for t in qemu-img qemu-io; do
	command -v $t >/dev/null || { echo "not ok - $t missing (scripts/setup-deps)"; echo "0 passed, 1 failed"; exit 1; }
done

# A sanitized build of just the qcow2 command: other commands are stubbed, so
# this does not depend on (or disturb) the rest of the tree's build.
. "$ROOT/tests/host/sanitized-cli.bash"

if [ -z "${BLOCKJOB:-}" ]; then
	BLOCKJOB=$TMP/blockjob
	if ! build_blockjob "$BLOCKJOB"; then
		echo "not ok - build sanitized blockjob"
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

C=$TMP/corpus
mkdir -p "$C"
cd "$C" || exit 1
IMAGES=()

setup_failed() { echo "not ok - setup: $*"; fail=$((fail + 1)); }
q() { qemu-img "$@" >/dev/null || setup_failed "qemu-img $*"; }
io() { local img=$1; shift; local a=(); for c in "$@"; do a+=(-c "$c"); done
	qemu-io "${a[@]}" "$img" >/dev/null || setup_failed "qemu-io $img $*"; }
iof() { local f=$1 img=$2; shift 2; local a=(); for c in "$@"; do a+=(-c "$c"); done
	qemu-io -f "$f" "${a[@]}" "$img" >/dev/null || setup_failed "qemu-io $img $*"; }
add() { IMAGES+=("$@"); }
declare -A CWD_ONLY
add_df() { add "$@"; for i in "$@"; do CWD_ONLY[$i]=1; done; }

# --- cluster sizes x versions, data / zero / discard / compressed writes ---
for cs in 512 1024 4096 65536 2097152; do
	for compat in 0.10 1.1; do
		n=cs$cs-v$compat.qcow2
		q create -f qcow2 -o cluster_size=$cs,compat=$compat "$n" 8M
		io "$n" "write -P 0x11 0 3k" "write -P 0x22 1M 1536" "write 4M 1M" \
			"write -z 2M 64k" "write -P 0x33 3M 8k" "discard 4M 512k" "write -c 6M $cs"
		add "$n"
	done
done
# zero clusters (v3 keeps them as zero clusters), allocated zero clusters
q create -f qcow2 -o cluster_size=4096 zeros.qcow2 2M
io zeros.qcow2 "write 0 1M" "write -z 64k 64k" "write -z -u 256k 64k" "write -z 900k 5k" "discard 512k 128k"
add zeros.qcow2
# compressed via convert -c (whole image) and mixed
q create -f qcow2 -o cluster_size=65536 src.qcow2 4M
io src.qcow2 "write -P 0x5a 0 1M" "write -P 0 1M 1M" "write -P 0x6b 3M 100k"
for cs in 4096 65536 2097152; do
	q convert -c -O qcow2 -o cluster_size=$cs src.qcow2 conv-c-$cs.qcow2
	add conv-c-$cs.qcow2
done
cp conv-c-65536.qcow2 conv-c-mixed.qcow2
io conv-c-mixed.qcow2 "write -P 1 64k 64k" "write -z 128k 64k" "write -c 2M 128k"
add conv-c-mixed.qcow2
q convert -O qcow2 src.qcow2 conv-plain.qcow2
add conv-plain.qcow2

# --- sizes not a multiple of the cluster size ---
q create -f qcow2 -o cluster_size=65536 odd1.qcow2 1000000
io odd1.qcow2 "write 999000 936" "write 0 4k"
add odd1.qcow2
q create -f qcow2 -o cluster_size=2097152 odd2.qcow2 $((3 * 1048576 + 512))
io odd2.qcow2 "write $((3 * 1048576)) 512" "write 1M 4k"
add odd2.qcow2
q create -f qcow2 -o cluster_size=512 odd3.qcow2 $((1048576 + 512 * 3))
io odd3.qcow2 "write 1M 1536"
add odd3.qcow2
q create -f qcow2 empty.qcow2 0
add empty.qcow2

# --- extended L2 with partial subcluster writes ---
for cs in 16384 65536 2097152; do
	n=extl2-$cs.qcow2
	q create -f qcow2 -o cluster_size=$cs,extended_l2=on "$n" 8M
	io "$n" "write 0 512" "write 3k 1k" "write -z 8k 2k" "write 70k 1k" "write -z 1M 256k" \
		"write 2M 64k" "discard 2M 16k" "write -c 4M $cs" "write 7M 1M"
	add "$n"
done

# --- backing chains (depth 1..4), raw and qcow2 bases ---
q create -f raw base.raw 8M
iof raw base.raw "write -P 0xaa 0 64k" "write -P 0xbb 1M 4k" "write -P 0xcc 6M 2M"
q create -f qcow2 -o cluster_size=65536 base.qcow2 8M
io base.qcow2 "write -P 0xaa 0 64k" "write -P 0xbb 1M 4k" "write -z 2M 1M" "write -P 0xcc 6M 2M"
for b in raw qcow2; do
	prev=base.$b pfmt=$b
	for d in 1 2 3; do
		n=chain-$b-$d.qcow2
		q create -f qcow2 -o cluster_size=$((4096 << d)) -b "$prev" -F $pfmt "$n" 8M
		io "$n" "write -P $d $((d * 512 * 1024)) 8k" "write -z $((d * 1024 * 1024 + 4096)) 4k" \
			"discard 6M 64k" "write -P $d 7M 4k"
		add "$n"
		prev=$n pfmt=qcow2
	done
done
# extended L2 over a backing file: unallocated subclusters show the backing file
q create -f qcow2 -o cluster_size=65536,extended_l2=on -b base.qcow2 -F qcow2 extl2-over.qcow2 8M
io extl2-over.qcow2 "write 64k 2k" "write 1M 512" "write -z 6M 4k" "write 6200k 1k"
add extl2-over.qcow2
q create -f qcow2 -o cluster_size=65536,extended_l2=on -b base.raw -F raw extl2-over-raw.qcow2 8M
io extl2-over-raw.qcow2 "write 64k 2k" "write 1M 512" "write -z 6M 4k"
add extl2-over-raw.qcow2
# backing shorter and longer than the overlay; backing without a format (probed)
q create -f raw short.raw 1000
q create -f qcow2 -b short.raw -F raw over-short-raw.qcow2 4M
io over-short-raw.qcow2 "write 2M 4k"
add over-short-raw.qcow2
q create -f qcow2 short.qcow2 1M
io short.qcow2 "write 0 1M"
q create -f qcow2 -o cluster_size=4096 -b short.qcow2 -F qcow2 mid-short.qcow2 3M
q create -f qcow2 -b mid-short.qcow2 -F qcow2 over-short.qcow2 6M
io over-short.qcow2 "write 5M 4k"
add mid-short.qcow2 over-short.qcow2
q create -f qcow2 -b base.qcow2 -F qcow2 over-long.qcow2 2M
add over-long.qcow2
q create -f qcow2 -b base.qcow2 -F qcow2 noformat.qcow2 8M
qemu-img rebase -u -b base.qcow2 noformat.qcow2 2>/dev/null
add noformat.qcow2

# --- relative backing paths (relative to the image naming them) ---
mkdir -p rel/a/b rel/c
q create -f raw rel/c/base.raw 2M
iof raw rel/c/base.raw "write 0 64k"
q create -f qcow2 -b ../c/base.raw -F raw rel/a/mid.qcow2 2M
io rel/a/mid.qcow2 "write 64k 64k"
q create -f qcow2 -b ../mid.qcow2 -F qcow2 rel/a/b/top.qcow2 2M
io rel/a/b/top.qcow2 "write 128k 4k"
add rel/a/b/top.qcow2 rel/a/mid.qcow2

# --- external data files ---
q create -f qcow2 -o data_file=ext.data ext.qcow2 4M
io ext.qcow2 "write 0 4k" "write -z 128k 64k" "write 1M 1M" "discard 1536k 64k"
add_df ext.qcow2
q create -f qcow2 -o data_file=extraw.data,data_file_raw=on extraw.qcow2 4M
io extraw.qcow2 "write 0 4k" "write -z 2M 64k"
add_df extraw.qcow2
q create -f qcow2 -o data_file=extl2.data,extended_l2=on extl2-ext.qcow2 4M
io extl2-ext.qcow2 "write 0 3k" "write -z 64k 8k" "write 1M 100k"
add_df extl2-ext.qcow2
q create -f qcow2 -o data_file=extb.data -b base.qcow2 -F qcow2 ext-backed.qcow2 8M
io ext-backed.qcow2 "write 4k 4k" "write 3M 64k"
add_df ext-backed.qcow2

# --- internal snapshots ---
q create -f qcow2 -o cluster_size=4096 snap.qcow2 2M
io snap.qcow2 "write -P 1 0 256k"
q snapshot -c s1 snap.qcow2
io snap.qcow2 "write -P 2 64k 64k" "discard 128k 64k" "write -z 192k 4k"
q snapshot -c s2 snap.qcow2
io snap.qcow2 "write 1M 4k"
add snap.qcow2
q create -f qcow2 -o compat=0.10 snapv2.qcow2 2M
io snapv2.qcow2 "write 0 256k"
q snapshot -c s1 snapv2.qcow2
io snapv2.qcow2 "write 64k 64k" "discard 0 64k"
add snapv2.qcow2

# --- preallocation and refcount widths (metadata preallocation heuristic) ---
for p in off metadata falloc full; do
	q create -f qcow2 -o preallocation=$p,cluster_size=4096 prealloc-$p.qcow2 3M
	io prealloc-$p.qcow2 "write 4k 4k" "write -z 1M 8k" "discard 2M 64k"
	add prealloc-$p.qcow2
done
for rb in 1 2 4 8 32 64; do
	q create -f qcow2 -o refcount_bits=$rb,preallocation=metadata,cluster_size=65536 rb$rb.qcow2 4M
	io rb$rb.qcow2 "write 64k 64k"
	add rb$rb.qcow2
	q create -f qcow2 -o refcount_bits=$rb rbplain$rb.qcow2 4M
	io rbplain$rb.qcow2 "write 64k 64k" "write -c 1M 64k"
	add rbplain$rb.qcow2
done
q create -f qcow2 -o lazy_refcounts=on lazy.qcow2 2M
io lazy.qcow2 "write 0 64k"
add lazy.qcow2
q create -f qcow2 -o compression_type=zstd zstd.qcow2 2M
io zstd.qcow2 "write -c 0 64k" "write 64k 64k"
add zstd.qcow2

# a bigger image with a sparse pattern (several L2 tables)
q create -f qcow2 -o cluster_size=512 many-l2.qcow2 64M
cmds=()
for i in $(seq 0 37); do cmds+=("write -P $i $((i * 1700 * 1024)) $((i * 512 + 512))"); done
io many-l2.qcow2 "${cmds[@]}"
add many-l2.qcow2

# qemu's metadata-preallocation heuristic reads the file's allocated size,
# which moves while the page cache is written back: settle it first.
sync

# --- compare ---
# Each image is mapped from the corpus directory and from / (relative
# backing paths resolve against the image's directory, not the cwd). qemu
# 7.2 opens a relative external data file name relative to the cwd, where
# blockjob resolves it like a backing file: those images are compared from
# the corpus directory only.
for img in "${IMAGES[@]}"; do
	wheres=("$C" /)
	[ -n "${CWD_ONLY[$img]:-}" ] && wheres=("$C")
	for where in "${wheres[@]}"; do
		p=$img
		[ "$where" = / ] && p=$C/$img
		# qemu's metadata-preallocation path asks ext4 for holes, and ext4
		# answers from the page cache too, which reading metadata warms:
		# warm it the same way for both before comparing.
		(cd "$where" && qemu-img map --output=json "$p" && "$BLOCKJOB" qcow2 map --output=json "$p") >/dev/null 2>&1
		(cd "$where" && qemu-img map --output=json "$p") >"$TMP/want" 2>&1
		(cd "$where" && "$BLOCKJOB" qcow2 map --output=json "$p") >"$TMP/got" 2>"$TMP/err"
		rc=$?
		what="$img${where:+ (from $where)}"
		if [ $rc -eq 0 ] && cmp -s "$TMP/want" "$TMP/got" && ! grep -q Sanitizer "$TMP/err"; then
			echo "ok - $what"
			pass=$((pass + 1))
		else
			echo "not ok - $what (exit $rc)"
			diff -u "$TMP/want" "$TMP/got" | head -40
			head -20 "$TMP/err"
			fail=$((fail + 1))
		fi
	done
	# the human table must also work
	if (cd "$C" && "$BLOCKJOB" qcow2 map "$img") >"$TMP/human" 2>"$TMP/err" && [ -s "$TMP/human" ]; then
		pass=$((pass + 1))
	else
		echo "not ok - $img human output"
		head "$TMP/err"
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
