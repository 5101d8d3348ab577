#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Bad input, one test per case (issue 9): every command-line misuse of
# mcefwd and mcefwd-inject exits 2 with a one-line reason and the usage;
# every missing capability exits 4 naming it; a guest that abuses the
# ucall port, points its record outside RAM, floods the console or resets
# from every vCPU at once is stopped with a clear error (the bad-*
# payloads); SIGINT/SIGTERM at several points of a run leave no thread or
# descriptor behind and the state file consistent. TAP output.
#
#   B=build MCEFWD_WRAPPER="valgrind ..." tests/integration/badinput.sh
#
# The capability and leak checks preload tests/integration/badinput-shim.c
# (built here with $CC); under a wrapper they are skipped.
# The plan comes last: how many tests run depends on what the host has
# (KVM, setpriv, huge pages, the poison methods) and on valgrind; make
# check's KTAP leaves it out, as KTAP allows (tests/lib/nest.awk).
set -u

B=${B:-build}
MCEFWD="$B/bin/mcefwd"
INJ="$B/bin/mcefwd-inject"
WRAP=${MCEFWD_WRAPPER:-}
CC=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-bad.XXXXXX")
targets=""
cleanup() {
	stop_targets
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

. "$(dirname "$0")/lib.sh"

# run PROG ARGS...: output (stdout and stderr) in $tmp/out, status in $rc.
run() {
	# shellcheck disable=SC2086
	timeout -k 5 60 $WRAP "$@" >"$tmp/out" 2>&1
	rc=$?
}

# A flood's output, cut to its first and last lines (the verdict is there).
trim_out() {
	if [ "$(wc -l <"$tmp/out")" -gt 40 ]; then
		{ head -20 "$tmp/out"; echo "[...]"; tail -10 "$tmp/out"; } | cut -c1-200 >"$tmp/trim"
		mv "$tmp/trim" "$tmp/out"
	fi
}

# usage_error PROG REASON ARGS...: PROG ARGS exits 2, prints nothing on
# stdout, and on stderr "PROG: <reason matching REASON>" on one line, then
# PROG's usage line.
usage_error() {
	prog=$1 reason=$2
	shift 2
	# shellcheck disable=SC2086
	timeout -k 5 60 $WRAP "$B/bin/$prog" "$@" >"$tmp/stdout" 2>"$tmp/out"
	rc=$?
	desc="$prog $*: usage error"
	if [ "$rc" -ne 2 ]; then
		echo "# exit status $rc, expected 2" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
	elif [ -s "$tmp/stdout" ]; then
		echo "# printed on stdout: $(head -1 "$tmp/stdout")" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
	elif ! head -1 "$tmp/out" | grep -qE -- "^$prog: .*$reason"; then
		echo "# first line is not '$prog: ...$reason...'" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
	elif ! sed -n 2p "$tmp/out" | grep -q "^usage: $prog"; then
		echo "# the reason is not one line followed by the usage" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
	else
		ok "$desc"
	fi
}

# wait_caught PID SIG: waits (up to 5 s) until PID handles SIG itself. A
# background job of a non-interactive shell starts with SIGINT ignored, so
# a signal sent before the program installs its handler would be lost.
wait_caught() {
	case $2 in INT) bit=1 ;; TERM) bit=14 ;; *) return 1 ;; esac
	for _ in $(seq 1 500); do
		cgt=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
		# Not while it is still this shell, forked and not yet exec'd: it
		# then shows the script's own trap, and a signal sent then is lost.
		[ -n "$cgt" ] && [ $((0x$cgt >> bit & 1)) = 1 ] &&
			[ "$(readlink "/proc/$1/exe")" != "$(readlink "/proc/$$/exe")" ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}

kvm_reason=$(kvm_reason)

# ---- make -n check: a dry run ----------------------------------------------
# It prints what it would do and does none of it: no build, no download,
# no suite (the check recipe has no '+', which runs a line even under -n).
if command -v make >/dev/null 2>&1; then
	make -n check B="$tmp/dry" LAB=0 >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q 'tests/run-all.sh$' "$tmp/out" && [ ! -e "$tmp/dry" ]; then
		ok "make -n check prints the suite's command and runs nothing (no $tmp/dry)"
	else
		echo "# exit $rc; $tmp/dry $([ -e "$tmp/dry" ] && echo exists || echo absent)" >>"$tmp/out"
		not_ok "make -n check prints the suite's command and runs nothing" "$tmp/out"
	fi
