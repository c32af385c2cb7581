#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Untrusted images (Documentation/qcow2.rst, "Untrusted images"), without a
# VM: images whose backing file or external data file names a device
# (/dev/null, /dev/zero), a file under /proc, a symlink to a device, a
# directory, the image itself, or a regular file outside the image's
# directory. "blockjob qcow2 map" and "qcow2 table" open the chain exactly
# as attach does (the same library calls), so each refusal is checked
# through them: one line naming the image, the file named and why, exit 1;
# or read-only with the reason (the table's head line, what attach says).
# A backing file without a backing format extension is not probed as raw
# without --backing-format. Every regular file named is unchanged
# (sha256 before and after).
#
# The images are made with qemu-img and their header rewritten by
# set-names.py below (backing file name, backing format extension, data
# file extension), so that qemu-img itself never opens the names.
#
# BLOCKJOB=path  binary to test (default: an ASan/UBSan build made in the temp dir)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/host/tap.bash"
tap_begin qcow2-untrusted
TMP=$T

for t in qemu-img python3; do
	command -v $t >/dev/null || { not_ok "$t missing (scripts/setup-deps)"; tap_end; }
done
. "$ROOT/tests/host/sanitized-cli.bash"
if [ -z "${BLOCKJOB:-}" ]; then
	BLOCKJOB=$TMP/blockjob
	build_blockjob "$BLOCKJOB" || { not_ok "build sanitized blockjob"; tap_end; }
fi

mkdir -p "$T/img" "$T/outside" "$T/adir"
cd "$T/img" || exit 1

# set-names.py IMAGE [backing=NAME] [backing_fmt=FMT|none] [data_file=NAME]:
# rewrite a v3 image's header extensions and backing file name in place.
cat >"$T/set-names.py" <<'EOF'
import struct, sys
img = sys.argv[1]
args = dict(a.split("=", 1) for a in sys.argv[2:])
f = open(img, "r+b")
h = bytearray(f.read(65536))
hlen = struct.unpack(">I", h[100:104])[0]
cs = 1 << struct.unpack(">I", h[20:24])[0]
exts, off = [], hlen
while True:
    t, l = struct.unpack(">II", h[off:off + 8])
    if t == 0:
        break
    exts.append([t, bytes(h[off + 8:off + 8 + l])])
    off += 8 + (l + 7) // 8 * 8
def setext(t, v):
    global exts
    exts = [e for e in exts if e[0] != t]
    if v is not None:
        exts.insert(0, [t, v.encode()])
if "backing_fmt" in args:
    setext(0xe2792aca, None if args["backing_fmt"] == "none" else args["backing_fmt"])
if "data_file" in args:
    setext(0x44415441, args["data_file"])
    inc = struct.unpack(">Q", h[72:80])[0] | 4
    h[72:80] = struct.pack(">Q", inc)
out = b""
for t, v in exts:
    out += struct.pack(">II", t, len(v)) + v + b"\0" * ((8 - len(v) % 8) % 8)
out += b"\0" * 8
name = args.get("backing")
boff = hlen + len(out) if name else 0
if name:
    out += name.encode()
    h[8:16] = struct.pack(">Q", boff)
    h[16:20] = struct.pack(">I", len(name))
assert hlen + len(out) <= cs, "header does not fit in the first cluster"
h[hlen:hlen + len(out)] = out
f.seek(0)
f.write(h[:cs])
EOF
names() { python3 "$T/set-names.py" "$@" || not_ok "setup: set-names $*"; }
sums() { (cd "$T" && sha256sum outside/base.raw outside/victim.raw img/local.raw); }

# regular files: a raw base outside the image's directory, a data file outside it
head -c 1M /dev/urandom >"$T/outside/base.raw"
head -c 1M /dev/urandom >"$T/outside/victim.raw"
head -c 1M /dev/urandom >local.raw
ln -s /dev/zero "$T/zero-link"
ln -s "$T/outside/victim.raw" "$T/victim-link"
before=$(sums)

