#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# blockjob-activate.service (issue 18): `make -C userspace install` puts the
# CLI and the unit (ExecStart = $(PREFIX)/sbin/blockjob) below DESTDIR and
# nowhere else; `systemd-analyze verify` finds nothing to say about the unit,
# in the staged root (--root=DESTDIR: ExecStart resolves to the installed
# CLI, a real build) and against this host's systemd units (a PREFIX install
# into the scratch directory); an fstab mount of /dev/mapper/NAME and its
# fsck are ordered after the unit (a probe unit ordered the other way makes
# an ordering cycle; without Before=local-fs-pre.target it does not);
# uninstall removes what install put. Builds the CLI from a copy of the
# checkout (userspace/ is left alone). Needs systemd-analyze (package
# systemd, installed by scripts/setup-deps). Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin systemd-unit
UNIT=blockjob-activate.service

if ! command -v systemd-analyze >/dev/null; then
	not_ok "systemd-analyze is not installed (package systemd: scripts/setup-deps, or apt-get install systemd)"
	tap_end
fi
# A copy of the sources make install needs, without build products.
S=$T/src
mkdir -p "$S"
(cd "$TOP" && tar -c --exclude='*.o' --exclude='*.a' --exclude=userspace/blockjob \
	userspace include systemd VERSION) | tar -x -C "$S"
mk() { make --no-print-directory -C "$S/userspace" "$@" >"$T/out" 2>&1; }

# Host paths a default install would write: untouched by a DESTDIR install.
host_state() {
	local p
	for p in /usr/local/sbin/blockjob /etc/systemd/system/$UNIT \
		/lib/systemd/system/$UNIT /usr/lib/systemd/system/$UNIT; do
		stat -c '%n %i %Y' "$p" 2>/dev/null || echo "$p absent"
	done
}
before=$(host_state)

# 1. DESTDIR install, default PREFIX (/usr/local).
D=$T/dest
expect_out "make -C userspace install DESTDIR=... succeeds" mk install DESTDIR="$D"
expect_eq "$(cd "$D" && find . -type f -o -type l | grep -v -e '^./usr/local/include/blockjob/' -e '^./usr/local/lib/' | sort | tr '\n' ' ')" \
	"./etc/systemd/system/$UNIT ./usr/local/sbin/blockjob ./usr/local/share/bash-completion/completions/blockjob ./usr/local/share/man/man8/blockjob.8 " \
	"DESTDIR holds the CLI in /usr/local/sbin, its man page and completion in /usr/local/share and the unit in /etc/systemd/system, nothing else (but libblockjob in /usr/local/lib and include: tests/host/libblockjob.sh)"
expect_eq "$(host_state)" "$before" "the host's /usr/local/sbin and unit directories are untouched"
U=$D/etc/systemd/system/$UNIT
expect_eq "$(grep '^ExecStart=' "$U")" "ExecStart=/usr/local/sbin/blockjob activate --all" \
	"ExecStart is \$(PREFIX)/sbin/blockjob activate --all"
expect_eq "$(stat -c %a "$U")" 644 "the unit is mode 0644"
expect_out "install says how to enable it, and does not" \
	grep -qx "$UNIT installed, not enabled: systemctl enable $UNIT .*" "$T/out"
expect "...no enable link written" not [ -e "$D/etc/systemd/system/sysinit.target.wants" ]
expect "no @...@ placeholder left in the unit" not grep -q '@[A-Z]*@' "$U"

# The unit's fixed lines.
for l in Type=oneshot RemainAfterExit=yes DefaultDependencies=no \
	ConditionPathExists=/etc/blockjob/volumes Before=local-fs-pre.target \
	Wants=local-fs-pre.target Conflicts=shutdown.target Before=shutdown.target \
	After=systemd-udev-settle.service Wants=systemd-udev-settle.service \
	ExecStartPre=-/sbin/modprobe WantedBy=sysinit.target; do
	expect "the unit says $l" grep -Eq "^${l%%=*}=(.* )?${l#*=}( |\$)" "$U"
done
# verify says nothing about a unit it cannot find: each unit named must exist.
units=$(sed -n 's/^\(After\|Before\|Wants\|Requires\|Conflicts\|WantedBy\)=//p' "$U" | tr ' ' '\n' | sort -u)
sysdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
missing=
for u in $units; do
	[ -e "${sysdir:-/lib/systemd/system}/$u" ] || missing="$missing $u"
done
expect_eq "$missing" "" "every unit it orders against is one of systemd's own ($sysdir)"