else
	skip "make -n check is a dry run" "make is not installed"
fi

# ---- command-line misuse: exit 2, one line, the usage ----------------------
usage_error mcefwd "unknown command 'frobnicate'" frobnicate
usage_error mcefwd "'--frobnicate' is unknown" --frobnicate
usage_error mcefwd "-x is unknown" -x
usage_error mcefwd "-x is unknown" -vx run
usage_error mcefwd "'--json=1' is unknown" --json=1 caps
usage_error mcefwd "'--vcpus' needs a value" run --vcpus
usage_error mcefwd "-n needs a value" run -n
usage_error mcefwd "invalid --vcpus ''" run --vcpus=
usage_error mcefwd "invalid --vcpus '-1'" run --vcpus -1
usage_error mcefwd "invalid --vcpus '1e3'" run --vcpus 1e3
usage_error mcefwd "invalid --vcpus '0x'" run --vcpus 0x
usage_error mcefwd "invalid --ram '7M'" run --ram 7M
usage_error mcefwd "invalid --ram '3074M'" run --ram 3074M
usage_error mcefwd "invalid --ram '99999999999999999999G'" run --ram 99999999999999999999G
usage_error mcefwd "invalid --ram '64Q'" run --ram 64Q
usage_error mcefwd "invalid --memory 'bogus'" run --memory bogus
usage_error mcefwd "invalid --mcg-cap 'junk'" run --mcg-cap junk
usage_error mcefwd "invalid --mcg-cap '-1'" run --mcg-cap -1
usage_error mcefwd "invalid --banks '0'" run --banks 0
usage_error mcefwd "invalid --timeout '0'" run --timeout 0
usage_error mcefwd "invalid --timeout 'inf'" run --timeout inf
usage_error mcefwd "invalid --timeout '1.2.3'" run --timeout 1.2.3
usage_error mcefwd "invalid --timeout ''" run --timeout ""
usage_error mcefwd "invalid --timeout '5m'" run --timeout 5m
usage_error mcefwd "invalid --timeout '86400001ms'" run --timeout 86400001ms
usage_error mcefwd "invalid --poison ''" run --poison ""
usage_error mcefwd "invalid --bank '32'" run --bank 32
usage_error mcefwd "invalid --ao-target 'x'" run --ao-target x
usage_error mcefwd "invalid --ao-target '-1'" run --ao-target -1
usage_error mcefwd "invalid --numa-node '1024'" run --numa-node 1024
usage_error mcefwd "invalid --state ''" run --state ""
usage_error mcefwd "invalid --emulated-access 'maybe'" run --emulated-access maybe
usage_error mcefwd "'caps' takes no arguments" caps extra
usage_error mcefwd "'list' takes no arguments" list extra
usage_error mcefwd "'version' takes no arguments" version extra
usage_error mcefwd "no help for 'bogus'" help bogus
usage_error mcefwd "invalid --encoding 'qemu-5'" encodings --encoding qemu-5
usage_error mcefwd "--bank 10: MCG_CAP 0x100010a has only 10 bank" encodings --bank 10
usage_error mcefwd "invalid --gpa 'zz'" encodings --gpa zz
usage_error mcefwd "'encodings' takes no arguments, got 'ar'" encodings ar
usage_error mcefwd "'encodings' takes no --vcpus" encodings --vcpus 2
usage_error mcefwd "--gpa is an option of 'encodings' only" run ar --gpa 0x1000
usage_error mcefwd "no scenario or payload named 'nosuch'" run nosuch
usage_error mcefwd "no scenario or payload named ''" run ""
usage_error mcefwd "no scenario or payload named '-x'" run hello -- -x

usage_error mcefwd-inject "--pid and --addr name the page" --pid 1
usage_error mcefwd-inject "unknown option '--frob'" --frob
usage_error mcefwd-inject "option '--pid' needs a value" --pid
usage_error mcefwd-inject "invalid --pid '0'" --pid 0 --addr 0x1000
usage_error mcefwd-inject "invalid --addr 'zz'" --pid 1 --addr zz
usage_error mcefwd-inject "invalid --size '0'" --pid 1 --addr 0x1000 --size 0
usage_error mcefwd-inject "invalid --hold '-5'" --pid 1 --addr 0x1000 --hold -5
usage_error mcefwd-inject "unexpected argument 'extra'" --pid 1 --addr 0x1000 extra
usage_error mcefwd-inject "--probe takes no target" --probe --pid 1
usage_error mcefwd-inject "--method=uffd acts on the caller" --pid 1 --addr 0x1000 --method uffd
usage_error mcefwd-inject "--qmp needs --gpa" --pid 1 --qmp /tmp/q.sock
usage_error mcefwd-inject "--gpa needs --qmp" --pid 1 --gpa 0x1000
usage_error mcefwd-inject "--addr or --qmp with --gpa, not both" --pid 1 --addr 0x1000 --qmp q --gpa 0
usage_error mcefwd-inject "invalid --gpa 'zz'" --pid 1 --qmp q --gpa zz
usage_error mcefwd-inject "invalid --qmp ''" --pid 1 --qmp "" --gpa 0
usage_error mcefwd-inject "--unpoison-all takes no target" --unpoison-all --qmp q --gpa 0

