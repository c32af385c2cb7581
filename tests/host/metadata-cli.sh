#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# "blockjob metadata dump|check" on metadata images crafted here (python3,
# from the format in include/uapi/linux/dm-blockjob-md.h, independently of
# the C code): a clean image with one bitmap (dump's ranges in bytes, the
# last one clamped to the volume, --json), a successor, a torn newer bitmap
# copy (the previous version, counted), a torn newer superblock (the
# previous commit), a bad entry and other problems (check exits 1 and
# names them, dump shows them), both superblocks bad, foreign data, an
# all-zero header, the volume record and PIVOTED (dump, a malformed
# record), activate's refusals that need no kernel (empty record, another
# volume's metadata, home not present, PIVOTED without a mirror, --all
# with a volumes file of malformed lines): exit codes, one-line errors,
# and the images never written (sha256 before and after). Usage errors
# exit 2. No VM: create (which needs block devices) is tested in the VM.
#
# BLOCKJOB=path  binary to test (default: an ASan/UBSan build made in the temp dir)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/host/tap.bash"
tap_begin metadata-cli
TMP=$T
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
command -v python3 >/dev/null || { not_ok "python3 missing (scripts/setup-deps)"; tap_end; }

. "$ROOT/tests/host/sanitized-cli.bash"
if [ -z "${BLOCKJOB:-}" ]; then
	BLOCKJOB=$TMP/blockjob
	build_blockjob "$BLOCKJOB" metadata || { not_ok "build sanitized blockjob"; tap_end; }
fi
cd "$TMP" || exit 1

# mkimg FILE CASE: write a crafted image (see the cases below)
cat >mkimg.py <<'PY'
import struct, sys

def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff

