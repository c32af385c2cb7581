# shellcheck shell=bash
# Common helpers for dm-blockjob scripts. Source it; do not run it.

BJ_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BLOCKJOB_CACHE=${BLOCKJOB_CACHE:-/var/cache/dm-blockjob}
export BLOCKJOB_CACHE
# Prefixed to the paths where installed kernels are looked up (tests only).
BJ_KERNEL_ROOT=${BJ_KERNEL_ROOT:-}

bj_die() { echo "$(basename "$0"): $*" >&2; exit 1; }
bj_log() { echo "[$(basename "$0")] $*" >&2; }

# bj_header FILE TAG: the value of the first "# TAG: value" line among the
# first 20 of FILE (a test's header: vm-run, vm-run-by, vm-kernel, check).
bj_header() {
	sed -n "1,20s/^#[[:space:]]*$2:[[:space:]]*//p" "$1" | sed -n 1p
}

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

# bj_prune_builds DIR KEEP [SPARE]: delete all but the KEEP newest published
# entries of DIR (subdirectories holding a "key" file, newest by that file's
# time) and every "src-*" subdirectory but SPARE. Unpublished entries are
# left alone: their builder holds DIR/.lock and cleans them up itself.
bj_prune_builds() {
	local dir=$1 keep=$2 spare=${3:-} d n=0
	for d in $(ls -dt "$dir"/*/key 2>/dev/null); do
		d=${d%/key}
		n=$((n + 1))
		[ $n -le "$keep" ] && continue
		bj_log "removing old build $d"
		rm -rf "$d"
	done
	for d in "$dir"/src-*; do
		[ -d "$d" ] && [ "$d" != "$spare" ] || continue
		bj_log "removing old source tree $d"
		rm -rf "$d"
	done
}