# ---- guests that are not to be trusted ----------------------------------------
if [ -n "$kvm_reason" ]; then
	for t in bad-ucall bad-console bad-reset "missing capabilities" "interrupted runs"; do
		skip "$t on /dev/kvm" "$kvm_reason"
	done
	tap_done
	exit
fi

ucall=$(test_guest bad-ucall)
ucall_re=$(re "$ucall")
ucall_case() {
	run "$MCEFWD" run "$ucall" --vcpus "$1" --timeout 10
	shift
	expect "$@"
}
ucall_case 1 "bad-ucall: garbage on the ucall port stops the run" 1 \
	'^not ok 1 '"$ucall_re"' # vcpu-0: bad ucall: ucall record at gpa 0x[0-9a-f]+ has bad magic 0xa5a5a5a5'
ucall_case 2 "bad-ucall: a record of unknown type stops the run" 1 \
	'^not ok 1 '"$ucall_re"' # vcpu-0: bad ucall: .* has unknown type 7085'
ucall_case 3 "bad-ucall: a record lying about its sender stops the run" 1 \
	'^not ok 1 '"$ucall_re"' # vcpu-0: bad ucall: ucall record from vcpu-0 claims to come from vcpu 5'
ucall_case 4 "bad-ucall: an MCE record claiming 1000 banks stops the run" 1 \
	'^not ok 1 '"$ucall_re"' # vcpu-0: bad ucall: MCE record claims 1000 banks \(max 32\)'
ucall_case 5 "bad-ucall: a report neither pass nor fail stops the run" 1 \
	'^not ok 1 '"$ucall_re"' # vcpu-0: bad ucall: report record has pass=7'
ucall_case 6 "bad-ucall: an 8-bit write to the ucall port stops the run" 1 \
	'^not ok 1 '"$ucall_re"' # vcpu-0: unexpected out of 1 byte\(s\) x1 on port 0xf0'
ucall_case 7 "bad-ucall: a read from the ucall port stops the run" 1 \
	'^not ok 1 '"$ucall_re"' # vcpu-0: unexpected in of 4 byte\(s\) x1 on port 0xf0'
ucall_case 8 "bad-ucall: text without a NUL is printed cut at 199 bytes, nothing read past it" 0 \
	'^# vcpu-0: x{199}$' '^ok 1 '"$ucall_re"'$'
ucall_case 9 "bad-ucall: a record beyond guest RAM stops the run" 1 \
	'^not ok 1 '"$ucall_re"' # vcpu-0: bad ucall: ucall record at gpa 0xfffff000 is not inside guest RAM'
ucall_case 10 "bad-ucall: a record running across the end of RAM stops the run" 1 \
	'^not ok 1 '"$ucall_re"' # vcpu-0: bad ucall: ucall record at gpa 0x3fffff0 is not inside guest RAM'

console=$(test_guest bad-console)
for c in 1 2 3 4 5; do
	case $c in
	1) what="console bytes without a newline" ;;
	2) what="console newlines" ;;
	3) what="empty PRINT records" ;;
	4) what="failing reports" ;;
	5) what="full-length PRINT records" ;;
	esac
	# Unloaded, each flood trips the 64 KiB limit in a second or two: the
	# generous timeout only keeps a busy host from turning a pass into
	# a timeout (the expected line names the flood, never the timeout).
	run "$MCEFWD" run "$console" --vcpus $c --timeout 40
	trim_out
	expect "bad-console: a flood of $what is stopped, not waited out" 1 \
		'^not ok 1 '"$(re "$console")"' # vcpu-0: guest flooded the console \(more than 64 KiB\): stopped'
done

