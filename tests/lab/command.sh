#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# `mcefwd lab` and --on=lab as a user meets them, on this host (never inside
# the lab: QEMU's TCG inside QEMU's TCG is not a test): what comes back from
# the lab (output, exit status, directory, environment), what it throws
# away, how it says it cannot run or broke, that it leaves no QEMU behind,
# which kernel it boots (--kernel, --list-kernels), and that an installed
# mcefwd runs it. TAP output.
#
#   B=build tests/lab/command.sh
set -u

B=${B:-build}
MCEFWD=$B/bin/mcefwd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-labcmd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
. tests/integration/lib.sh

# 31 without the lab, 19 in it (a skip each where it cannot run).
tap_plan 50

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
	if pat=$(lacks "$tmp/$f" "$@"); then
		echo "# $f lacks: $pat" >>"$tmp/both"
		cp "$tmp/both" "$tmp/out"
		not_ok "$desc" "$tmp/out"
		return
	fi
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
lab "$MCEFWD" lab --silence 9 -- true
expect2 "--silence 9: a usage error naming the range" 2 err "invalid --silence '9': seconds, from 10 to 3600"
lab "$MCEFWD" lab --help
expect2 "--help teaches the options and the exit status" 0 out '^usage: mcefwd lab' '--kernel-deb' \
	'--kernel K' '6\.12 ' '--list-kernels' '--npt' '--timeout' '--silence' 'MCEFWD_LAB_CACHE' \
	'Exit status' 'Examples'

# --kernel: a series the lab does not know, and what cannot go together.
lab "$MCEFWD" lab --kernel=5.10 -- true
expect2 "lab --kernel=5.10: a usage error naming the series there are" 2 err \
	"invalid --kernel '5.10': no such kernel series; the lab knows 6\.1 and 6\.12"
lab "$MCEFWD" run hello --kernel=5.10
expect2 "run --kernel=5.10: a usage error, before any lab" 2 err "invalid --kernel '5.10'"
lab "$MCEFWD" bench exit --kernel 5.10
expect2 "bench --kernel 5.10: a usage error, before any lab" 2 err "invalid --kernel '5.10'"
lab "$MCEFWD" run hello --on=host --kernel=6.1
expect2 "run --on=host --kernel=6.1: a usage error" 2 err 'cannot go with --on=host'
lab "$MCEFWD" caps --kernel=6.1 --on=host
expect2 "caps --kernel=6.1 --on=host: a usage error" 2 err 'cannot go with --on=host'
lab "$MCEFWD" where --kernel=6.1
expect2 "where --kernel: a usage error (it starts no guest)" 2 err 'an option of run, caps, matrix, bench and lab only'
lab "$MCEFWD" lab --kernel 6.12 --modules /lib/modules -- true
expect2 "lab --kernel 6.12 --modules: a usage error (a package brings its modules)" 2 err \
	'--modules goes with --kernel BZIMAGE'
lab "$MCEFWD" lab --list-kernels -- true
expect2 "lab --list-kernels with a command: a usage error" 2 err '--list-kernels lists them all'
lab "$MCEFWD" lab --json -- true
expect2 "lab --json without --list-kernels: a usage error" 2 err '--json goes with --list-kernels'
# --kernel alone sends run to the lab, and says so (no QEMU: nothing boots).
lab env MCEFWD_QEMU=/nonexistent/qemu-system-x86_64 MCEFWD_ON= "$MCEFWD" run hello --kernel=6.1
expect2 "run --kernel=6.1: the lab, because of --kernel, in its KTAP" 4 out '^# on: lab: --kernel=6\.1 ' \
	'^ok 1 hello # SKIP lab: .*qemu-system-x86'

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