assert crc32c(b"123456789") == 0xe3069283
BS = 4096
UUID = bytes(range(1, 17))
DATA = (1 << 21) - 8          # 1 GiB - 4 KiB: the last 64K granule is 60 KiB
GRAN = 128                    # sectors: 64 KiB
NBITS = -(-DATA // GRAN)      # 16384
NBLOCKS = -(-NBITS // 32256)  # 1
MD_BLOCKS = 64

def sealed(b):
    b = bytearray(b)
    struct.pack_into("<I", b, 0, crc32c(bytes(b[4:])))
    return bytes(b)

def entry(name, first, flags=3, epoch=1, succ_epoch=0, area=0, granule=GRAN, nbits=NBITS,
          nblocks=NBLOCKS):
    return struct.pack("<64sQQQIIQQI12x", name.encode(), granule, nbits, first, nblocks, flags,
                       epoch, succ_epoch, area)

def sb(gen, entries, next_epoch=4, name="vol", nr=None, magic=0x444d4a42, flags=0, record=b""):
    b = bytearray(BS)
    struct.pack_into("<IIIIQ16sQQQII128s512s", b, 0, 0, magic, 1, BS, gen, UUID, DATA, MD_BLOCKS,
                     next_epoch, flags, len(entries) if nr is None else nr, name.encode(), record)
    for i, e in enumerate(entries):
        b[1024 + 128 * i:1024 + 128 * (i + 1)] = e
    return sealed(b)

def bm(epoch, gen, index, bits, uuid=UUID):
    b = bytearray(BS)
    struct.pack_into("<II16sQQII", b, 0, 0, 0x4d424a42, uuid, epoch, gen, index, 0)
    for i in bits:
        w = 64 + 8 * (i // 64)
        v = struct.unpack_from("<Q", b, w)[0] | (1 << (i % 64))
        struct.pack_into("<Q", b, w, v)
    return sealed(b)

def block_of(first, area, copy, l):
    return first + (2 * area + copy) * NBLOCKS + l

img = bytearray(MD_BLOCKS * BS)
def put(block, data):
    img[block * BS:(block + 1) * BS] = data

case = sys.argv[2]
good = [entry("bm", 2)]
if case not in ("zero", "garbage"):
    put(0, sb(1, []))
    put(1, sb(2, good))
    # bm: copy 0 generation 1 (bits 0, 1), copy 1 generation 2 (bits 0, 1, 100, last)
    put(block_of(2, 0, 0, 0), bm(1, 1, 0, [0, 1]))
    put(block_of(2, 0, 1, 0), bm(1, 2, 0, [0, 1, 100, NBITS - 1]))
if case == "torn-bm":
    b = bytearray(img[block_of(2, 0, 1, 0) * BS:][:BS]); b[2048:] = b"\x5a" * 2048
    put(block_of(2, 0, 1, 0), bytes(b))
elif case == "torn-sb":
    b = bytearray(img[BS:2 * BS]); b[3000] ^= 4
    put(1, bytes(b))
elif case == "both-bad":
    for i in (0, 1):
        b = bytearray(img[i * BS:(i + 1) * BS]); b[100] ^= 1
        put(i, bytes(b))
elif case == "bad-entry":
    put(1, sb(2, [entry("bm", 2, granule=96)]))
elif case == "problems":
    put(1, sb(2, [entry("bm", 2), entry("bm2", 4, epoch=1)], nr=3))
elif case == "foreign-bm":
    put(block_of(2, 0, 1, 0), bm(1, 9, 0, [5], uuid=b"\x09" * 16))
elif case == "successor":
    put(1, sb(2, [entry("bm", 2, flags=7, epoch=3, succ_epoch=1, area=1)]))
    put(block_of(2, 1, 0, 0), bm(3, 1, 0, [7]))
elif case == "record":
    put(1, sb(2, good, record=b"home=virtio-bj-absent%20disk,home_off=0,job=mirror,dest=wwn-naa.5000,dest_off=8"))
elif case == "pivoted":
    put(1, sb(2, good, flags=1, record=b"home=virtio-bj-absent,home_off=0,job=mirror,dest=wwn-naa.5000absent,dest_off=8"))
elif case == "pivoted-backup":
    put(1, sb(2, good, flags=1, record=b"home=virtio-bj-absent,home_off=0,job=backup"))
elif case == "bad-record":
    put(1, sb(2, good, record=b"home=a b"))
elif case == "garbage":
    img[0:8] = b"XFSB\x00\x00\x10\x00"
open(sys.argv[1], "wb").write(img)
PY

mkimg() { python3 mkimg.py "$1" "$2"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# run NAME WANT_RC CMD...: output in out/err; checks the exit code, no sanitizer report
run() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >out 2>err
	rc=$?
	if [ $rc -eq "$want" ] && ! grep -qE 'Sanitizer|runtime error' err; then
		ok "$name (exit $rc)"
	else
		not_ok "$name (exit $rc, want $want): $(head -5 err)"
	fi
}

for c in good torn-bm torn-sb both-bad bad-entry problems foreign-bm successor garbage zero record pivoted pivoted-backup bad-record; do
	mkimg "$c.img" "$c"
done
declare -A SUM
for f in *.img; do SUM[$f]=$(sha "$f"); done

# a clean image
run "good: check" 0 "$BLOCKJOB" metadata check good.img
expect "good: check says consistent" grep -q "consistent: volume vol, generation 2, 1 bitmap" out
run "good: dump" 0 "$BLOCKJOB" metadata dump good.img
expect_eq "$(grep -E '^  [0-9]+ [0-9]+$' out | tr '\n' ';')" \
	"  0 131072;  6553600 65536;  1073676288 61440;" "good: dump's ranges in bytes, the last clamped to the volume"
expect "good: dump names the volume, copy 1, generation 2" grep -q "superblock: copy 1, generation 2 (copy 0 valid, older)" out
run "good: dump --json" 0 "$BLOCKJOB" metadata dump --json good.img
expect "good: the json document" python3 -c '
import json, sys
d = json.load(open("out"))
b = d["bitmaps"][0]
assert d["uuid"] == "01020304-0506-0708-090a-0b0c0d0e0f10", d["uuid"]
assert d["generation"] == 2 and d["volume_name"] == "vol" and d["superblock_copy"] == 1
assert d["data_bytes"] == ((1 << 21) - 8) * 512 and d["metadata_bytes"] == 64 * 4096
assert b["name"] == "bm" and b["granularity"] == 65536 and b["enabled"] is True
assert b["dirty"] == [[0, 131072], [6553600, 65536], [1073676288, 61440]], b["dirty"]
assert b["count"] == 131072 + 65536 + 61440 and b["successor"] is None and b["torn_copies"] == 0
assert d["problems"] == [] and d["record"] == "" and d["pivoted"] is False
'
"$BLOCKJOB" metadata dump good.img >out 2>err
expect "good: dump says no record, not pivoted" eval 'grep -qx "record: (none)" out && grep -qx "pivoted: no" out'

# the volume record and PIVOTED
run "record: check" 0 "$BLOCKJOB" metadata check record.img
run "record: dump" 0 "$BLOCKJOB" metadata dump record.img
expect "record: dump shows the raw text and pivoted no" eval 'grep -qx "record: home=virtio-bj-absent%20disk,home_off=0,job=mirror,dest=wwn-naa.5000,dest_off=8" out && grep -qx "pivoted: no" out'
run "pivoted: dump --json" 0 "$BLOCKJOB" metadata dump --json pivoted.img
expect "pivoted: record and pivoted in the json document" python3 -c '
import json
d = json.load(open("out"))
assert d["record"].startswith("home=virtio-bj-absent,") and d["pivoted"] is True, d'
run "bad record: check fails" 1 "$BLOCKJOB" metadata check bad-record.img
expect "bad record: the problem names the byte" grep -q "volume record: byte 6 is 0x20" out

# recovered, not problems
run "torn newer bitmap copy: check" 0 "$BLOCKJOB" metadata check torn-bm.img
expect "torn newer bitmap copy: check mentions it" grep -q "1 torn bitmap copy (their blocks taken as all dirty)" out
run "torn newer bitmap copy: dump --json" 0 "$BLOCKJOB" metadata dump --json torn-bm.img
expect "torn newer bitmap copy: its block (here the whole volume) all dirty, 1 torn copy" python3 -c '
import json
d = json.load(open("out"))
b = d["bitmaps"][0]
assert b["dirty"] == [[0, d["data_bytes"]]] and b["torn_copies"] == 1, b'
run "torn newer superblock: check" 0 "$BLOCKJOB" metadata check torn-sb.img
expect "torn newer superblock: the previous commit (generation 1, no bitmap)" \
	grep -q "consistent: volume vol, generation 1, 0 bitmaps, superblock copy 1 not valid" out
run "foreign bitmap block: check" 0 "$BLOCKJOB" metadata check foreign-bm.img
run "foreign bitmap block: dump --json" 0 "$BLOCKJOB" metadata dump --json foreign-bm.img
expect "foreign bitmap block: ignored, not torn" python3 -c '
import json
b = json.load(open("out"))["bitmaps"][0]
assert b["dirty"] == [[0, 131072]] and b["torn_copies"] == 0, b'
run "successor: dump --json" 0 "$BLOCKJOB" metadata dump --json successor.img
expect "successor: the bitmap from area 1, the successor from area 0" python3 -c '
import json
b = json.load(open("out"))["bitmaps"][0]
assert b["dirty"] == [[458752, 65536]], b["dirty"]
assert b["successor"]["dirty"][0] == [0, 131072], b["successor"]'

# problems: check fails and names them; dump shows them
run "bad entry: check fails" 1 "$BLOCKJOB" metadata check bad-entry.img
expect "bad entry: the problem on stdout" grep -q "bitmap bm: granularity of 96 sectors" out
expect "bad entry: one summary line on stderr" \
	test "$(cat err)" = "blockjob: bad-entry.img: 1 problem in the metadata of volume vol"
run "bad entry: dump still works" 0 "$BLOCKJOB" metadata dump bad-entry.img
expect "bad entry: dump lists the problem" grep -q "^  bitmap bm: granularity of 96 sectors" out
run "problems: check fails" 1 "$BLOCKJOB" metadata check problems.img
expect "problems: nr_bitmaps, overlap and shared epoch, one line each" \
	test "$(grep -cE 'nr_bitmaps 3|overlap|both use epoch 1' out)" = 3

# refused
run "both superblocks bad: check" 1 "$BLOCKJOB" metadata check both-bad.img
expect_eq "$(cat err)" "blockjob: both-bad.img: superblock checksum mismatch in both copies" "both superblocks bad: one line"
run "both superblocks bad: dump" 1 "$BLOCKJOB" metadata dump both-bad.img
run "garbage: check" 1 "$BLOCKJOB" metadata check garbage.img
expect_eq "$(cat err)" "blockjob: garbage.img: not dm-blockjob metadata (unknown magic 0x00100000)" "garbage (an XFS superblock): one line with what sits at our magic's place"
run "all zeroes: check" 1 "$BLOCKJOB" metadata check zero.img
expect "all zeroes: not formatted" grep -q "zero.img: not formatted" err
run "missing file" 1 "$BLOCKJOB" metadata check nonexistent.img
truncate -s 4096 small.img
run "one-block file: check" 1 "$BLOCKJOB" metadata check small.img
expect "one-block file: too small" grep -q "too small" err

# usage errors
run "no operation: usage error" 2 "$BLOCKJOB" metadata
run "unknown operation: usage error" 2 "$BLOCKJOB" metadata fix good.img
run "--json with check: usage error" 2 "$BLOCKJOB" metadata check --json good.img
run "extra argument: usage error" 2 "$BLOCKJOB" metadata dump good.img more
run "unknown option: usage error" 2 "$BLOCKJOB" metadata dump --bogus good.img

# activate: the refusals that need no kernel (image files as MDEV; nothing is created)
ACT=$TMP/blockjob-activate
if build_blockjob "$ACT" activate volume-lock.c; then
	export BLOCKJOB_VOLUMES=$TMP/etc/volumes
	run "activate: empty record refused" 1 "$ACT" activate vol --metadata good.img
	expect_eq "$(cat err)" "blockjob: good.img records no home device for vol: create it with 'blockjob create vol DEV --metadata good.img'" "activate: empty record: one line"
	run "activate: another volume's metadata refused" 1 "$ACT" activate other --metadata good.img
	expect_eq "$(cat err)" "blockjob: good.img holds the metadata of volume vol, not other" "activate: foreign MDEV: one line"
	run "activate: home not present" 1 "$ACT" activate vol --metadata record.img
	expect_eq "$(cat err)" "blockjob: vol lives on virtio-bj-absent disk (recorded on record.img), which is not present: attach it and run 'blockjob activate vol --metadata record.img' again" "activate: home not present: one line (the record's escapes decoded)"
	run "activate: pivoted: the home is the mirror's destination" 1 "$ACT" activate vol --metadata pivoted.img
	expect "activate: pivoted: names the destination" grep -q "vol lives on wwn-naa.5000absent (recorded on pivoted.img), which is not present" err
	run "activate: pivoted without a mirror: refused" 1 "$ACT" activate vol --metadata pivoted-backup.img
	expect "activate: pivoted without a mirror: a damaged record" grep -q "pivoted-backup.img: damaged volume record" err
	run "activate: inconsistent metadata refused" 1 "$ACT" activate vol --metadata bad-record.img
	expect "activate: inconsistent metadata: says so" grep -q "is inconsistent (volume record: byte 6" err
	run "activate: unformatted MDEV" 1 "$ACT" activate vol --metadata zero.img
	expect "activate: no volumes file written by refusals" test ! -e "$TMP/etc/volumes"
	run "activate --all: no volumes file, nothing to do" 0 "$ACT" activate --all
	expect_eq "$(cat out err)" "" "activate --all: no volumes file: silent"
	mkdir -p "$TMP/etc"
	printf '# test\nvol %s\nbroken\nvol2 nvme0\nother %s\nvol3 virtio-bj-nothere-at-all\n' \
		"$TMP/record.img" "$TMP/good.img" >"$TMP/etc/volumes"
	run "activate --all: every line tried, exit 1" 1 "$ACT" activate --all
	expect_eq "$(wc -l <err)" 5 "activate --all: one line per failed volume"
	expect "activate --all: vol's home not present" grep -q "^blockjob: vol lives on virtio-bj-absent disk" err
	expect "activate --all: a line of one field, with its number" grep -q "volumes:3: one field (want NAME METADATA); line skipped" err
	expect "activate --all: not an identity, with its number" grep -q "volumes:4: 'nvme0' is neither a device identity" err
	expect "activate --all: another volume's metadata" grep -q "good.img holds the metadata of volume vol, not other" err
	expect "activate --all: metadata device not present" grep -q "^blockjob: vol3: its metadata device: no device with identity virtio-bj-nothere-at-all is present" err
	run "activate: usage: no --metadata" 2 "$ACT" activate vol
	run "activate: usage: --all with a NAME" 2 "$ACT" activate --all vol
	run "activate: usage: nothing" 2 "$ACT" activate
	run "activate: usage: bad NAME" 2 "$ACT" activate /dev/vdb --metadata good.img
	unset BLOCKJOB_VOLUMES
else
	not_ok "build sanitized blockjob with activate"
fi

# nothing written
changed=
for f in "${!SUM[@]}"; do [ "$(sha "$f")" = "${SUM[$f]}" ] || changed+=" $f"; done
expect_eq "$changed" "" "no image was written by dump or check"
tap_end
