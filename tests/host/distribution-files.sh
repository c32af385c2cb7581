#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The distribution pieces (issue 19): the man page blockjob(8), the bash
# completion and dkms.conf.
#
# In a copy of the checkout (the checkout is left alone): `make install
# DESTDIR=... PREFIX=/usr` puts the module, the CLI, the man page, the
# completion and the unit below DESTDIR and nowhere else, and `make
# uninstall` takes them away again (also for the default PREFIX=/usr/local).
# The man page renders without a warning from groff (`man --warnings -l`) and
# names, in the section of each command, what the CLI has: the commands of
# `blockjob --help`, their sub-commands (usage lines), every long option of
# each command's option table in userspace/cli/, the exit statuses of
# `blockjob --help`, every variable the CLI reads with getenv(), its files.
# The completion, sourced with bash-completion and called as bash calls it
# (COMP_WORDS, COMP_CWORD, COMP_LINE), completes exactly the commands, each
# command's (and sub-command's) options, the values of options with a fixed
# set, volume names from dmsetup (a stand-in) without a word on stderr when
# dmsetup is missing or fails, activate's names from the volumes file,
# bitmap names, block devices and files. dkms.conf sourced in bash sets
# dkms's variables, `make install-dkms` stages the sources, and dkms.conf's
# MAKE builds dm-blockjob.ko there for this host's kernel headers
# (scripts/kdir), as dkms would. Needs man-db, groff-base and
# bash-completion (scripts/setup-deps). Last line: "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.bash"
tap_begin distribution-files

BASHCOMP=/usr/share/bash-completion/bash_completion
for need in man groff modinfo pkg-config "$BASHCOMP"; do
	if ! command -v "$need" >/dev/null && [ ! -r "$need" ]; then
		not_ok "$need is missing (packages man-db, groff-base, kmod, pkg-config, bash-completion: scripts/setup-deps)"
		tap_end
	fi
done
KDIR=$("$TOP/scripts/kdir") || { not_ok "no kernel headers (scripts/kdir)"; tap_end; }
KVER=$(basename "${KDIR%/build}" | sed 's/^linux-headers-//')
SYSDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null | grep . || echo /lib/systemd/system)
COMPDIR=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null | grep . || echo /usr/share/bash-completion/completions)

# words on stdin, on one line (xargs would run echo: echo --help)
words() { tr -s ' \t\n' '\n' | grep . | paste -sd' ' -; }

# A copy of what make install needs, without build products.
S=$T/src
mkdir -p "$S"
(cd "$TOP" && tar -c --exclude='*.o' --exclude='*.a' --exclude='*.so' --exclude='*.so.*' \
	--exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
	--exclude=userspace/blockjob --exclude=userspace/blockjob.install \
	--exclude=tests/vm/helpers/bin Makefile Kbuild VERSION dkms.conf kernel include \
	userspace systemd scripts tests/vm/helpers) | tar -x -C "$S"
# the module's sources, before anything is built in the copy
modsrc=$(cd "$S" && find Kbuild kernel include -type f | sort | words)
# make in the copy: no package step, the headers scripts/kdir found
mk() { make --no-print-directory -C "$S" SETUP_DEPS=true KDIR="$KDIR" "$@" >"$T/out" 2>&1; }
# the files and links below a directory, one line
files_in() { (cd "$1" && find . -type f -o -type l | sort | tr '\n' ' '); }

# Host paths an install would write: untouched by a DESTDIR install.
host_state() {
	local p
	for p in /usr/sbin/blockjob /usr/local/sbin/blockjob /lib/modules/"$KVER"/extra/dm-blockjob.ko \
		/usr/share/man/man8/blockjob.8 /usr/local/share/man/man8/blockjob.8 \
		"$COMPDIR"/blockjob /usr/local/share/bash-completion/completions/blockjob \
		"$SYSDIR"/blockjob-activate.service /usr/src/dm-blockjob-"$(cat "$TOP/VERSION")"; do
		stat -c '%n %i %Y' "$p" 2>/dev/null || echo "$p absent"
	done
}
before=$(host_state)