# The same refusal whichever way the kernel is chosen, in a cache of test
# kernels whose configs lack memory failure, with an apt that offers them.
# fake_entry NAME RELEASE [complete]: a cache entry, unpacked to the end or not.
fake_entry() {
	d=$tmp/kc/kernels/v1/$1
	mkdir -p "$d/mods"
	printf '%s\n' "$2" >"$d/release"
	printf 'a test kernel of command.sh\n' >"$d/source"
	printf 'CONFIG_X86_64=y\nCONFIG_KVM=m\n' >"$d/config"
	: >"$d/mods/order"
	head -c 4096 /dev/zero >"$d/vmlinuz"
	if [ "${3:-}" = complete ]; then printf 'v1\n' >"$d/.done"; fi
}
fake_entry linux-image-6.1.0-99-amd64 6.1.0-99-amd64 complete
fake_entry linux-image-6.12.107+deb12-amd64-unsigned 6.12.107+deb12-amd64 complete
fake_entry linux-image-6.0.0-half 6.0.0-half
mkdir -p "$tmp/apt"
cat >"$tmp/apt/apt-cache" <<'EOF_APT'
#!/bin/sh
case $1 in
depends) printf 'linux-image-amd64\n  Depends: linux-image-6.1.0-99-amd64\n' ;;
search) printf '%s - Linux 6.12\n' linux-image-6.12.57+deb12-amd64-unsigned \
	linux-image-6.12.107+deb12-amd64-unsigned linux-image-6.12.107+deb12-cloud-amd64-unsigned \
	linux-image-6.12.99+deb12-amd64-unsigned ;;
policy) shift; for p; do printf '%s:\n  Installed: (none)\n  Candidate: 9.9-test\n' "$p"; done ;;
esac
EOF_APT
chmod +x "$tmp/apt/apt-cache"
# kc ARGS...: mcefwd ARGS with that cache and that apt, and a QEMU that never starts.
kc() {
	lab env PATH="$tmp/apt:$PATH" MCEFWD_LAB_CACHE="$tmp/kc" MCEFWD_QEMU=true "$MCEFWD" "$@"
}
kc lab --kernel=6.1 -- true
expect2 "--kernel=6.1, what linux-image-amd64 depends on, cached: refused before boot, naming the options" 1 err \
	'kernel 6\.1\.0-99-amd64 cannot run the lab \(not booted\)' 'CONFIG_MEMORY_FAILURE'
kc lab --kernel=6.12 -- true
expect2 "--kernel=6.12, the newest apt offers (107, not 99 or 57): refused before boot, naming the options" 1 err \
	'kernel 6\.12\.107\+deb12-amd64 cannot run the lab \(not booted\)' 'CONFIG_KVM_AMD'
kc run hello --kernel=6.12
expect2 "run --kernel=6.12: the same refusal, in its KTAP" 1 out \
	'^not ok 1 hello # lab: kernel 6\.12\.107\+deb12-amd64 cannot run the lab .*CONFIG_MEMORY_FAILURE'
if command -v dpkg-deb >/dev/null 2>&1; then
	mkdir -p "$tmp/deb/DEBIAN" "$tmp/deb/boot"
	printf 'Package: linux-image-6.0.0-deb\nVersion: 1\nArchitecture: amd64\nMaintainer: nobody <nobody@example.org>\nDescription: a test kernel without memory failure\n' \
		>"$tmp/deb/DEBIAN/control"
	head -c 4096 /dev/zero >"$tmp/deb/boot/vmlinuz-6.0.0-deb"
	printf 'CONFIG_X86_64=y\n' >"$tmp/deb/boot/config-6.0.0-deb"
	deb=$tmp/linux-image-6.0.0-deb_1_amd64.deb
	dpkg-deb -b "$tmp/deb" "$deb" >/dev/null 2>&1
	kc lab --kernel "$deb" -- true
	expect2 "--kernel FILE.deb whose config lacks memory failure: refused before boot, naming it" 1 err \
		'kernel 6\.0\.0-deb cannot run the lab \(not booted\)' 'CONFIG_MEMORY_FAILURE'
	kc lab --kernel-deb "$deb" -- true
	expect2 "--kernel-deb FILE: the same" 1 err 'kernel 6\.0\.0-deb cannot run the lab \(not booted\)'
else
	skip "--kernel FILE.deb whose config lacks memory failure" "dpkg-deb is not installed"
	skip "--kernel-deb FILE: the same" "dpkg-deb is not installed"
fi