# 2. systemd-analyze verify in the staged root: ExecStart is the installed
# CLI there (a missing one is an error: checked with a copy without it).
systemd-analyze verify --root="$D" "$UNIT" >"$T/out" 2>&1
expect_eq "$?: $(cat "$T/out")" "0: " "systemd-analyze verify --root=DESTDIR: no error, no warning"
mkdir -p "$T/empty" && cp -a "$D/etc" "$T/empty/"
systemd-analyze verify --root="$T/empty" "$UNIT" >"$T/out" 2>&1
expect_out "...and it does check ExecStart: without the CLI in the root it fails" \
	grep -q "/usr/local/sbin/blockjob is not executable" "$T/out"

# 3. A PREFIX install into the scratch directory, verified against this
# host's systemd (udev, fsck and target units; the start transaction).
P=$T/prefix
V=$T/units
expect_out "make -C userspace install PREFIX=... SYSTEMD_UNIT_DIR=... succeeds" \
	mk install PREFIX="$P" SYSTEMD_UNIT_DIR="$V"
expect_eq "$(grep '^ExecStart=' "$V/$UNIT")" "ExecStart=$P/sbin/blockjob activate --all" \
	"ExecStart follows PREFIX"
systemd-analyze verify "$V/$UNIT" >"$T/out" 2>&1
expect_eq "$?: $(cat "$T/out")" "0: " "systemd-analyze verify against the host's units: no error, no warning"

# 4. Ordering: the fstab line of the docs, through systemd's fstab generator.
mkdir -p "$T/gen/normal" "$T/gen/early" "$T/gen/late"
echo '/dev/mapper/bjtest /mnt ext4 defaults 0 2' >"$T/fstab"
SYSTEMD_FSTAB=$T/fstab /lib/systemd/system-generators/systemd-fstab-generator \
	"$T/gen/normal" "$T/gen/early" "$T/gen/late" >"$T/out" 2>&1
expect_out "systemd-fstab-generator writes mnt.mount for the fstab line" [ -f "$T/gen/normal/mnt.mount" ]
cp "$T/gen/normal/mnt.mount" "$V/"
cat >"$V/bjprobe.service" <<EOF
[Unit]
DefaultDependencies=no
Wants=mnt.mount $UNIT
After=mnt.mount
Before=$UNIT
[Service]
Type=oneshot
ExecStart=$P/sbin/blockjob --help
EOF
# cycle: the probe is after the mount and before the unit; a cycle proves
# the mount is after the unit.
systemd-analyze verify "$V/bjprobe.service" >"$T/out" 2>&1
expect_out "the mount of /dev/mapper/NAME is ordered after $UNIT (no x-systemd.requires needed)" \
	grep -q "Found ordering cycle" "$T/out"
expect_out "...through local-fs-pre.target" \
	grep -q "on local-fs-pre.target/start" "$T/out"
sed -i 's/^Before=local-fs-pre.target$//' "$V/$UNIT"
systemd-analyze verify "$V/bjprobe.service" >"$T/out" 2>&1
expect_out "...by Before=local-fs-pre.target: without it, no cycle" not grep -q "ordering cycle" "$T/out"
# The boot transaction: sysinit.target (WantedBy) with the unit and the mount.
mk install PREFIX="$P" SYSTEMD_UNIT_DIR="$V"
printf '[Unit]\nDefaultDependencies=no\nWants=sysinit.target %s mnt.mount\n' "$UNIT" >"$V/bjboot.target"
systemd-analyze verify "$V/bjboot.target" >"$T/out" 2>&1
expect_eq "$?: $(cat "$T/out")" "0: " "sysinit.target, the unit and the mount start without an ordering cycle"

# 5. uninstall removes the CLI, the unit and an enable link.
mkdir -p "$D/etc/systemd/system/sysinit.target.wants"
ln -s "/etc/systemd/system/$UNIT" "$D/etc/systemd/system/sysinit.target.wants/$UNIT"
expect_out "make -C userspace uninstall DESTDIR=... succeeds" mk uninstall DESTDIR="$D"
expect_eq "$(cd "$D" && find . -type f -o -type l | wc -l)" 0 "...and leaves no file or link in DESTDIR"
expect_eq "$(host_state)" "$before" "...and the host's paths are still untouched"

# 6. PREFIX=/usr: systemd's own unit directory.
mk install PREFIX=/usr DESTDIR="$T/usr"
expect_out "PREFIX=/usr: the unit goes to systemd's unit directory (${sysdir:-/lib/systemd/system})" \
	[ -f "$T/usr${sysdir:-/lib/systemd/system}/$UNIT" ]
expect_eq "$(grep '^ExecStart=' "$T/usr${sysdir:-/lib/systemd/system}/$UNIT" 2>/dev/null)" \
	"ExecStart=/usr/sbin/blockjob activate --all" "PREFIX=/usr: ExecStart=/usr/sbin/blockjob"

tap_end