# --- 1. make install / uninstall ----------------------------------------
D=$T/dest
expect_out "make install DESTDIR=... PREFIX=/usr succeeds (module and userspace built in a copy)" \
	mk install DESTDIR="$D" PREFIX=/usr
expect_eq "$(files_in "$D" | tr ' ' '\n' | grep -v -e '^./usr/src/' -e '^./usr/include/' -e '^./usr/lib/libblockjob' -e '^./usr/lib/pkgconfig/' | words)" \
	"./lib/modules/$KVER/extra/dm-blockjob.ko .$SYSDIR/blockjob-activate.service ./usr/sbin/blockjob .$COMPDIR/blockjob ./usr/share/man/man8/blockjob.8" \
	"DESTDIR holds the module (extra/), the CLI, the unit, the completion ($COMPDIR), the man page"
expect_eq "$(cd "$D/usr" && find lib/libblockjob* lib/pkgconfig include -type f -o -type l | sort | words)" \
	"$(cd "$TOP/userspace" && { echo lib/libblockjob.so lib/libblockjob.so.0 lib/libblockjob.so.$(cat "$TOP/VERSION") lib/pkgconfig/libblockjob.pc; ls include/blockjob/*.h; ls "$TOP"/include/uapi/linux/*.h | sed 's|.*/|include/blockjob/uapi/linux/|'; } | tr ' ' '\n' | sort | words)" \
	"...and libblockjob: the library and its links in /usr/lib, libblockjob.pc, the headers in /usr/include/blockjob (tests/host/libblockjob.sh)"
expect "...and dkms's sources: /usr/src/dm-blockjob-$(cat "$TOP/VERSION")/dkms.conf and its Kbuild" \
	test -f "$D/usr/src/dm-blockjob-$(cat "$TOP/VERSION")/dkms.conf" -a \
	-f "$D/usr/src/dm-blockjob-$(cat "$TOP/VERSION")/Kbuild"
expect_eq "$(host_state)" "$before" "the host's module, sbin, man, completion and unit paths are untouched"
MAN=$D/usr/share/man/man8/blockjob.8
COMP=$D$COMPDIR/blockjob
BJ=$D/usr/sbin/blockjob
# the installed CLI finds libblockjob where it was installed
export LD_LIBRARY_PATH=$D/usr/lib
expect_eq "$(stat -c %a "$MAN" "$COMP" 2>/dev/null | tr '\n' ' ')" "644 644 " \
	"the man page and the completion are mode 0644"
expect "the installed man page is the checkout's" cmp -s "$MAN" "$TOP/userspace/man/blockjob.8"
expect "the installed completion is the checkout's" cmp -s "$COMP" "$TOP/userspace/completion/blockjob"

# The default PREFIX (/usr/local): its share/, which man and bash-completion
# search (XDG_DATA_DIRS); BASH_COMPLETION_DIR overrides.
L=$T/local
mk -C userspace install DESTDIR="$L"
expect_eq "$(files_in "$L/usr/local/share")" \
	"./bash-completion/completions/blockjob ./man/man8/blockjob.8 " \
	"PREFIX=/usr/local: the man page and the completion go to /usr/local/share"
mk -C userspace install DESTDIR="$T/other" BASH_COMPLETION_DIR=/opt/bc
expect "BASH_COMPLETION_DIR=DIR puts the completion in DIR" [ -f "$T/other/opt/bc/blockjob" ]

# bash-completion's loader finds the installed file by the command's name.
for share in "$D/usr/share" "$L/usr/local/share"; do
	got=$(XDG_DATA_DIRS=$share bash -c ". $BASHCOMP; __load_completion blockjob && complete -p blockjob" 2>&1)
	expect_eq "$got" "complete -F _blockjob blockjob" \
		"bash-completion's loader finds it in ${share#"$T"} (XDG_DATA_DIRS)"
done