# --list-kernels: the cache and what apt offers, as text and as JSON.
kc lab --list-kernels
expect2 "--list-kernels: each entry, complete or not, and each series apt offers" 0 out \
	'^Cached kernels \(.*/kc/kernels/v1\):' '^  linux-image-6\.1\.0-99-amd64$' \
	'release 6\.1\.0-99-amd64, .* MiB, complete' '6\.0\.0-half, .*incomplete' \
	'^  6\.1 ' 'linux-image-6\.12\.107\+deb12-amd64-unsigned 9\.9-test, cached'
kc lab --list-kernels --json
cp "$tmp/out" "$tmp/json"
expect_json "--list-kernels --json: version 1, the entries, the series apt offers" 0 '
	.version == 1 and (.cache | endswith("/kc/kernels/v1")) and .truncated == false and
	([.cached[] | {name, release, complete}] == [
		{"name": "linux-image-6.0.0-half", "release": "6.0.0-half", "complete": false},
		{"name": "linux-image-6.1.0-99-amd64", "release": "6.1.0-99-amd64", "complete": true},
		{"name": "linux-image-6.12.107+deb12-amd64-unsigned", "release": "6.12.107+deb12-amd64",
		 "complete": true}]) and
	(.cached | all(.bytes > 0)) and
	([.offered[] | {series, default, ok, package, version, cached, error}] == [
		{"series": "6.1", "default": true, "ok": true, "package": "linux-image-6.1.0-99-amd64",
		 "version": "9.9-test", "cached": true, "error": null},
		{"series": "6.12", "default": false, "ok": true,
		 "package": "linux-image-6.12.107+deb12-amd64-unsigned", "version": "9.9-test",
		 "cached": true, "error": null}])'
# An apt without package lists: the listing stands, each series says why.
printf '#!/bin/sh\necho "E: No packages found" >&2\nexit 100\n' >"$tmp/apt/apt-cache"
kc lab --list-kernels
expect2 "--list-kernels when apt-cache fails: exit 0, the cache listed, apt's failure said" 0 out \
	'^  linux-image-6\.1\.0-99-amd64$' 'apt cannot say: .*no package lists\? as root, apt-get update'
kc lab --list-kernels --json
cp "$tmp/out" "$tmp/json"
expect_json "--list-kernels --json when apt-cache fails: each series not ok, with its error" 0 '
	(.cached | length) == 3 and
	(.offered | length == 2 and all(.ok == false and .package == null and
		(.error | test("No packages found"))))'

# ---- the lab itself (one boot each from here) ---------------------------------------
lab "$MCEFWD" lab -q -- true
lab_why=$(sed -n 's/^mcefwd lab: cannot run here: //p' "$tmp/err")
if [ "$rc" = 4 ] && [ -n "$lab_why" ]; then
	for t in "output, status, directory, environment: stdout" \
		"output, status, directory, environment: stderr" "writes thrown away" "command not found" \
		"timeout" "every /init line known" "silence nudged" "silence stopped" "kernel panic" \
		"SIGINT" "SIGINT to a command that ignores it" "SIGKILL" \
		"--kernel=6.1" "--list-kernels lists it" "run --kernel=6.12" "caps --json" "bench --json" \
		"run --json" "installed"; do
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
# What /init said in those 10 s, "alive" every 2 s among it, is all the lab's.
if grep -q '^# lab: /init went silent\|said something unknown' "$tmp/err" ||
	! grep -q '^# lab: running the command' "$tmp/err"; then
	not_ok "10 s of a command: every line /init says is known, no silence" "$tmp/err"
else
	ok "10 s of a command: every line /init says is known, no silence"
fi

# A command that takes the lab's one CPU from /init (SCHED_FIFO, the real-time
# throttle off) for SECONDS: /init says nothing meanwhile, as when the
# kernel's CPU halts with nothing to wake it.
hog='echo -1 >/proc/sys/kernel/sched_rt_runtime_us && read t _ </proc/uptime &&
exec chrt -f 99 sh -c "end=\$((\${0%.*} + \$1)); while read u _ </proc/uptime && [ \${u%.*} -lt \$end ]; do :; done" "$t" "$1"'
# 13 s: nudged 5 s into the silence (3 to 5 s in: /init speaks every 2 s),
# heard again at 13 to 14 s, well before --silence 30 would stop it.
lab "$MCEFWD" lab --silence 30 -- sh -c "$hog" sh 13
expect2 "/init silent, nudged, heard again: the run goes on (0), the nudge said" 0 err \
	'^# lab: /init went silent 1 time\(s\), for up to 1[0-9] s; a nudge on its serial port was answered within [0-9.]+ s'