# Two resets at once used to wait for each other forever, past the
# watchdog: a short outer timeout turns that into a failure.
# About one run in eight hit it on 2 vCPUs: 40 runs, 2 and 4 vCPUs (5
# under a wrapper, which runs one thread at a time anyway).
runs=40
[ -n "$WRAP" ] && runs=5
reset=$(test_guest bad-reset)
i=0
rc=0
while [ $i -lt $runs ] && [ "$rc" -eq 0 ]; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	timeout -k 2 15 $WRAP "$MCEFWD" run "$reset" --vcpus $((2 + i % 2 * 2)) --timeout 5 \
		>"$tmp/out" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && ! grep -qE "^ok 1 $(re "$reset")\$" "$tmp/out" && rc=1
done
desc="bad-reset: every vCPU asking for a reset at once, $runs runs: served one after the other"
if [ "$rc" -eq 0 ]; then
	ok "$desc"
else
	echo "# run $i of $runs: exit status $rc (124 or 137: hung past its own watchdog)" >>"$tmp/out"
	not_ok "$desc" "$tmp/out"
fi

# ---- missing capabilities: exit 4, naming what is missing -------------------
# --on=host: this host's KVM or nothing (auto would go to the lab).
if [ -z "$WRAP" ] && unshare -m true 2>/dev/null; then
	run unshare -m sh -c 'mount -t tmpfs tmpfs /dev && exec "$@"' sh "$MCEFWD" run hello --on=host
	expect "no /dev/kvm, --on=host: exit 4 naming it" 4 '^ok 1 hello # SKIP .*/dev/kvm'
	# Nothing but the decision: auto would send the command to the lab.
	run unshare -m sh -c 'mount -t tmpfs tmpfs /dev && exec "$@"' sh env -u MCEFWD_ON \
		-u MCEFWD_LAB_KERNEL "$MCEFWD" where --json
	if [ "$rc" = 0 ] && jq -e '.where.on == "lab" and (.where.why | test("/dev/kvm is missing"))' \
		"$tmp/out" >/dev/null; then
		ok "no /dev/kvm: --on=auto decides for the lab, naming what is missing"
	else
		not_ok "no /dev/kvm: --on=auto decides for the lab, naming what is missing" "$tmp/out"
	fi
else
	skip "no /dev/kvm, --on=host: exit 4 naming it" "needs unshare -m (root) and no wrapper"
	skip "no /dev/kvm: --on=auto decides for the lab" "needs unshare -m (root) and no wrapper"
