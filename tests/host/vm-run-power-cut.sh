#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of scripts/vm-run's power cuts (issue 17; Documentation/testing.rst,
# "Power cuts"), on the host: tests/vm/39 passes with --boots 2 on kept disk
# images and fails when its boot 2 gets fresh disks or a block lost its
# write; a power cut the guest asks for kills QEMU after the delay it names
# while the guest goes on, and the run exits 100 with nothing else said; a
# cut asked for but overtaken by the script's end, a QEMU killed unasked, and
# a --boots run whose boot 1 does not ask for a cut all fail, and one stopped
# by SIGTERM leaves no QEMU and no disks; bad values and disks in use are
# refused before booting. 9 boots, two at a time (about a minute on an idle
# 2-core host). Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VMRUN=$TOP/scripts/vm-run
T39=$TOP/tests/vm/39-power-cut-harness.sh
export BJ_NO_BUILD=1
. "$TOP/tests/host/tap.bash"
tap_begin vm-run-power-cut
export BJ_TMPDIR=$T/tmp
show() { sed 's/^/#   /' "$1" | tail -n 25; }
[ -x "$TOP/tests/vm/helpers/bin/acked-writes" ] || { not_ok "tests/vm/helpers/bin/acked-writes not built (make -C userspace helpers)"; tap_end; }

# --- refused before booting (no VM) ---
refused() {	# WHAT MESSAGE VM-RUN-ARG...
	local what=$1 msg=$2 rc
	shift 2
	"$VMRUN" "$@" "$T39" >"$T/r.out" 2>&1
	rc=$?
	expect "$what is refused (exit $rc)" test $rc -eq 125
	expect "... saying why" grep -q -- "$msg" "$T/r.out"
}
refused "--boots 0" "--boots wants" --boots 0
refused "--boot 3/2" "--boot wants K/N" --boot 3/2
refused "--boots with --boot" "do not go together" --boots 2 --boot 1/2
refused "a --disk-dir with a comma" "no commas" --disk-dir "$T/a,b"
mkdir -p "$T/busy"
exec 8<"$T/busy"
flock 8
refused "a --disk-dir in use" "in use by another vm-run" --disks 1 --disk-dir "$T/busy"
exec 8<&-

# --- tests/vm/39 with its header's options (--boots 2), disks kept in d39 ---
# shellcheck disable=SC2207
opts39=($(sed -n '1,20s/^#[[:space:]]*vm-run:[[:space:]]*//p' "$T39" | head -n1))
expect "tests/vm/39 asks for --boots 2 and --disk-cache none" \
	grep -q -- '--boots 2.*--disk-cache none' <<<"${opts39[*]}"
