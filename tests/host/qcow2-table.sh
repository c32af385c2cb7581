#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The dm tables "blockjob qcow2 attach" loads, checked without a VM:
# "blockjob qcow2 table IMAGE" (the table with file names in place of loop
# devices, and the writable/read-only decision) and "blockjob qcow2 top
# IMAGE" (what sync top copies) against expectations computed from
# "qemu-img map --output=json" and "qemu-img info --backing-chain", on a
# corpus made here with qemu-img and qemu-io: merging of contiguous extents,
# zero clusters, chains of depth 1-3, raw backing files with holes,
# preallocation modes, snapshots, extended L2, external data files,
# fragmentation, and the refusals (compressed clusters, a raw backing file
# whose size is not a multiple of 512 bytes).
#
# BLOCKJOB=path  binary to test (default: an ASan/UBSan build made in the temp dir)
# KEEP=1         keep the temp dir
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/qcow2-table.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }

for t in qemu-img qemu-io python3; do
	command -v $t >/dev/null || { echo "not ok - $t missing (scripts/setup-deps)"; echo "0 passed, 1 failed"; exit 1; }
done

. "$ROOT/tests/host/sanitized-cli.bash"
if [ -z "${BLOCKJOB:-}" ]; then
	BLOCKJOB=$TMP/blockjob
	build_blockjob "$BLOCKJOB" || { echo "not ok - build sanitized blockjob"; echo "0 passed, 1 failed"; exit 1; }
fi

C=$TMP/corpus
mkdir -p "$C"
cd "$C" || exit 1
IMAGES=()
setup_failed() { not_ok "setup: $*"; }
q() { qemu-img "$@" >/dev/null || setup_failed "qemu-img $*"; }
io() { local img=$1; shift; local a=(); for c in "$@"; do a+=(-c "$c"); done
	qemu-io "${a[@]}" "$img" >/dev/null || setup_failed "qemu-io $img $*"; }
iof() { local f=$1 img=$2; shift 2; local a=(); for c in "$@"; do a+=(-c "$c"); done
	qemu-io -f "$f" "${a[@]}" "$img" >/dev/null || setup_failed "qemu-io $img $*"; }

# sparse image: unallocated ranges, a zero cluster, sequential writes that merge
q create -f qcow2 sparse.qcow2 8M
io sparse.qcow2 "write -P 1 0 1M" "write -P 2 2M 64k" "write -z 3M 128k" "write -P 3 5M 192k"
IMAGES+=(sparse.qcow2)
# fully allocated: writable
for pa in metadata falloc full; do
	q create -f qcow2 -o preallocation=$pa prealloc-$pa.qcow2 4M
	io prealloc-$pa.qcow2 "write -P 7 64k 128k"
	IMAGES+=(prealloc-$pa.qcow2)
done
q create -f qcow2 -o preallocation=metadata,compat=0.10 prealloc-v2.qcow2 2M
IMAGES+=(prealloc-v2.qcow2)
q create -f qcow2 -o preallocation=metadata,cluster_size=512 prealloc-512.qcow2 1M
IMAGES+=(prealloc-512.qcow2)
# preallocated but with zero clusters (write -z) and a discard: read-only
q create -f qcow2 -o preallocation=metadata prealloc-zero.qcow2 4M
io prealloc-zero.qcow2 "write -z 1M 128k" "discard 2M 64k"
IMAGES+=(prealloc-zero.qcow2)
# preallocated with an internal snapshot: read-only
q create -f qcow2 -o preallocation=metadata snap.qcow2 2M
q snapshot -c s1 snap.qcow2
IMAGES+=(snap.qcow2)
# chains of depth 1..3 over raw and qcow2 bases, relative backing names
mkdir -p sub
head -c 8M /dev/urandom >sub/base.raw
dd if=/dev/zero of=sub/base.raw bs=64k seek=20 count=10 conv=notrunc status=none
fallocate -p -o 3M -l 1M sub/base.raw
q create -f qcow2 -b base.raw -F raw sub/mid.qcow2
io sub/mid.qcow2 "write -P 0x21 1M 512k" "write -z 4M 64k" "write -P 0x22 6M 64k"
q create -f qcow2 -b sub/mid.qcow2 -F qcow2 top.qcow2
io top.qcow2 "write -P 0x31 1280k 64k" "write -P 0x32 7M 1M" "write -z 6M 64k"
q create -f qcow2 -b top.qcow2 -F qcow2 top3.qcow2
io top3.qcow2 "write -P 0x41 0 64k"
IMAGES+=(sub/mid.qcow2 top.qcow2 top3.qcow2)
q create -f qcow2 -b sub/base.raw -F raw over-raw.qcow2
IMAGES+=(over-raw.qcow2)
# fragmented: every other cluster written, in reverse order (no merging)
q create -f qcow2 -o cluster_size=4096 frag.qcow2 4M
a=()
for ((i = 255; i >= 0; i -= 2)); do a+=("write -P $((i % 200 + 1)) $((i * 4096)) 4k"); done
io frag.qcow2 "${a[@]}"
IMAGES+=(frag.qcow2)
# over a smaller backing file: zeroes past its end
q create -f qcow2 -o cluster_size=65536 small.qcow2 1M
io small.qcow2 "write -P 5 0 1M"
q create -f qcow2 -b small.qcow2 -F qcow2 grown.qcow2 4M
IMAGES+=(grown.qcow2)
# extended L2: partial subclusters over a backing file
q create -f qcow2 -o extended_l2=on,cluster_size=65536 -b small.qcow2 -F qcow2 xl2.qcow2 2M
io xl2.qcow2 "write -P 9 4k 4k" "write -P 9 1M 6k"
IMAGES+=(xl2.qcow2)
# external data file, preallocated: writable, mapped onto the data file
q create -f qcow2 -o data_file=ext.raw,data_file_raw=on,preallocation=metadata ext.qcow2 2M
IMAGES+=(ext.qcow2)
# refusals
q create -f qcow2 src.qcow2 2M
io src.qcow2 "write -P 3 0 1M"
q convert -c -O qcow2 src.qcow2 compressed.qcow2
IMAGES+=(compressed.qcow2)
head -c 1000 /dev/urandom >odd.raw
q create -f qcow2 -b odd.raw -F raw odd.qcow2 64k
IMAGES+=(odd.qcow2)