fi
if [ -z "$WRAP" ] && [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
   [ "$(stat -c %a /dev/kvm)" = 600 ]; then
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$MCEFWD" run hello --on=host
	expect "/dev/kvm not permitted, --on=host: exit 4 naming it and what to do" 4 \
		'^ok 1 hello # SKIP cannot open /dev/kvm: Permission denied; run as root or add your user'
else
	skip "/dev/kvm not permitted: exit 4 naming it" "needs root, setpriv and a /dev/kvm only root may open"
fi
run "$MCEFWD" run ar --poison=hwpoison
if method_available hwpoison; then
	skip "--poison=hwpoison where the host lacks it" "this host has it"
else
	expect "--poison=hwpoison where the host lacks it: exit 4 naming what is missing" 4 \
		'^ok 1 ar # SKIP hwpoison: (kernel without memory-failure support|needs CAP_SYS_ADMIN)'
fi

# The shim is built here, natively; a wrapper (valgrind) cannot preload it.
# A build failure is a failure, never a quiet skip.
shim=""
shim_why="needs the LD_PRELOAD shim, which cannot run under ${WRAP%% *}"
if [ -z "$WRAP" ]; then
	if $CC -shared -fPIC -O2 -I. -o "$tmp/shim.so" \
		tests/integration/badinput-shim.c -ldl >"$tmp/out" 2>&1; then
		shim="$tmp/shim.so"
	else
		not_ok "building tests/integration/badinput-shim.c with $CC" "$tmp/out"
		shim_why="the LD_PRELOAD shim did not build (see above)"
	fi
fi
# A sanitizer runtime must come first; the shim only wraps ioctl and exit.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
if [ -n "$shim" ]; then
	run env LD_PRELOAD="$shim" MCEFWD_SHIM_NO_CAPS=MCE "$MCEFWD" run hello
	expect "KVM without KVM_CAP_MCE: exit 4 naming it" 4 '^ok 1 hello # SKIP .*KVM_CAP_MCE'
	run env LD_PRELOAD="$shim" MCEFWD_SHIM_NO_CAPS=MCE "$MCEFWD" run ar --poison=signal
	expect "a scenario on KVM without KVM_CAP_MCE: exit 4 naming it" 4 '^ok 1 ar # SKIP .*KVM_CAP_MCE'
	run env LD_PRELOAD="$shim" MCEFWD_SHIM_NO_CAPS=IMMEDIATE_EXIT "$MCEFWD" run hello smp
	expect "KVM without KVM_CAP_IMMEDIATE_EXIT: kicks fall back to KVM_SET_SIGNAL_MASK, said once per test" 0 \
		'^ok 1 hello$' '^ok 2 smp$' 'KVM_CAP_IMMEDIATE_EXIT is missing: kicking with KVM_SET_SIGNAL_MASK'
else
	skip "KVM without KVM_CAP_MCE / KVM_CAP_IMMEDIATE_EXIT" "$shim_why"
fi
# Guest RAM of huge pages the host has not reserved.
free_hp=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
if [ -z "$WRAP" ] && [ -n "$free_hp" ] && [ "$free_hp" -lt 1536 ]; then
	need=$(((free_hp + 4) / 4 * 4 * 2))
	[ "$need" -lt 8 ] && need=8
	run "$MCEFWD" run hello --memory=hugetlb --ram "${need}M"
	expect "hugetlb guest RAM of ${need} MiB with $free_hp huge page(s) free: exit 4 naming them" 4 \
		'^ok 1 hello # SKIP .*huge pages.*reserve them'
elif [ -n "$WRAP" ]; then
	skip "hugetlb guest RAM with too few huge pages" "runs without a wrapper"
else
	skip "hugetlb guest RAM with too few huge pages" "$free_hp huge pages free: cannot ask for more than 3G"
fi

# ---- interrupted runs -----------------------------------------------------------
# audit_clean: $tmp/audit (the shim's, at exit) shows no thread but the main
# one (a sanitizer's own aside: then no vcpu-N thread) and no descriptor.
audit_clean() {
	! grep -q '^fd ' "$tmp/audit" &&
	[ "$(sed -n 's/^vcpu-threads //p' "$tmp/audit")" = 0 ] &&
	{ grep -q '^sanitizer ' "$tmp/audit" || [ "$(sed -n 's/^threads //p' "$tmp/audit")" = 1 ]; }
}

# interrupted SIG DELAY DESC ARGS...: SIG after DELAY seconds ends the run
# within 10 s, as a failure that says so, with one thread and none of its
# descriptors left when it exits.
interrupted() {
	sig=$1 delay=$2 desc=$3
	shift 3
	rm -f "$tmp/audit"
	env LD_PRELOAD="$shim" MCEFWD_SHIM_AUDIT="$tmp/audit" \
		"$MCEFWD" run "$@" >"$tmp/out" 2>&1 &
	pid=$!
	wait_caught $pid "$sig"
	sleep "$delay"
	kill -"$sig" $pid
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 $pid 2>/dev/null; then
		gdb -batch -ex 'thread apply all bt' -p $pid >>"$tmp/out" 2>&1
		kill -9 $pid
		wait $pid
		echo "# still running 10 s after SIG$sig" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
		return
	fi
	wait $pid
	rc=$?
	cat "$tmp/audit" >>"$tmp/out" 2>/dev/null
	if [ "$rc" -ne 1 ] || ! grep -qE 'interrupted' "$tmp/out"; then
		echo "# exit status $rc, expected 1 and the word 'interrupted'" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
	elif ! audit_clean; then
		echo "# left behind at exit (above)" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
	elif grep -q 'could not unpoison' "$tmp/out"; then
		not_ok "$desc" "$tmp/out"
	else
		ok "$desc"
	fi
}
if [ -z "$WRAP" ] && [ -n "$shim" ]; then
	interrupted INT 0.3 "SIGINT while 4 vCPUs spin: stopped, nothing left open" spin --vcpus 4
	interrupted TERM 0.3 "SIGTERM while 3 vCPUs halt (kick=sigmask): stopped, nothing left open" \
		"$(test_guest idle)" --vcpus 3 --kick sigmask
	interrupted INT 0 "SIGINT as soon as it is caught: nothing left open" smp spin
	interrupted INT 0.05 "SIGINT between tests: the rest not run, nothing left open" \
		hello smp spin spin
	# A method that really poisons guest pages, whichever this host has
	# (uffd from Linux 6.6; hwpoison where memory failure is built in).
	pm=""
	for m in hwpoison uffd; do
		method_available $m && pm=$m && break
	done
	if [ -n "$pm" ]; then
		interrupted INT 0.1 "SIGINT amid $pm-poisoned scenarios: every page unpoisoned, nothing left open" \
			ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar ar \
			--poison="$pm" --emulated-access=forward
	else
		skip "SIGINT amid poisoned scenarios" "neither uffd (Linux 6.6) nor hwpoison (CONFIG_MEMORY_FAILURE) is available here: $(method_why uffd)"
	fi
	interrupted TERM 0.1 "SIGTERM amid signal-method scenarios: nothing left open" \
		burst ao ar overflow broadcast reset burst ao ar overflow broadcast reset burst ao ar \
		overflow broadcast reset burst ao ar overflow broadcast reset --poison=signal
else
	skip "interrupted mcefwd runs" "$shim_why"
fi

# mcefwd-inject with fake debugfs files (nothing is really poisoned): SIGINT
# or SIGTERM at several points; the state file must then list exactly the
# frames the run said it left poisoned, and --unpoison-all must read it.
start_target T
target_pid=$T_pid
fake_trees "$tmp/fake"
for point in "INT 0" "TERM 0.02" "INT hold" "TERM hold"; do
	set -- $point
	sig=$1 when=$2
	st="$tmp/state.$sig.$when"
	desc="mcefwd-inject, SIG$sig at $when: the state file lists exactly what was left poisoned"
	rm -f "$tmp/fake/debug/hwpoison/unpoison-pfn" "$tmp/audit"
	env MCEFWD_DEBUGFS="$tmp/fake/debug" MCEFWD_PROCFS="$tmp/fake/proc" \
		${shim:+LD_PRELOAD="$shim" MCEFWD_SHIM_AUDIT="$tmp/audit"} \
		"$INJ" --pid "$target_pid" --any-process --addr "$T_anon" --state "$st" >"$tmp/out" 2>&1 &
	pid=$!
	wait_caught $pid "$sig"
	if [ "$when" = hold ]; then
		for _ in $(seq 1 100); do
			grep -q '^holding until SIGINT' "$tmp/out" && break
			sleep 0.1
		done
	else
		sleep "$when"
	fi
	kill -"$sig" $pid
	wait $pid
	status=$?
	# It ran, on the fake files, against a live target: else the two empty
	# lists below would agree about nothing.
	if [ $status -ge 126 ] || ! grep -q '^mcefwd-inject: MCEFWD_DEBUGFS=' "$tmp/out" ||
	   [ -z "${T_anon:-}" ] || ! kill -0 "$target_pid" 2>/dev/null; then
		echo "# exit $status; target ${T_anon:-(no address)}, pid $target_pid $(kill -0 "$target_pid" 2>/dev/null && echo alive || echo gone)" >>"$tmp/out"
		not_ok "$desc: mcefwd-inject did not run against its target" "$tmp/out"
		continue
	fi
	# Frames the file leaves poisoned against those the output says are.
	left=$(sed -n 's/^left poisoned: pfn \(0x[0-9a-f]*\).*/\1/p' "$tmp/out" | sort)
	recorded=""
	if [ -e "$st" ]; then
		recorded=$(awk '$1 == "poisoned" { split($2, a, "="); p[a[2]] = 1 }
			$1 == "unpoisoned" { split($2, a, "="); delete p[a[2]] }
			END { for (k in p) print k }' "$st" | sort)
	fi
	if [ -e "$st" ] && [ -n "$(tail -c 1 "$st")" ]; then
		echo "# the state file ends in a torn line" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
	elif [ "$left" != "$recorded" ]; then
		echo "# said left poisoned: $left; the state file: $recorded" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
	elif [ -n "$shim" ] && [ -e "$tmp/audit" ] && ! audit_clean; then
		cat "$tmp/audit" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
	else
		ok "$desc"
	fi
	if [ -e "$st" ]; then
		: >"$tmp/fake/debug/hwpoison/unpoison-pfn"
		run env MCEFWD_DEBUGFS="$tmp/fake/debug" MCEFWD_PROCFS="$tmp/fake/proc" \
			"$INJ" --unpoison-all --state "$st"
		expect "mcefwd-inject, SIG$sig at $when: --unpoison-all reads the state file and clears it" 0 \
			"$(echo "$recorded" | grep -c .) frame\\(s\\) still poisoned"
	fi
done
stop_targets
tap_done