# --- 2. what the CLI has -------------------------------------------------
"$BJ" --help >"$T/help" 2>&1
verbs=$(sed -n '/^Commands:/,/^$/p' "$T/help" | awk 'NF > 1 { print $1 }')
expect "blockjob --help lists commands" [ "$(echo "$verbs" | wc -w)" -ge 18 ]
# exit statuses: "Exit status: 0 success, 1 failure, ..." up to the blank line
codes=$(sed -n '/^Exit status:/,/^$/p' "$T/help" | tr '\n' ' ' | grep -oE '(:|,) [0-9]+ ' | tr -dc '0-9 \n' | words)
expect_eq "$codes" "0 1 2 124 130" "blockjob --help lists the exit statuses"
# long options of each command's option table: "VERB --OPTION" lines
(cd "$TOP/userspace/cli" && awk '
	/^[a-z].*\(/ { verb = "" }
	/^int cmd_[a-z0-9_]+\(/ { match($0, /cmd_[a-z0-9_]+/); verb = substr($0, RSTART + 4, RLENGTH - 4); gsub("_", "-", verb) }
	/static const struct option/ { table = 1; next }
	table && /};/ { table = 0 }
	table && verb != "" && match($0, /\{ "[a-z0-9-]+"/) {
		o = substr($0, RSTART + 3, RLENGTH - 4)
		if (o != "help") print verb, "--" o
	}' ./*.c) >"$T/optable"
expect_eq "$(grep -cx -e 'mirror --granularity' -e 'qcow2 --unused' -e 'wait --for' "$T/optable")" 3 \
	"the option tables of userspace/cli/*.c are read (mirror --granularity, qcow2 --unused, wait --for)"
table_opts() { awk -v v="$1" '$1 == v { print $2 }' "$T/optable" | sort | words; }
envvars=$(cd "$TOP/userspace" && grep -ohE 'getenv\("[A-Za-z_0-9]+"\)' cli/*.c lib/*.c | sed 's/getenv("//; s/")//' | sort -u)

# Each command's usage lines: "VERB<TAB>SUB<TAB>LINE" (SUB empty if none),
# a usage line with its continuations joined.
for v in $verbs; do
	"$BJ" "$v" --help | sed -n '1,/^$/p' | sed 's/^Usage: /       /' | awk '
		/^       blockjob / { if (l != "") print l; l = $0; next }
		/^ +\[/ { l = l " " $0; next }
		END { if (l != "") print l }' |
		while read -r _ verb sub rest; do
			if [[ $sub =~ ^[a-z][a-z0-9|-]*$ ]]; then
				for s in ${sub//|/ }; do printf '%s\t%s\t%s\n' "$verb" "$s" "$rest"; done
			else
				printf '%s\t\t%s\n' "$verb" "$sub $rest"
			fi
		done
done >"$T/usage"
subs_of() { awk -F'\t' -v v="$1" '$1 == v && $2 != "" { print $2 }' "$T/usage" | words; }
usage_opts() {	# VERB SUB: the options the usage lines of VERB SUB name
	awk -F'\t' -v v="$1" -v s="$2" '$1 == v && $2 == s { print $3 }' "$T/usage" |
		grep -oE -- '--[a-z][a-z0-9-]*' | sort -u | words
}
expect_eq "$(subs_of bitmap) / $(subs_of metadata) / $(subs_of qcow2)" \
	"add remove clear enable disable merge list dump / dump check / map table top attach detach" \
	"the sub-commands are read from the usage lines"

# --- 3. the man page -----------------------------------------------------
MANWIDTH=80 man --warnings -l "$MAN" >"$T/man.txt" 2>"$T/out"
expect_eq "$?: $(cat "$T/out")" "0: " "MANWIDTH=80 man --warnings -l blockjob.8: rendered, no warning"
expect_eq "$(grep -E '^[A-Z][A-Z ]+$' "$T/man.txt" | words)" \
	"NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS EXIT STATUS ENVIRONMENT FILES EXAMPLES SEE ALSO" \
	"the man page's sections"
# the text of a section (.SH) or of a command's .SS section, one space
# between words (not the justified text's runs)
sh_text() { awk -v h="$1" '/^[A-Z]/ { on = ($0 == h); next } on' "$T/man.txt" | sed 's/\([^ ]\)  */\1 /g'; }
ss_text() { sh_text COMMANDS | awk -v h="   $1" '/^   [^ ]/ { on = ($0 == h); next } on'; }
expect_eq "$(sh_text COMMANDS | sed -n 's/^   \([^ ].*\)/\1/p' | words)" "$(words <<<"$verbs")" \
	"COMMANDS has one section per command of blockjob --help, in its order"
missing=
for v in $verbs; do
	sec=$(ss_text "$v")
	grep -q "^       blockjob $v\b" <<<"$sec" || missing+=" $v(usage)"
	for s in $(subs_of "$v"); do
		grep -qE "^       (blockjob $v )?$s( |$)" <<<"$sec" || missing+=" $v:$s"
	done
	for o in $(table_opts "$v"); do
		grep -qE -- "(^|[^a-z0-9-])$o([^a-z0-9-]|$)" <<<"$sec" || missing+=" $v:$o"
	done
done
expect_eq "$missing" "" "each command's section has its usage, its sub-commands and every option of its table"
missing=
for c in $codes; do sh_text "EXIT STATUS" | grep -E "^       $c( |$)" >/dev/null || missing+=" $c"; done
expect_eq "$missing" "" "EXIT STATUS explains each status of blockjob --help ($codes)"
missing=
for e in $envvars; do sh_text ENVIRONMENT | grep -E "^       $e( |$)" >/dev/null || missing+=" $e"; done
expect_eq "$missing" "" "ENVIRONMENT explains each variable the CLI reads (getenv: $(words <<<"$envvars"))"
volfile=$(sed -n 's/^#define BJ_VOLUMES_FILE "\(.*\)"/\1/p' "$TOP/userspace/include/blockjob/bj-volumes.h")
missing=
for f in "$volfile" blockjob-activate.service /run/lock/blockjob/ dm-blockjob.ko; do
	sh_text FILES | grep -- "^       [^ ]*$f" >/dev/null || missing+=" $f"
done
expect_eq "$missing" "" "FILES: $volfile, the unit, the lock directory, the module"
missing=
for x in "blockjob mirror" "blockjob complete" "blockjob backup" "blockjob bitmap add" \
	"--bitmap " "blockjob activate" "systemctl enable blockjob-activate.service"; do
	sh_text EXAMPLES | grep -- "$x" >/dev/null || missing+=" '$x'"
done
expect_eq "$missing" "" "EXAMPLES: mirror and complete, backup, incremental backup with a bitmap, activation at boot"

# --- 4. the completion ---------------------------------------------------
# comp LINE: complete LINE (the cursor at its end) as bash does: words at
# blanks, '=' a word of its own (COMP_WORDBREAKS); COMPREPLY sorted on one
# line, the completion's stderr in $T/comp.err.
cat >"$T/comp.bash" <<'EOF'
. /usr/share/bash-completion/bash_completion
. "$1"
line=$2
set -f
words=()
for t in $line; do
	while [[ $t == *=* ]]; do
		[[ ${t%%=*} ]] && words+=("${t%%=*}")
		words+=("=")
		t=${t#*=}
	done
	[[ $t ]] && words+=("$t")
done
set +f
[[ $line == *[[:space:]] ]] && words+=("")
COMP_WORDS=("${words[@]}")
COMP_CWORD=$((${#words[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMPREPLY=()
fn=$(complete -p blockjob | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
"$fn" "${words[0]}" "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]}" 2>"$3"
printf '%s\n' "${COMPREPLY[@]}" | sort -u | paste -sd' ' -
EOF
comp() { bash "$T/comp.bash" "$COMP" "$1" "$T/comp.err"; }
# the completed options of LINE, without --help
comp_opts() { comp "$1" | tr ' ' '\n' | grep -vx -- --help | sort | words; }

expect_eq "$(comp 'blockjob ')" "$(sort <<<"$verbs" | words)" \
	"blockjob <TAB>: exactly the commands of blockjob --help"
expect_eq "$(comp 'blockjob --')" "--help --version" "blockjob --<TAB>: --help --version"
expect_eq "$(comp 'blockjob mi')" "mirror" "blockjob mi<TAB>: mirror"
bad=
for v in $verbs; do
	subs=$(subs_of "$v")
	all=
	# shellcheck disable=SC2086
	set -- $subs
	[ $# -gt 0 ] || set -- ""
	for s in "$@"; do
		got=$(comp_opts "blockjob $v $s --")
		[ "$got" = "$(usage_opts "$v" "$s")" ] || bad+=" [$v $s: got '$got', usage '$(usage_opts "$v" "$s")']"
		comp "blockjob $v $s --" | grep -w -- --help >/dev/null || bad+=" [$v $s: no --help]"
		all+=" $got"
	done
	all=$(tr ' ' '\n' <<<"$all" | sort -u | words)
	[ "$all" = "$(table_opts "$v")" ] || bad+=" [$v: got '$all', option table '$(table_opts "$v")']"
	if [ -n "$subs" ]; then
		got=$(comp "blockjob $v ")
		[ "$got" = "$(tr ' ' '\n' <<<"$subs" | sort | words)" ] || bad+=" [$v <TAB>: '$got']"
	fi
done
expect_eq "$bad" "" "blockjob VERB [SUB] --<TAB>: the options of its usage lines and --help; over the sub-commands, its option table"
expect_eq "$(comp 'blockjob mirror --')" \
	"--granularity --help --max-copies --mode --nbd-timeout --on-source-error --on-target-error --reuse --speed --sync --wait" \
	"blockjob mirror --<TAB>: mirror's options"
# option values: every "--OPT a|b|c" of a command's --help
bad=
n=0
for v in $verbs; do
	"$BJ" "$v" --help | grep -oE -- '--[a-z][a-z0-9-]*[ =][a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)+' |
		sed 's/[ =]/ /' | sort -u >"$T/choices"
	for o in $(cut -d' ' -f1 "$T/choices" | sort -u | words); do
		want=$(awk -v o="$o" '$1 == o { print $2 }' "$T/choices" | tr '|' '\n' | sort -u | words)
		s=$(awk -F'\t' -v v="$v" -v o="$o" '$1 == v && index($3, o) { print $2; exit }' "$T/usage")
		got=$(comp "blockjob $v $s vol0 $o ")
		[ "$got" = "$want" ] || bad+=" [$v $s $o: got '$got', want '$want']"
		got=$(comp "blockjob $v $s vol0 $o=")
		[ "$got" = "$want" ] || bad+=" [$v $s $o=: got '$got', want '$want']"
		n=$((n + 1))
	done
done
expect_eq "$bad" "" "blockjob VERB --OPT <TAB> and --OPT=<TAB>: the values its --help lists ($n options)"
expect "...among them wait --for (ready concluded) and mirror --mode" [ "$n" -ge 10 ]

# Volume names from dmsetup: a stand-in that answers ls --target blockjob.
B=$T/bin
mkdir -p "$B"
cat >"$B/dmsetup" <<EOF
#!/bin/bash
case "\${DM_MODE:-}" in
fail) echo "/dev/mapper/control: open failed: Permission denied" >&2; exit 1 ;;
none) echo "No devices found"; exit 0 ;;
esac
[ "\$*" = "ls --target blockjob" ] || { echo "unexpected: \$*" >&2; exit 1; }
printf 'vol0\t(253:0)\nvol1\t(253:1)\nold-db\t(253:4)\n'
EOF
chmod +x "$B/dmsetup"
expect_eq "$(PATH=$B:$PATH comp 'blockjob status vo')" "vol0 vol1" \
	"blockjob status vo<TAB>: the blockjob volumes dmsetup lists"
expect_eq "$(PATH=$B:$PATH comp 'blockjob mirror --speed 1M ')" "old-db vol0 vol1" \
	"blockjob mirror --speed 1M <TAB>: volumes (an option's value is no argument)"
expect_eq "$(PATH=$B:$PATH comp 'blockjob bitmap list ')" "old-db vol0 vol1" \
	"blockjob bitmap list <TAB>: volumes"
expect_eq "$(PATH=$B:$PATH DM_MODE=none comp 'blockjob status ')" "" \
	"no volume ('No devices found'): nothing"
# dmsetup failing (a user, not root) or missing: no word on stderr
PATH=$B:$PATH DM_MODE=fail comp 'blockjob status ' >/dev/null
expect_eq "$(cat "$T/comp.err")" "" "dmsetup failing (not root): nothing on stderr"
mkdir -p "$T/nodm"
for t in bash sed awk grep cat sort paste; do ln -s "$(type -P "$t")" "$T/nodm/$t"; done
PATH=$T/nodm bash "$T/comp.bash" "$COMP" 'blockjob status ' "$T/comp.err" >/dev/null
expect_eq "$?: $(cat "$T/comp.err")" "0: " "no dmsetup on PATH: nothing on stderr"
expect_eq "$(PATH=$B:$PATH comp 'blockjob set-speed vol0 ')" "" "set-speed NAME <TAB>: no more volumes"

# activate: the names of the volumes file (BLOCKJOB_VOLUMES, as the CLI).
printf '# dm-blockjob volumes\nvol0 virtio-bj-vde\n  # comment\ndb /dev/vg/db-meta\n\n' >"$T/volumes"
expect_eq "$(BLOCKJOB_VOLUMES=$T/volumes comp 'blockjob activate ')" "db vol0" \
	"blockjob activate <TAB>: the volumes of the volumes file"

# Bitmap names: blockjob bitmap list NAME --json of the command completed.
cat >"$B/bj" <<'EOF'
#!/bin/bash
[ "$*" = "bitmap list vol0 --json" ] || exit 1
echo '[{"name": "daily", "granularity": 65536}, {"name": "weekly.1", "granularity": 65536}]'
EOF
chmod +x "$B/bj"
expect_eq "$(comp "$B/bj backup vol0 /dev/null --bitmap ")" "daily weekly.1" \
	"backup NAME TARGET --bitmap <TAB>: NAME's bitmaps"
expect_eq "$(comp "$B/bj bitmap remove vol0 ")" "daily weekly.1" "bitmap remove NAME <TAB>: its bitmaps"
expect_eq "$(comp "$B/bj bitmap merge vol0 daily ")" "daily weekly.1" "bitmap merge NAME DST <TAB>: its bitmaps"
expect_eq "$(comp "$B/bj bitmap add vol0 ")" "" "bitmap add NAME <TAB>: nothing (a new name)"

# Block devices and files.
got=$(comp 'blockjob create vol0 /dev/')
bad=
for d in $got; do [ -b "$d" ] || bad+=" $d"; done
expect_eq "$bad" "" "create NAME /dev/<TAB>: block devices only ($(echo "$got" | wc -w))"
bad=
for d in $(lsblk -lnpo NAME 2>/dev/null); do [[ " $got " == *" $d "* ]] || bad+=" $d"; done
expect_eq "$bad" "" "...every block device lsblk lists"
expect_eq "$(comp 'blockjob mirror vol0 /dev/nu')" "" "mirror NAME /dev/nu<TAB>: not /dev/null"
mkdir -p "$T/imgs" && : >"$T/imgs/a.qcow2"
cdcomp() { (cd "$T/imgs" && comp "$1"); }
expect_eq "$(cdcomp 'blockjob mirror vol0 a')" "a.qcow2" "mirror NAME a<TAB>: a qcow2 file"
expect_eq "$(cdcomp 'blockjob qcow2 map a')" "a.qcow2" "qcow2 map a<TAB>: files"
expect_eq "$(cdcomp 'blockjob metadata dump a')" "a.qcow2" "metadata dump a<TAB>: files (an image)"
expect_eq "$(cdcomp 'blockjob create vol0 a')" "" "create NAME a<TAB>: no file (a block device)"
expect_eq "$(cdcomp 'blockjob qcow2 attach vm a')" "a.qcow2" "qcow2 attach NAME a<TAB>: files"

# --- 5. dkms.conf ---------------------------------------------------------
VER=$(cat "$TOP/VERSION")
DT=$T/dkms
# as dkms sources it: with its variables set
dk=$(kernel_source_dir=$KDIR kernelver=$KVER dkms_tree=$DT bash -c '
	set -u; . "$1" || exit 1
	echo "$PACKAGE_NAME|$PACKAGE_VERSION|${BUILT_MODULE_NAME[0]}|${DEST_MODULE_LOCATION[0]}|$AUTOINSTALL"
	echo "${MAKE[0]}"; echo "${BUILT_MODULE_LOCATION[0]:-.}"' _ "$TOP/dkms.conf" 2>&1)
expect_eq "$(sed -n 1p <<<"$dk")" "dm-blockjob|$VER|dm-blockjob|/updates/dkms|yes" \
	"dkms.conf: PACKAGE_NAME, PACKAGE_VERSION = VERSION ($VER), BUILT_MODULE_NAME, DEST_MODULE_LOCATION, AUTOINSTALL"
MAKE0=$(sed -n 2p <<<"$dk")
LOC=$(sed -n 3p <<<"$dk")
expect "...its MAKE builds against \${kernel_source_dir} in dkms's build directory" \
	grep -q "make -C $KDIR M=$DT/dm-blockjob/$VER/build" <<<"$MAKE0"

expect_out "make install-dkms DESTDIR=... succeeds" mk install-dkms DESTDIR="$T/dk"
U=$T/dk/usr/src/dm-blockjob-$VER
expect_eq "$(cd "$U" && find . -type f | sed 's|^\./||' | sort | words)" \
	"$(echo "$modsrc dkms.conf VERSION" | tr ' ' '\n' | sort | words)" \
	"...into /usr/src/dm-blockjob-$VER: dkms.conf, VERSION, Kbuild, kernel/ and include/ (no build product)"
expect "...only there" [ "$(ls "$T/dk/usr/src")" = "dm-blockjob-$VER" ]
# dkms build: a copy of the source in $dkms_tree/NAME/VERSION/build, MAKE run there
mkdir -p "$DT/dm-blockjob/$VER"
cp -a "$U" "$DT/dm-blockjob/$VER/build"
(cd "$DT/dm-blockjob/$VER/build" && eval "$MAKE0") >"$T/out" 2>&1
expect_out "dkms.conf's MAKE builds the module in dkms's copy of /usr/src/dm-blockjob-$VER" \
	[ -f "$DT/dm-blockjob/$VER/build/$LOC/dm-blockjob.ko" ]
expect_eq "$(modinfo -F vermagic "$DT/dm-blockjob/$VER/build/$LOC/dm-blockjob.ko" 2>&1 | cut -d' ' -f1)" \
	"$KVER" "...for the kernel of the headers it was given ($KVER)"
expect_out "make uninstall-dkms DESTDIR=... succeeds" mk uninstall-dkms DESTDIR="$T/dk"
expect_eq "$(files_in "$T/dk")" "" "...and removes it"

# --- 6. uninstall ----------------------------------------------------------
expect_out "make uninstall DESTDIR=... PREFIX=/usr succeeds" mk uninstall DESTDIR="$D" PREFIX=/usr
expect_eq "$(files_in "$D")" "" "...and leaves no file in DESTDIR"
mk -C userspace uninstall DESTDIR="$L"
expect_eq "$(files_in "$L")" "" "make -C userspace uninstall (PREFIX=/usr/local) leaves no file"
expect_eq "$(host_state)" "$before" "the host's paths are still untouched"

tap_end