# the same options for its boot 2 alone: --boot 2/2 for --boots 2
last39=()
for ((i = 0; i < ${#opts39[@]}; i++)); do
	if [ "${opts39[i]}" = --boots ]; then
		last39+=(--boot "${opts39[i + 1]}/${opts39[i + 1]}")
		i=$((i + 1))
	else
		last39+=("${opts39[i]}")
	fi
done
# meanwhile: its boot 2 alone, on fresh disks, must fail (nothing was kept)
"$VMRUN" "${last39[@]}" "$T39" >"$T/fresh.out" 2>&1 &
fresh=$!
BJ_LOGDIR=$T/logs39 "$VMRUN" "${opts39[@]}" --disk-dir "$T/d39" "$T39" >"$T/39.out" 2>&1
rc=$?
expect "tests/vm/39 passes with --boots 2 (exit $rc)" test $rc -eq 0
expect "... boot 1 ended in the power cut it asked for" grep -q 'power cut: QEMU killed [0-9]* ms after the guest asked for it (BJ-POWER-CUT 300ms)' "$T/39.out"
expect "... boot 2 checked the disks boot 1 left" grep -q '^ok - every acknowledged write of boot 1 is on vdb' "$T/39.out"
expect "... the disk images are kept in --disk-dir" test -s "$T/d39/vdb.img" -a -s "$T/d39/vdc.img"
expect "... boot 2 reused them" grep -q 'new: none; kept: vdb vdc' "$T/39.out"
expect "... the logs of both boots are kept" test -s "$T/logs39/boot-1/console.txt" -a -s "$T/logs39/boot-2/console.txt"
expect "... no shell notice of the kill" not grep -q 'Killed' "$T/39.out"
[ $rc -eq 0 ] || show "$T/39.out"
wait $fresh
rc=$?
expect "its boot 2 on fresh disks fails (exit $rc)" test $rc -eq 1
expect "... finding no log" grep -q 'holds no acked-writes log' "$T/fresh.out"
[ $rc -eq 1 ] || show "$T/fresh.out"

# boot 2 again on d39, with one acknowledged block zeroed: a lost write
acked=$(sed -n 's/^# acked \([0-9]*\) finished 0$/\1/p' "$T/39.out")
lost=""
for off in $(grep -obUa BACKBLK1 "$T/d39/vdb.img" | cut -d: -f1); do
	# (not the write that was in flight: number $acked may be lost)
	seq=$(od -An -tu8 -j $((off + 16)) -N 8 "$T/d39/vdb.img" | tr -d ' ')
	[ "$seq" != "$acked" ] && [ $((off % 4096)) -eq 0 ] && { lost=$((off / 4096)); break; }
done
dd if=/dev/zero of="$T/d39/vdb.img" bs=4096 seek="${lost:-0}" count=1 conv=notrunc status=none
"$VMRUN" "${last39[@]}" --disk-dir "$T/d39" "$T39" >"$T/lost.out" 2>&1 &
lostjob=$!

# --- a delayed cut: the guest goes on until the kill; exit 100; asked for
# after a console line left open (the request is a line of its own) ---
cat >"$T/tick.sh" <<'EOF'
#!/bin/bash
. "$BJ_TESTS/vm/lib.sh"
printf 'a progress line the script left open'	# (fio's, as in tests/vm/73)
power_cut 300ms
for i in $(seq 3000); do echo "tick $i"; sleep 0.01; done
echo "ticks-finished"
EOF
"$VMRUN" --smp 1 --disks 1 --disk-size 16M --timeout 120 "$T/tick.sh" >"$T/tick.out" 2>&1
rc=$?
expect "a delayed power cut: vm-run exits 100 (got $rc)" test $rc -eq 100
took=$(sed -n 's/.*power cut: QEMU killed \([0-9]*\) ms after.*/\1/p' "$T/tick.out")
expect "... QEMU was killed ${took:-?} ms after the request (>= 300)" test "${took:-0}" -ge 300
expect "... the guest went on meanwhile" grep -q '^tick 1$' "$T/tick.out"
expect "... and was stopped" not grep -q 'ticks-finished' "$T/tick.out"
expect "... no failure said" not grep -q 'FAIL' "$T/tick.out"
[ $rc -eq 100 ] || show "$T/tick.out"

wait $lostjob
rc=$?
expect "boot 2 again on the kept disks with block ${lost:-?} zeroed fails (exit $rc)" test $rc -eq 1 -a -n "$lost"
expect "... naming the lost write" grep -q "block $lost lost write" "$T/lost.out"
[ $rc -eq 1 ] || show "$T/lost.out"

# --- a cut overtaken by the script's end; a QEMU killed unasked ---
printf '#!/bin/bash\n. "$BJ_TESTS/vm/lib.sh"\npower_cut 2s\nexit 0\n' >"$T/late.sh"
"$VMRUN" --smp 1 --disks 0 --timeout 120 "$T/late.sh" >"$T/late.out" 2>&1 &
late=$!
printf '#!/bin/bash\necho waiting-for-kill\nsleep infinity\n' >"$T/unasked.sh"
BJ_APPEND="bj.selftest=$$-unasked" "$VMRUN" --smp 1 --disks 0 --timeout 120 "$T/unasked.sh" >"$T/unasked.out" 2>&1 &
unasked=$!
for _ in $(seq 300); do
	grep -q '^waiting-for-kill' "$T/unasked.out" && break
	sleep 0.2
done
qpids=$(pgrep -f "bj.selftest=$$-unasked")
[ -n "$qpids" ] && kill -KILL $qpids
wait $unasked
rc=$?
expect "a QEMU killed unasked fails as a VM failure (exit $rc)" test $rc -eq 125
expect "... the guest died" grep -q 'FAIL: the guest died before the script finished' "$T/unasked.out"
wait $late
rc=$?
expect "a cut the script's end overtook fails (exit $rc)" test $rc -eq 1
expect "... saying so" grep -q 'asked for a power cut 2000 ms ahead, but its script ended before it' "$T/late.out"
[ $rc -eq 1 ] || show "$T/late.out"

# --- --boots 2 whose boot 1 does not ask for a cut; one stopped by SIGTERM ---
printf '#!/bin/bash\necho "sleeping in boot $BJ_BOOT"\nsleep infinity\n' >"$T/sleep.sh"
BJ_APPEND="bj.selftest=$$-term" "$VMRUN" --smp 1 --disks 1 --disk-size 16M --timeout 120 --boots 2 \
	"$T/sleep.sh" >"$T/term.out" 2>&1 &
term=$!
printf '#!/bin/bash\necho "boot $BJ_BOOT of $BJ_BOOTS"\nexit 0\n' >"$T/nocut.sh"
"$VMRUN" --smp 1 --disks 1 --disk-size 16M --timeout 120 --boots 2 "$T/nocut.sh" >"$T/nocut.out" 2>&1
rc=$?
expect "--boots 2: a boot 1 without a power cut fails (exit $rc)" test $rc -eq 1
expect "... BJ_BOOT and BJ_BOOTS reach the script" grep -qx 'boot 1 of 2' "$T/nocut.out"
expect "... no boot 2" not grep -q 'boot 2 of 2' "$T/nocut.out"
expect "... saying why" grep -q 'boot 1 of 2 ended without a power cut' "$T/nocut.out"
kept=$(sed -n 's/.*the disk images are kept in \([^ ]*\) .*/\1/p' "$T/nocut.out")
expect "... its disk images are kept for a look (${kept:-no dir named})" test -s "$kept/vdb.img"
for _ in $(seq 300); do
	grep -q '^sleeping in boot 1' "$T/term.out" && break
	sleep 0.2
done
kill -TERM $term
wait $term
rc=$?
expect "--boots 2 stopped by SIGTERM in boot 1 fails (exit $rc)" test $rc -eq 143
expect "... both the run and its boot say so" test "$(grep -c '^vm-run: terminated' "$T/term.out")" -eq 2
sleep 0.5
expect "... no qemu left" not pgrep -f "bj.selftest=$$-term"
expect "no temp dir left but that one" test "$(ls -A "$T/tmp")" = "$(basename "$kept")"

tap_end