# Expected table from qemu-img's view of the image.
cat >"$TMP/expect.py" <<'EOF'
import json, os, subprocess, sys

img = sys.argv[1]
m = json.loads(subprocess.check_output(["qemu-img", "map", "--output=json", img]))
info = json.loads(subprocess.check_output(["qemu-img", "info", "--backing-chain", "--output=json", img]))
m = [e for e in m if e["length"]]

def datafile(d):
    i = info[d]
    fs = i.get("format-specific", {}).get("data", {})
    f = i["filename"]
    if fs.get("data-file"):
        f = os.path.join(os.path.dirname(f), fs["data-file"])
    return os.path.realpath(f)

segs, comp = [], 0
unalloc = zc = eof = 0
err = None
def push(start, length, f, off):
    if segs:
        s = segs[-1]
        if s[2] == f and s[0] + s[1] == start and (f is None or s[3] + s[1] == off):
            s[1] += length
            return
    segs.append([start, length, f, off])

for e in m:
    if e["data"] and "offset" not in e:
        comp += 1
        continue
    if not (e["depth"] == 0 and e["present"] and e["data"] and "offset" in e):
        if e["depth"] == 0 and e["present"]:
            zc += 1
        else:
            unalloc += 1
    if (e["start"] | e["length"]) % 512:
        err = "not a multiple of 512"
        break
    s, l = e["start"] // 512, e["length"] // 512
    if e["data"] and "offset" in e:
        f = datafile(e["depth"])
        size = os.stat(f).st_size
        avail = max(0, size // 512 - e["offset"] // 512)
        if avail < l:
            if not e["zero"]:
                err = "not a multiple of 512" if size % 512 else "shorter"
                break
            eof += 1
        if avail:
            push(s, min(avail, l), f, e["offset"] // 512)
        if avail < l:
            push(s + avail, l - avail, None, 0)
    else:
        push(s, l, None, 0)
if comp:
    print("ERROR compressed")
elif err:
    print("ERROR " + err)
else:
    snaps = len(info[0].get("snapshots", []))
    w = not (unalloc or zc or eof or snaps)
    print("HEAD %d %s" % (len(segs), "writable" if w else "read-only"))
    if unalloc and not snaps:
        print("WHY %d range%s of %s %s not allocated in the top image" %
              (unalloc, "s" if unalloc > 1 else "", img, "are" if unalloc > 1 else "is"))
    for s in segs:
        if s[2] is None:
            print("%d %d zero" % (s[0], s[1]))
        else:
            print("%d %d linear %s %d" % (s[0], s[1], s[2], s[3]))
# sync top: present at depth 0, merged
top = []
for e in m:
    if e["present"] and e["depth"] == 0:
        if top and top[-1][0] + top[-1][1] == e["start"]:
            top[-1][1] += e["length"]
        else:
            top.append([e["start"], e["length"]])
with open(sys.argv[2], "w") as f:
    for t in top:
        f.write("%d %d\n" % (t[0], t[1]))
EOF

# Our table with real paths, in the same form.
normalize() {
	python3 -c '
import os, re, sys
img = sys.argv[1]
lines = sys.stdin.read().splitlines()
h = re.match(r"# .*: (\d+) segments?, (writable|read-only)(: (.*))?$", lines[0])
print("HEAD %s %s" % (h.group(1), h.group(2)))
if h.group(4) and "not allocated in the top image" in h.group(4):
    print("WHY " + h.group(4).split(" not allocated")[0] + " not allocated in the top image")
for l in lines[1:]:
    f = l.split()
    if f[2] == "linear":
        f[3] = os.path.realpath(f[3])
    print(" ".join(f))
' "$1"
}

for img in "${IMAGES[@]}"; do
	exp=$(python3 "$TMP/expect.py" "$img" "$TMP/top.exp" 2>&1) || { not_ok "$img: expectation ($exp)"; continue; }
	# --allow-data-file: the table as qemu-img sees it (without, an
	# external data file makes it read-only: checked below)
	out=$("$BLOCKJOB" qcow2 table --allow-data-file "$img" 2>"$TMP/err")
	rc=$?
	if grep -q 'ERROR: AddressSanitizer\|runtime error' "$TMP/err"; then
		not_ok "$img: sanitizer report"; sed 's/^/#   /' "$TMP/err" | head -n 20
		continue
	fi
	case $exp in
	"ERROR compressed")
		if [ $rc = 1 ] && [ "$(wc -l <"$TMP/err")" = 1 ] && grep -q "compressed" "$TMP/err"; then
			ok "$img: refused: $(cat "$TMP/err")"
		else
			not_ok "$img: compressed image not refused (exit $rc: $(cat "$TMP/err"))"
		fi
		continue ;;
	ERROR*)
		if [ $rc = 1 ] && [ "$(wc -l <"$TMP/err")" = 1 ] && grep -q "${exp#ERROR }" "$TMP/err"; then
			ok "$img: refused: $(cat "$TMP/err")"
		else
			not_ok "$img: expected a refusal (${exp#ERROR }), got exit $rc: $(cat "$TMP/err")"
		fi
		continue ;;
	esac
	got=$(printf '%s\n' "$out" | normalize "$img")
	if [ $rc = 0 ] && [ "$got" = "$exp" ]; then
		ok "$img: $(printf '%s\n' "$exp" | head -n1 | cut -d' ' -f2-) segments, table matches qemu-img map"
	else
		not_ok "$img: table differs from qemu-img map (exit $rc)"
		diff <(printf '%s\n' "$exp") <(printf '%s\n' "$got") | head -n 20 | sed 's/^/#   /'
	fi
	"$BLOCKJOB" qcow2 top "$img" >"$TMP/top.got" 2>"$TMP/err"
	if cmp -s "$TMP/top.exp" "$TMP/top.got"; then
		ok "$img: top ranges match qemu-img map (present at depth 0): $(wc -l <"$TMP/top.got") ranges"
	else
		not_ok "$img: top ranges differ"
		diff "$TMP/top.exp" "$TMP/top.got" | head -n 10 | sed 's/^/#   /'
	fi