lab "$MCEFWD" lab --silence 10 -- sh -c "$hog" sh 60
expect2 "/init silent past --silence, a nudge too: exit 1 naming it, QEMU stopped" 1 err \
	'the kernel stopped: /init silent for 1[0-9] s, a nudge on its serial port did not wake it'

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
# Only a lab that was up, its QEMU running, proves anything by its end.
up=no
grep -q '^ready$' "$tmp/out" && qemu_left && up=yes
kill -KILL $pid
wait $pid 2>/dev/null
for _ in $(seq 20); do
	qemu_left || break
	sleep 0.1
done
if [ $up = no ]; then
	echo "# the lab never said ready with its QEMU running: nothing was killed" >>"$tmp/out"
	cat "$tmp/err" >>"$tmp/out"
	not_ok "SIGKILL to mcefwd lab: its QEMU dies with it" "$tmp/out"
elif qemu_left; then
	pkill -9 -f "qemu-system.*$tmp/t"
	not_ok "SIGKILL to mcefwd lab: its QEMU dies with it" "$tmp/out"
else
	ok "SIGKILL to mcefwd lab: its QEMU dies with it"
fi

# --kernel=6.1 boots Debian 12's kernel, from the cache, and --list-kernels lists it.
lab "$MCEFWD" lab -q --kernel=6.1 -- uname -r
expect2 "--kernel=6.1 -- uname -r: Debian's 6.1 kernel" 0 out '^6\.1\.[0-9]+-[0-9]+-amd64$'
release=$(cat "$tmp/out")
lab "$MCEFWD" lab --list-kernels --json
cp "$tmp/out" "$tmp/json"
expect_json "--list-kernels --json lists the 6.1 kernel that ran, complete, as the 6.1 series' (when apt can say)" 0 '
	.version == 1 and
	([.cached[] | select(.release == $r and .complete and .bytes > 0) | .name]) as $names |
	($names | length) == 1 and
	(.offered[] | select(.series == "6.1") | .default and ((.ok | not) or .package == $names[0]))' \
	--arg r "$release"

# --kernel=6.12: run goes to the lab, runs there once (--kernel has no
# effect inside), and its KTAP names the kernel. Only when the kernel is
# cached: fetching it is a download of about 70 MB.
if jq -e '.offered[] | select(.series == "6.12") | .cached' "$tmp/json" >/dev/null; then
	lab "$MCEFWD" run hello --kernel=6.12
	expect2 "run --kernel=6.12: in the lab on 6.12, named in its KTAP" 0 out \
		'^# on: lab: kernel 6\.12\.[0-9]+\+deb[0-9]+-amd64 \(Debian package ' \
		'^# why the lab: --kernel=6\.12 ' '^ok 1 hello$'
else
	skip "run --kernel=6.12" "the 6.12 kernel apt offers is not cached ('mcefwd lab --kernel 6.12 -- true' fetches it, about 70 MB)"
fi

# --json through the lab is still one JSON document, saying where it ran
# (expect_json, lib.sh, judges $tmp/json).
lab_json() {
	lab "$@"
	cp "$tmp/out" "$tmp/json"
}
lab_json "$MCEFWD" caps --on=lab --json
expect_json "caps --on=lab --json: one document, in the lab, hwpoison available, the lab's kernel release" 0 \
	'.version == 1 and .where.in_lab and .where.on == "host" and
	 ([.poison_methods[] | select(.name == "hwpoison" and .available)] | length == 1) and
	 (.kernel.release as $r | .where.lab.kernel | startswith($r + " ("))'
lab_json "$MCEFWD" bench exit --quick --json --on=lab
expect_json "bench exit --quick --json --on=lab: one document, measured in the lab" 0 \
	'.version == 1 and .mcefwd_bench == 1 and (.host.where | test("^lab: kernel ")) and .benchmarks[0].status == "ok"'
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
