#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# `mcefwd lab` and --on=lab as a user meets them, on this host (never inside
# the lab: QEMU's TCG inside QEMU's TCG is not a test): what comes back from
# the lab (output, exit status, directory, environment), what it throws
# away, how it says it cannot run or broke, that it leaves no QEMU behind,
# and that an installed mcefwd runs it. TAP output.
#
#   B=build tests/lab/command.sh
set -u

B=${B:-build}
MCEFWD=$B/bin/mcefwd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-labcmd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
. tests/integration/lib.sh

# lab ARGS...: the lab command; stdout in $tmp/out, stderr in $tmp/err, status in rc.
# Its temporary files go under $tmp/t, so a QEMU it left is found by its path.
lab() {
	mkdir -p "$tmp/t"
	TMPDIR=$tmp/t timeout -k 5 300 "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
# Whether a QEMU of this test is still running.
qemu_left() {
	pgrep -f "qemu-system.*$tmp/t" >/dev/null
}
# expect2 DESC STATUS FILE PATTERN...: like expect, on stdout or stderr.
expect2() {
	desc=$1 want=$2 f=$3
	shift 3
	{ echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"; } >"$tmp/both"
	if [ "$rc" -ne "$want" ]; then
		echo "# exit status $rc, expected $want" >>"$tmp/both"
		cp "$tmp/both" "$tmp/out"
		not_ok "$desc" "$tmp/out"
		return
	fi
	for pat in "$@"; do
		if ! grep -qE -- "$pat" "$tmp/$f"; then
			echo "# $f lacks: $pat" >>"$tmp/both"
			cp "$tmp/both" "$tmp/out"
			not_ok "$desc" "$tmp/out"
			return
		fi
	done
	if qemu_left; then
		echo "# a QEMU is still running: $(pgrep -af "qemu-system.*$tmp/t")" >>"$tmp/both"
		cp "$tmp/both" "$tmp/out"
		pkill -9 -f "qemu-system.*$tmp/t"
		not_ok "$desc" "$tmp/out"
		return
	fi
	ok "$desc"
}

# ---- usage: no boot --------------------------------------------------------------
lab "$MCEFWD" lab
expect2 "no command: a usage error" 2 err 'no command to run'
lab "$MCEFWD" lab --npt 2 -- true
expect2 "--npt 2: a usage error naming it" 2 err "invalid --npt '2'"
lab "$MCEFWD" lab --kernel /nonexistent -- true
expect2 "--kernel without --modules: a usage error" 2 err '--kernel needs --modules'
lab "$MCEFWD" lab --help
expect2 "--help teaches the options and the exit status" 0 out '^usage: mcefwd lab' '--kernel-deb' \
	'--npt' '--timeout' 'MCEFWD_LAB_CACHE' 'Exit status' 'Examples'

# Usage errors are found before the lab is asked for, even where it cannot run.
lab env MCEFWD_QEMU=/nonexistent/qemu-system-x86_64 "$MCEFWD" run nosuch --on=lab
expect2 "run --on=lab with an unknown name: a usage error, not a lab" 2 err \
	"no scenario or payload named 'nosuch'"
lab env MCEFWD_QEMU=/nonexistent/qemu-system-x86_64 "$MCEFWD" bench nosuch --on=lab
expect2 "bench --on=lab with an unknown name: a usage error, not a lab" 2 err \
	"no benchmark named 'nosuch'"

# ---- what this host lacks: a skip that says what, before anything starts -----------
lab env MCEFWD_QEMU=/nonexistent/qemu-system-x86_64 "$MCEFWD" lab -- true
expect2 "no QEMU: exit 4 naming the package" 4 err 'cannot run here: .*qemu-system-x86'
lab env MCEFWD_QEMU=/nonexistent/qemu-system-x86_64 MCEFWD_ON= "$MCEFWD" run hello ar --on=lab
expect2 "run --on=lab without QEMU: KTAP, each test a skip naming it" 4 out '^KTAP version 1' '^1\.\.2$' \
	'^ok 1 hello # SKIP lab: .*qemu-system-x86' '^ok 2 ar # SKIP lab: '
# The first download with no archive: a fake apt that fails, an empty cache.
mkdir -p "$tmp/bin" "$tmp/cache"
printf '#!/bin/sh\necho "E: Failed to fetch: temporary failure resolving deb.debian.org" >&2\nexit 100\n' >"$tmp/bin/apt-get"
printf '#!/bin/sh\necho "linux-image-amd64\n  Depends: linux-image-6.1.0-99-amd64"\n' >"$tmp/bin/apt-cache"
chmod +x "$tmp/bin/apt-get" "$tmp/bin/apt-cache"
# (MCEFWD_QEMU=true: any QEMU will do, as none is started.)
lab env PATH="$tmp/bin:$PATH" MCEFWD_LAB_CACHE="$tmp/cache" MCEFWD_QEMU=true "$MCEFWD" lab -- true
expect2 "no network for the first download: exit 4 naming the package and what to do" 4 err \
	'apt-get download linux-image-6.1.0-99-amd64 failed.*temporary failure resolving' '--kernel-deb=FILE'
# A kernel whose config lacks what the lab needs: refused before it boots.
mkdir -p "$tmp/k/lib/modules/6.0.0-test"
printf 'CONFIG_X86_64=y\nCONFIG_KVM=m\n' >"$tmp/k/config-6.0.0-test"
head -c 4096 /dev/zero >"$tmp/k/bzImage"
printf 'HdrS' | dd of="$tmp/k/bzImage" bs=1 seek=$((0x202)) conv=notrunc 2>/dev/null
printf '\000\010' | dd of="$tmp/k/bzImage" bs=1 seek=$((0x20e)) conv=notrunc 2>/dev/null
printf '6.0.0-test (nobody@nowhere) #1\000' | dd of="$tmp/k/bzImage" bs=1 seek=$((0xa00)) conv=notrunc 2>/dev/null
lab env MCEFWD_QEMU=true "$MCEFWD" lab --kernel "$tmp/k/bzImage" --modules "$tmp/k" -- true
expect2 "a kernel without memory failure: refused before boot, naming the options" 1 err \
	'kernel 6.0.0-test cannot run the lab \(not booted\)' 'CONFIG_MEMORY_FAILURE is not set, the lab needs y' \
	'CONFIG_KVM_AMD is not set'
lab env MCEFWD_QEMU=true "$MCEFWD" lab --kernel-deb /etc/hostname -- true
expect2 "a file that is no kernel package: exit 1 naming it" 1 err 'dpkg-deb -x /etc/hostname failed'

# ---- the lab itself (one boot each from here) ---------------------------------------
lab "$MCEFWD" lab -q -- true
lab_why=$(sed -n 's/^mcefwd lab: cannot run here: //p' "$tmp/err")
if [ "$rc" = 4 ] && [ -n "$lab_why" ]; then
	for t in "output, status, directory, environment" "writes thrown away" "command not found" \
		"timeout" "kernel panic" "SIGINT" "SIGKILL" "caps --json" "bench --json" "run --json" "installed"; do
		skip "the lab: $t" "$lab_why"
	done
	tap_done
	exit
fi
abs=$(pwd)/$MCEFWD
mkdir -p "$tmp/cwd"
# in DIR CMD...: CMD run from DIR.
in_dir() {
	dir=$1
	shift
	lab sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$@"
}
in_dir "$tmp/cwd" env LABTEST_VAR='a b' "$abs" lab -- \
	sh -c 'echo "out: $LABTEST_VAR in $(pwd) on $(uname -r)"; echo "err: kvm $(stat -c %F /dev/kvm)" >&2; exit 3'
expect2 "output, exit status, directory and environment come back: stdout" 3 out \
	"^out: a b in $tmp/cwd on [0-9]"
expect2 "output, exit status, directory and environment come back: stderr, kvm_amd's /dev/kvm" 3 err \
	'^err: kvm character special file' '^# lab: booting under QEMU' '^# lab: /dev/kvm in the lab: api=12 mce=[1-9]'

# Outside the scratch directories (/tmp, /var/tmp, /run, whose files are
# not listed): a place only the lab's throw-away layer ever holds.
written=/var/lib/mcefwd-lab-write-test.$$
lab "$MCEFWD" lab -- sh -c "echo gone >'$written'; cat '$written'"
if [ "$rc" = 0 ] && grep -q '^gone$' "$tmp/out" && [ ! -e "$written" ] &&
	grep -qF "the command wrote $written (thrown away with the lab)" "$tmp/err"; then
	ok "what the command writes is thrown away with the lab, and said"
else
	not_ok "what the command writes is thrown away with the lab, and said" "$tmp/out"
fi

lab "$MCEFWD" lab -- /nonexistent/command
expect2 "a command that is not there: 127, named" 127 err 'cannot run /nonexistent/command'

lab "$MCEFWD" lab --timeout 10 -- sleep 600
expect2 "a command past --timeout: exit 1 naming it, QEMU stopped" 1 err 'no result after 10 s'

lab "$MCEFWD" lab -- sh -c 'echo c >/proc/sysrq-trigger; sleep 30'
expect2 "a kernel panic: exit 1 naming it, with the console's end" 1 err \
	'panicked while the command ran' '^# lab: the console.s last lines'

# sleeping_lab [SETUP]: a lab whose command runs shell SETUP, says ready,
# then sleeps; in the background ($pid), returning once it is ready.
sleeping_lab() {
	mkdir -p "$tmp/t"
	TMPDIR=$tmp/t "$MCEFWD" lab -- sh -c "${1:-:}; echo ready; exec sleep 600" \
		>"$tmp/out" 2>"$tmp/err" &
	pid=$!
	for _ in $(seq 150); do
		grep -q '^ready$' "$tmp/out" && break
		sleep 0.2
	done
}
# ^C reaches the command inside, which ends as it would here.
sleeping_lab
kill -INT $pid
wait $pid
rc=$?
expect2 "SIGINT while the command runs: the command gets it (exit 130), QEMU gone" 130 err \
	'^# lab: running the command'
# A command that ignores it has a grace period; then QEMU is stopped.
sleeping_lab 'trap "" INT'
kill -INT $pid
wait $pid
rc=$?
expect2 "SIGINT to a command that ignores it: exit 1 after the grace, interrupted, QEMU stopped" 1 err \
	'interrupted: QEMU stopped'

# Killed outright, mcefwd cannot stop QEMU itself: QEMU dies with it.
sleeping_lab
kill -KILL $pid
wait $pid 2>/dev/null
for _ in $(seq 20); do
	qemu_left || break
	sleep 0.1
done
if qemu_left; then
	pkill -9 -f "qemu-system.*$tmp/t"
	not_ok "SIGKILL to mcefwd lab: its QEMU dies with it" "$tmp/out"
else
	ok "SIGKILL to mcefwd lab: its QEMU dies with it"
fi

# --json through the lab is still one JSON document, saying where it ran
# (expect_json, lib.sh, judges $tmp/json).
lab_json() {
	lab "$@"
	cp "$tmp/out" "$tmp/json"
}
lab_json "$MCEFWD" caps --on=lab --json
expect_json "caps --on=lab --json: one document, in the lab, hwpoison available" 0 \
	'.version == 1 and .where.in_lab and .where.on == "host" and
	 ([.poison_methods[] | select(.name == "hwpoison" and .available)] | length == 1)'
lab_json "$MCEFWD" bench exit --quick --json --on=lab
expect_json "bench exit --quick --json --on=lab: one document, measured in the lab" 0 \
	'.mcefwd_bench == 1 and (.host.where | test("^lab: kernel ")) and .benchmarks[0].status == "ok"'
lab_json "$MCEFWD" run ar ao --on=lab --json
expect_json "run ar ao --on=lab --json: one document, hwpoison picked, both pass" 0 \
	'.version == 1 and .where.in_lab and .poison.method == "hwpoison" and .poison.auto and
	 .totals == {"pass": 2, "fail": 0, "skip": 0} and
	 (t("ar").observation | rec) == enc(.encoding; "ar") and (t("ao").observation | rec) == enc(.encoding; "ao")'

# The lab travels inside the binary: an installed mcefwd needs no source tree.
rm -rf "$tmp/inst"
if make -s install DESTDIR="$tmp/inst" PREFIX=/usr >"$tmp/out" 2>&1; then
	in_dir / "$tmp/inst/usr/bin/mcefwd" run hello --on=lab
	expect2 "an installed mcefwd runs a scenario in the lab, from any directory" 0 out \
		'^# on: lab: kernel ' '^ok 1 hello$'
else
	not_ok "make install DESTDIR=... for the installed-lab test" "$tmp/out"
fi
tap_done