done

# merging: sequential writes into a fresh image land in contiguous clusters
out=$("$BLOCKJOB" qcow2 table prealloc-metadata.qcow2)
n=$(printf '%s\n' "$out" | grep -vc '^#')
[ "$n" = 1 ] && ok "preallocated image: one linear segment" || not_ok "preallocated image: $n segments"
n=$(printf '%s\n' "$("$BLOCKJOB" qcow2 table frag.qcow2)" | grep -c ' linear ')
[ "$n" = 128 ] && ok "fragmented image: 128 linear segments" || not_ok "fragmented image: $n linear segments (want 128)"
# --read-only forces the decision
"$BLOCKJOB" qcow2 table --read-only prealloc-full.qcow2 | sed -n 1p | grep ', read-only$' >/dev/null &&
	ok "--read-only: read-only" || not_ok "--read-only not honoured"
# the read-only reasons, one line each
"$BLOCKJOB" qcow2 table snap.qcow2 | sed -n 1p | grep 'has 1 internal snapshot' >/dev/null &&
	ok "snapshot: read-only because of the snapshot" || not_ok "snapshot reason"
"$BLOCKJOB" qcow2 table prealloc-zero.qcow2 | sed -n 1p | grep 'are zero clusters (writes would need qcow2 allocation)' >/dev/null &&
	ok "zero clusters: read-only, says so" || not_ok "zero cluster reason: $("$BLOCKJOB" qcow2 table prealloc-zero.qcow2 | head -n1)"
# an external data file: read-only unless --allow-data-file (the image names the file written)
"$BLOCKJOB" qcow2 table ext.qcow2 | sed -n 1p | grep "read-only: ext.qcow2 names an external data file, ext.raw (writes would go there; pass --allow-data-file if you trust the image)$" >/dev/null &&
	ok "external data file: read-only without --allow-data-file, says so" ||
	not_ok "external data file reason: $("$BLOCKJOB" qcow2 table ext.qcow2 | head -n1)"
# usage errors
"$BLOCKJOB" qcow2 attach onlyname >/dev/null 2>&1; [ $? = 2 ] && ok "attach without IMAGE: usage error" || not_ok "attach without IMAGE"
"$BLOCKJOB" qcow2 detach --output=json x >/dev/null 2>&1; [ $? = 2 ] && ok "detach --output: usage error" || not_ok "detach --output"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
