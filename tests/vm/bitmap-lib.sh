# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Helpers of the dirty-bitmap VM tests (43, 70, 71, 73): writes the test
# remembers, the dirty ranges they must give, and coverage of ranges.
# Source after lib.sh; w and expect need BYTES (the volume's size) and
# write to /dev/mapper/vol.
#
#   w OFF LEN                    write LEN sectors at OFF of vol, remembered in W
#   forget                       forget the writes remembered
#   expect G                     the "start length" byte ranges the remembered
#                                writes give at granularity G bytes: merged,
#                                granule-aligned, the last clamped to the volume
#   dump BM                      blockjob bitmap dump vol BM
#   uncovered G RANGES           the granules (of G bytes) of the ranges on stdin
#                                that are not in the ranges of file RANGES

declare -A W	# writes since the reference point: "offset len" in sectors
WN=0

w() {
	dd if=/dev/urandom of=/dev/mapper/vol bs=512 seek="$1" count="$2" oflag=direct status=none
	W[$WN]="$1 $2"
	WN=$((WN + 1))
}

forget() { W=(); WN=0; }

expect() {
	local g=$1 k
	for k in "${!W[@]}"; do echo "${W[$k]}"; done |
		awk -v g="$g" '{ s = $1 * 512; e = ($1 + $2) * 512
			for (b = int(s / g); b * g < e; b++) print b }' | sort -n -u |
		awk -v g="$g" -v total="$BYTES" '
		function emit(a, z,  e) { e = (z + 1) * g; if (e > total) e = total; print a * g, e - a * g }
		{ b = $1 + 0
		  if (started && b == prev + 1) { prev = b; next }
		  if (started) emit(start, prev)
		  start = b; prev = b; started = 1 }
		END { if (started) emit(start, prev) }'
}

dump() { blockjob bitmap dump vol "$1"; }

# FILENAME, not NR == FNR: an empty RANGES file must not take stdin's place.
uncovered() {
	awk -v g="$1" 'FILENAME == ARGV[1] { for (b = $1 / g; b * g < $1 + $2; b++) have[b]; next }
		{ for (b = int($1 / g); b * g < $1 + $2; b++) if (!(b in have)) print b }' "$2" -
}
