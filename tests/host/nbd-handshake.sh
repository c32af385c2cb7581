#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libblockjob's NBD handshake (lib/bj-nbd.c, bj-nbd-proto.c) against a real
# server, qemu-nbd, on 127.0.0.1, without a VM: bj_nbd_handshake() gets the
# size of a writable export by its name (NBD_OPT_GO), a clear line for a
# name the server does not have (NBD_REP_ERR_UNKNOWN and qemu-nbd's message)
# and for a read-only export (qemu-nbd -r); bj_nbd_connect() to a port
# nothing listens on fails at its TCP connect ("refused"), before netlink.
# The kernel part of bj_nbd_connect() (NBD_CMD_CONNECT on netlink) needs
# the nbd module: the VM test 77-nbd-migration covers it. The probe
# (tests/host/nbd-handshake.c) is built here with ASan/UBSan.
# Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin nbd-handshake
U=$TOP/userspace

# the servers started here go at exit, with the scratch directory
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
	local f
	for f in "$T"/*.pid; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

for t in qemu-nbd qemu-img python3 pkg-config; do
	command -v $t >/dev/null || { not_ok "$t missing (scripts/setup-deps)"; tap_end; }
done

P=$T/nbd-handshake
# shellcheck disable=SC2046
cc -O1 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
	-I"$U/include/blockjob" -I"$U/lib" \
	-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-o "$P" "$TOP/tests/host/nbd-handshake.c" "$U/lib/bj-nbd.c" "$U/lib/bj-nbd-proto.c" \
	"$U/lib/bj-err.c" $(pkg-config --cflags --libs libnl-3.0 libnl-genl-3.0) >"$T/out" 2>&1
expect_out "build the probe with lib/bj-nbd.c, bj-nbd-proto.c (ASan/UBSan)" [ -x "$P" ]
[ -x "$P" ] || tap_end

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve NAME IMAGE [qemu-nbd option...]: qemu-nbd on a free port of 127.0.0.1
# (a few tries: another test may take the port first); prints the port
serve() {
	local name=$1 img=$2 port try
	shift 2
	for try in 1 2 3 4 5; do
		port=$(free_port) || return 1
		if qemu-nbd -f raw -x "$name" -b 127.0.0.1 -p "$port" --persistent --shared=4 \
			--fork --pid-file "$T/$name.pid" "$@" "$img" 2>>"$T/qemu-nbd.log"; then
			echo "$port"
			return 0
		fi
		echo "try $try: port $port" >>"$T/qemu-nbd.log"
	done
	return 1
}

SIZE=$((3 * 1048576 + 512))
truncate -s $SIZE "$T/disk.img"
cp "$T/disk.img" "$T/ro.img"
rw_port=$(serve disk0 "$T/disk.img")
expect "qemu-nbd serves export disk0 (writable) on 127.0.0.1:$rw_port" [ -n "$rw_port" ]
ro_port=$(serve disk1 "$T/ro.img" -r)
expect "qemu-nbd -r serves export disk1 (read-only) on 127.0.0.1:$ro_port" [ -n "$ro_port" ]
if [ -z "$rw_port" ] || [ -z "$ro_port" ]; then
	sed 's/^/#   /' "$T/qemu-nbd.log"
	tap_end
fi

# the probe's exit status and output
rc=0 out=
probe() {
	out=$("$P" "$@" 2>&1)
	rc=$?
}
# failed_with PATTERN: the probe failed (exit 1) with one line matching PATTERN
# shellcheck disable=SC2317 # (called by expect)
failed_with() {
	[ "$rc" = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q -- "$1" <<<"$out"
}
# a_writable_flags FLAGS: NBD_FLAG_HAS_FLAGS set, NBD_FLAG_READ_ONLY not
# shellcheck disable=SC2317 # (called by expect)
a_writable_flags() {
	[ -n "$1" ] && [ $(($1 & 1)) = 1 ] && [ $(($1 & 2)) = 0 ]
}

probe handshake 127.0.0.1 "$rw_port" disk0
flags=$(sed -n 's/.* flags=\(0x[0-9a-f]*\)$/\1/p' <<<"$out")
expect_eq "$rc ${out%% *}" "0 size=$SIZE" "handshake: export disk0 has $SIZE bytes"
expect "...its transmission flags $flags: HAS_FLAGS, not READ_ONLY" a_writable_flags "$flags"

probe handshake 127.0.0.1 "$rw_port" nope
expect "handshake: a name the server does not have: $out" \
	failed_with "^error -2: the server has no export 'nope' (NBD_REP_ERR_UNKNOWN: .*nope"

probe handshake 127.0.0.1 "$ro_port" disk1
expect "handshake: a read-only export (qemu-nbd -r): $out" \
	failed_with "^error -30: the export 'disk1' is read-only"

# the server is still there for the next client after a refusal
probe handshake 127.0.0.1 "$rw_port" disk0
expect_eq "$rc $out" "0 size=$SIZE flags=$flags" "handshake: again, after a refused client"

closed=$(free_port)
probe connect hosttest "nbd://127.0.0.1:$closed/disk0"
expect "connect to a closed port fails at the TCP connect, before netlink: $out" \
	failed_with "^error -111: cannot connect to 127.0.0.1:$closed: Connection refused (is the NBD server running?"
probe connect hosttest "nbd://127.0.0.1:0/disk0"
expect "connect: a bad URL: $out" failed_with "^error -22: bad NBD URL .*port 0 is out of range"

tap_end