# bj_refuse WHAT FRAGMENT IMAGE [OPTIONS...]: map and table exit 1 with one
# line "blockjob: IMAGE: ...FRAGMENT..."
bj_refuse() {
	local what=$1 frag=$2 img=$3 sub rc
	shift 3
	for sub in map table; do
		"$BLOCKJOB" qcow2 $sub "$@" "$img" >"$T/out" 2>"$T/err"
		rc=$?
		if [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "^blockjob: $img: " "$T/err" &&
		   grep -qF -- "$frag" "$T/err" && ! grep -qE 'Sanitizer|runtime error' "$T/err"; then
			ok "$what ($sub): $(cat "$T/err")"
		else
			not_ok "$what ($sub): exit $rc, want 1 and '$frag': $(head -c 600 "$T/err")"
		fi
	done
}
# head_is WHAT IMAGE WANT [OPTIONS...]: the table's head line
head_is() {
	local what=$1 img=$2 want=$3 got
	shift 3
	got=$("$BLOCKJOB" qcow2 table "$@" "$img" 2>"$T/err" | head -n1)
	expect_eq "$got" "$want" "$what"
}

mkdf() {	# IMAGE DATA-FILE-NAME
	qemu-img create -q -f qcow2 -o data_file=df.tmp,data_file_raw=on,preallocation=metadata "$1" 1M ||
		not_ok "setup: create $1"
	rm -f df.tmp
	names "$1" data_file="$2"
}
mkb() {		# IMAGE BACKING-NAME [FMT|none]
	qemu-img create -q -f qcow2 "$1" 1M || not_ok "setup: create $1"
	names "$1" backing="$2" backing_fmt="${3:-raw}"
}
RULE="backing and data files must be regular files outside /proc, /sys and /dev"

# --- names refused as a data file and as a backing file: TAG|NAME|WHY ---
REFUSED=(
	"null|/dev/null|it is a character device: $RULE"
	"zero|/dev/zero|it is a character device: $RULE"
	"proc|/proc/self/mem|it resolves to /proc/"
	"environ|/proc/self/environ|it resolves to /proc/"
	"link|$T/zero-link|it resolves to /dev/zero, a character device: $RULE"
	"dir|$T/adir|it is a directory: $RULE"
)
for c in "${REFUSED[@]}"; do
	IFS='|' read -r tag target why <<<"$c"
	for kind in "data file" "backing file"; do
		if [ "$kind" = "data file" ]; then
			img=df-$tag.qcow2; mkdf "$img" "$target"
			bj_refuse "$kind $target" "external data file $target refused: $why" "$img"
		else
			img=b-$tag.qcow2; mkb "$img" "$target"
			bj_refuse "$kind $target" "backing file $target refused: $why" "$img"
		fi
		case $target in /proc/*)
			grep -q "under /proc: $RULE" "$T/err" && ok "$kind $target: says under /proc" ||
				not_ok "$kind $target: under /proc: $(cat "$T/err")" ;;
		esac
	done
done

# --- external data files ---
mkdf df-self.qcow2 df-self.qcow2
bj_refuse "data file is the image itself" "backing chain loop: external data file df-self.qcow2 is already in the chain at depth 0" df-self.qcow2
# a regular file outside the image's directory: read-only unless --allow-data-file
mkdf df-out.qcow2 "$T/outside/victim.raw"
head_is "data file outside the image's directory: read-only, says why" df-out.qcow2 \
	"# df-out.qcow2: 1 segment, read-only: df-out.qcow2 names an external data file, $T/outside/victim.raw (writes would go there; pass --allow-data-file if you trust the image)"
head_is "data file outside, --allow-data-file: writable" df-out.qcow2 "# df-out.qcow2: 1 segment, writable" --allow-data-file
mkdf df-outlink.qcow2 "$T/victim-link"
head_is "data file through a symlink to a regular file: read-only without --allow-data-file" df-outlink.qcow2 \
	"# df-outlink.qcow2: 1 segment, read-only: df-outlink.qcow2 names an external data file, $T/victim-link (writes would go there; pass --allow-data-file if you trust the image)"
"$BLOCKJOB" qcow2 map --output=json df-out.qcow2 >/dev/null 2>"$T/err" && ok "data file outside: map reads it" ||
	not_ok "data file outside: map: $(cat "$T/err")"

# --- backing files ---
mkb b-dirrel.qcow2 ../adir none
bj_refuse "backing directory, relative name, no format" "backing file ../adir refused: it resolves to $T/adir, a directory" b-dirrel.qcow2
# a regular file outside the image's directory: allowed (read-only use)
mkb b-out.qcow2 "$T/outside/base.raw"
"$BLOCKJOB" qcow2 map --output=json b-out.qcow2 >"$T/out" 2>"$T/err" && grep -q '"depth": 1' "$T/out" &&
	ok "backing outside the image's directory, regular, raw format recorded: mapped" ||
	not_ok "backing outside: $(cat "$T/err")"
# a backing loop through a data file: the backing file is the image's own data file
qemu-img create -q -f qcow2 -o data_file=loop.raw,data_file_raw=on,preallocation=metadata b-dfloop.qcow2 1M
names b-dfloop.qcow2 backing=loop.raw backing_fmt=raw
bj_refuse "backing file is the image's data file" "backing chain loop: backing file loop.raw is already in the chain as the external data file of depth 0" b-dfloop.qcow2

# --- backing files without a backing format extension ---
mkb nf-raw.qcow2 local.raw none
bj_refuse "backing raw without a format" "backing file local.raw has no backing format in the image and is not qcow2: not probed as raw; pass --backing-format raw if you trust it" nf-raw.qcow2
"$BLOCKJOB" qcow2 map --backing-format raw --output=json nf-raw.qcow2 >"$T/out" 2>"$T/err" &&
	grep -q '"depth": 1' "$T/out" && ok "backing raw without a format, --backing-format raw: mapped" ||
	not_ok "--backing-format raw: $(cat "$T/err")"
"$BLOCKJOB" qcow2 table --backing-format raw nf-raw.qcow2 >/dev/null 2>"$T/err" &&
	ok "table --backing-format raw" || not_ok "table --backing-format raw: $(cat "$T/err")"
bj_refuse "backing raw without a format, --backing-format qcow2" "backing file local.raw (depth 1): not a qcow2 image" nf-raw.qcow2 --backing-format qcow2
qemu-img create -q -f qcow2 base.qcow2 1M
mkb nf-q.qcow2 base.qcow2 none
"$BLOCKJOB" qcow2 map nf-q.qcow2 >/dev/null 2>"$T/err" && ok "qcow2 backing without a format: probed as qcow2" ||
	not_ok "qcow2 backing without a format: $(cat "$T/err")"
# the option is for IMAGE's own backing file: deeper ones must record their format
mkb nf-mid.qcow2 local.raw none
qemu-img create -q -f qcow2 -u -b nf-mid.qcow2 -F qcow2 nf-top.qcow2 1M
bj_refuse "deeper backing raw without a format" "backing file nf-mid.qcow2 (depth 1): backing file local.raw has no backing format in the image and is not qcow2: not probed as raw; record it with 'qemu-img rebase -u -F raw -b NAME IMAGE'" nf-top.qcow2 --backing-format raw
# the extension wins over the option
"$BLOCKJOB" qcow2 map --backing-format qcow2 b-out.qcow2 >/dev/null 2>"$T/err" &&
	ok "a recorded backing format wins over --backing-format" || not_ok "recorded format vs option: $(cat "$T/err")"
"$BLOCKJOB" qcow2 map --backing-format vmdk nf-raw.qcow2 >/dev/null 2>&1
expect_eq $? 2 "--backing-format vmdk: usage error"
"$BLOCKJOB" qcow2 detach --allow-data-file x >/dev/null 2>&1
expect_eq $? 2 "detach --allow-data-file: usage error"
"$BLOCKJOB" qcow2 --help | grep -- '--backing-format raw|qcow2' >/dev/null && "$BLOCKJOB" qcow2 --help | grep -- '--allow-data-file' >/dev/null &&
	ok "usage lists --backing-format and --allow-data-file" || not_ok "usage text"

expect_eq "$(sums)" "$before" "every regular file named is unchanged (sha256)"
tap_end
