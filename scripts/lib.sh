# shellcheck shell=bash
# Common helpers for dm-blockjob scripts. Source it; do not run it.

BJ_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BLOCKJOB_CACHE=${BLOCKJOB_CACHE:-/var/cache/dm-blockjob}
export BLOCKJOB_CACHE
# Prefixed to the paths where installed kernels are looked up (tests only).
BJ_KERNEL_ROOT=${BJ_KERNEL_ROOT:-}

bj_die() { echo "$(basename "$0"): $*" >&2; exit 1; }
bj_log() { echo "[$(basename "$0")] $*" >&2; }

# Newest installed Debian kernel version with both an image and headers.
bj_stock_kver() {
	local v best=""
	for v in $(ls "$BJ_KERNEL_ROOT/boot" 2>/dev/null | sed -n 's/^vmlinuz-//p' | sort -V); do
		[ -d "$BJ_KERNEL_ROOT/usr/src/linux-headers-$v" ] && best=$v
	done
	[ -n "$best" ] || return 1
	echo "$best"
}

# Hash of a list of files and strings, for cache keys.
bj_hash() {
	local f
	for f in "$@"; do
		# Contents only: the same files in another checkout share the key.
		if [ -f "$f" ]; then sha256sum <"$f"; else echo "$f"; fi
	done | sha256sum | cut -c1-16
}
