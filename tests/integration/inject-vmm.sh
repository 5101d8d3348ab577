#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# mcefwd-inject hits only guest RAM of a KVM VMM (issue 18): a target must
# hold a KVM VM and the address be its guest RAM, proven through QEMU's QMP
# (a fake monitor served by build/tests/integration/poison-target --qmp,
# and a real QEMU where there is one, dry runs only) or by the name mcefwd
# gives its RAM (poison-target's, and a running mcefwd's); the target is
# pinned from the first check to the write, and the page is checked again
# after it. Between the look-up and the write MCEFWD_INJECT_HOOK (a FIFO,
# fake debugfs only) lets this script change the target: remap or free the
# page, end the process, reuse its PID. Nothing is poisoned: every debugfs
# write goes to a file in a temporary directory. TAP output.
#
#   B=build MCEFWD_WRAPPER="valgrind ..." tests/integration/inject-vmm.sh
set -u

B=${B:-build}
INJ="$B/bin/mcefwd-inject"
MCEFWD="$B/bin/mcefwd"
WRAP=${MCEFWD_WRAPPER:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-injvmm.XXXXXX")
targets=""
qemu_pid=""
cleanup() {
	stop_targets
	[ -n "$qemu_pid" ] && stop_target "$qemu_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

. "$(dirname "$0")/lib.sh"


hex() {
	printf '0x%x\n' "$1"
}

# held ARGS...: mcefwd-inject ARGS in the background on the fake trees, with
# the hook FIFO; returns once it waits there ($tmp/held: its output, $inj_pid).
held() {
	# Gone first: a background job truncates its output only once it runs.
	rm -f "$tmp/hook" "$tmp/held"
	mkfifo "$tmp/hook"
	# shellcheck disable=SC2086
	MCEFWD_INJECT_HOOK="$tmp/hook" $WRAP "$INJ" "$@" >"$tmp/held" 2>&1 &
	inj_pid=$!
	for _ in $(seq 1 200); do
		grep -q '^hook: ' "$tmp/held" 2>/dev/null && return 0
		kill -0 $inj_pid 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# release: lets the held injector go on; its status in $rc, output in $tmp/out.
release() {
	# Bounded: an injector that has exited never opens the FIFO.
	timeout 10 sh -c 'echo go >"$1"' sh "$tmp/hook"
	wait "$inj_pid"
	rc=$?
	cp "$tmp/held" "$tmp/out"
}

# wait_line FILE PATTERN: up to 5 s for a line of FILE matching PATTERN.
wait_line() {
	for _ in $(seq 1 100); do
		grep -q "$2" "$1" && return 0
		sleep 0.05
	done
	return 1
}

# written FILE: what the fake debugfs file holds (the last frame written).
written() {
	cat "$tmp/fake/debug/hwpoison/$1" 2>/dev/null
}

fake_trees "$tmp/fake"
export MCEFWD_DEBUGFS="$tmp/fake/debug" MCEFWD_PROCFS="$tmp/fake/proc"
hw="$tmp/fake/debug/hwpoison"

kvm_why=$(kvm_reason)
if [ -z "$kvm_why" ] && ! start_target K --kvm --qmp "$tmp/q.sock"; then
	kvm_why="/dev/kvm cannot make a VM here (KVM_CREATE_VM failed)"
fi
if [ -n "$kvm_why" ]; then
	skip "every test of a KVM VMM target" "$kvm_why"
	tap_done
	exit
fi
start_target A

# ---- what is a VMM, what is its guest RAM ------------------------------------
inj --pid "$K_pid" --addr "$(hex $((K_ram + 0x10)))" --dry-run
expect "a KVM VM holder's RAM named as mcefwd names it: allowed, without --any-process" 0 \
	"^pid $K_pid is a KVM VMM \\(fd [0-9]+ is anon_inode:kvm-vm\\)" \
	"^$K_ram\\+0x1000 is in its guest RAM" "^pid $K_pid $K_ram\\+0x1000: allowed"
inj --pid "$K_pid" --addr "$K_anon" --dry-run
expect "a VMM's anonymous memory that is not named guest RAM is refused" 1 \
	"refused: $K_anon\\+0x1000 of pid $K_pid is in the unnamed mapping .*, not guest RAM" \
	'for QEMU give --qmp SOCKET --gpa GPA'
inj --pid "$K_pid" --addr "$K_mchunk" --dry-run
expect "a malloc'd (mmap'd) chunk of a VMM is refused: not guest RAM" 1 \
	"refused: $K_mchunk\\+0x1000 of pid $K_pid is in the unnamed mapping"
inj --pid "$K_pid" --addr "$K_tstack" --dry-run
expect "a thread's stack of a VMM is refused by the rules" 1 "refused: $K_tstack is in the stack of thread"
inj --pid "$K_pid" --addr "$K_heap" --dry-run --any-process
expect "--any-process still applies every rule (the heap)" 1 'refused: .* is in \[heap\]'
inj --pid "$K_pid" --addr "$(hex $((K_ram + 0x3000)))" --size 8192 --dry-run
expect "a range past the end of the named RAM is refused" 1 'crosses the end of /memfd:mcefwd-guest-ram'

# ---- QEMU's word: --qmp SOCKET --gpa GPA (a fake monitor) ----------------------
inj --pid "$K_pid" --qmp "$tmp/q.sock" --gpa 0x1010 --dry-run
expect "--qmp --gpa: gpa2hva's address, an unaligned one its page, events skipped" 0 \
	"^QEMU pid $K_pid: gpa 0x1010 is $(hex $((K_ram + 0x10))) in its RAM block pc.ram\$" \
	"^pid $K_pid $K_ram\\+0x1000: allowed"
inj --pid "$K_pid" --qmp "$tmp/q.sock" --gpa 0x3000 --dry-run
expect "--qmp --gpa: what gpa2hva says is still judged by every rule (the heap)" 1 \
	'refused: .* is in \[heap\]'
inj --pid "$K_pid" --qmp "$tmp/q.sock" --gpa 0x9000 --dry-run
expect "--qmp --gpa: QEMU's own refusal is passed on" 1 \
	"QEMU's gpa2hva 0x9000: No memory is mapped at address 0x9000"
inj --pid "$A_pid" --qmp "$tmp/q.sock" --gpa 0x1000 --dry-run --any-process
expect "--qmp: a socket not served by --pid is refused (SO_PEERCRED)" 1 \
	"refused: QMP socket .*q.sock is served by pid $K_pid, not the target $A_pid"
inj --pid "$K_pid" --qmp "$tmp/nosuch.sock" --gpa 0x1000 --dry-run
expect "--qmp: no socket says how to make one" 1 \
	'nosuch.sock: No such file or directory: start QEMU with -qmp unix:PATH,server=on,wait=off'

# What mcefwd --vmm=qemu runs: poison, record, exit leaving it poisoned; later undo.
st="$tmp/state.qemu"
inj --pid "$K_pid" --qmp "$tmp/q.sock" --gpa 0x1000 --method pfn --ar --keep --state "$st"
expect "mcefwd --vmm=qemu's call: poisoned, recorded, left poisoned with --keep" 0 \
	"^poisoned pfn 0x[0-9a-f]+ \\(pid $K_pid, $K_ram\\) with pfn" '^--keep: left poisoned'
: >"$hw/unpoison-pfn"
inj --unpoison-all --state "$st"
expect "... and its --unpoison-all --state FILE undoes it" 0 '1 frame\(s\) still poisoned, 1 undone'

# ---- the proof held until the write (hook between look-up and write) ----------
# The page remapped (a fresh anonymous page over the named RAM).
start_target R --kvm
: >"$hw/corrupt-pfn"
: >"$hw/unpoison-pfn"
st="$tmp/state.remap"
if held --pid "$R_pid" --addr "$R_ram" --keep --state "$st"; then
	kill -USR1 "$R_pid"
	wait_line "$tmp/target.R" '^remapped'
	release
	pfn=$(sed -n 's/^poisoned pfn \(0x[0-9a-f]*\) .*/\1/p' "$tmp/out")
	expect "a page remapped between look-up and write: a MISMATCH, said and undone at once" 1 \
		"MISMATCH after writing pfn $pfn for $R_ram of pid $R_pid: $R_ram is now in a mapping of kind anon, not the memfd mapping /memfd:mcefwd-guest-ram" \
		"^unpoisoned pfn $pfn"
	if [ -n "$pfn" ] && [ "$(written unpoison-pfn)" = "$pfn" ] &&
	   [ "$(tail -n 1 "$st")" = "unpoisoned pfn=$pfn" ]; then
		ok "the mismatched frame went to unpoison-pfn, and the state file says so"
	else
		{ echo "unpoison-pfn: $(written unpoison-pfn)"; cat "$st"; } >"$tmp/out"
		not_ok "the mismatched frame went to unpoison-pfn, and the state file says so" "$tmp/out"
	fi
else
	not_ok "a page remapped between look-up and write: the injector never reached the hook" "$tmp/held"
fi
stop_target "$R_pid"

# The page freed (its memfd page punched out).
start_target R --kvm
st="$tmp/state.free"
if held --pid "$R_pid" --addr "$R_ram" --keep --state "$st"; then
	kill -USR2 "$R_pid"
	wait_line "$tmp/target.R" '^freed'
	release
	expect "a page freed between look-up and write: a MISMATCH, said and undone at once" 1 \
		"MISMATCH after writing pfn 0x[0-9a-f]+ for $R_ram of pid $R_pid: $R_ram is no longer in memory \\(freed\\)" \
		'^unpoisoned pfn 0x'
else
	not_ok "a page freed between look-up and write: the injector never reached the hook" "$tmp/held"
fi
stop_target "$R_pid"

# The target gone: nothing may be written at all.
start_target R --kvm
: >"$hw/corrupt-pfn"
st="$tmp/state.exit"
if held --pid "$R_pid" --addr "$R_ram" --keep --state "$st"; then
	stop_target "$R_pid"
	release
	expect "a target that exits between check and write: not written, the run fails" 1 \
		"not writing pfn 0x[0-9a-f]+: pid $R_pid has exited"
	if [ -s "$hw/corrupt-pfn" ] || grep -q '^poisoned' "$st" 2>/dev/null; then
		echo "corrupt-pfn: $(written corrupt-pfn)" >"$tmp/out"
		not_ok "nothing reached corrupt-pfn for a target that exited" "$tmp/out"
	else
		ok "nothing reached corrupt-pfn for a target that exited"
	fi
else
	not_ok "a target that exits between check and write: the injector never reached the hook" "$tmp/held"
fi

# Its PID reused by another process: in a PID namespace of our own, where
# ns_last_pid is ours to set, the next process gets the dead one's PID.
if [ -z "$WRAP" ] && [ "$(id -u)" = 0 ] &&
   unshare --pid --fork --kill-child --mount-proc true 2>/dev/null; then
	timeout -k 5 60 unshare --pid --fork --kill-child --mount-proc \
		env B="$B" INJ="$INJ" T="$tmp" sh -c '
		t="$B/tests/integration/poison-target"
		"$t" >"$T/reuse.t1" & p1=$!
		while [ ! -s "$T/reuse.t1" ]; do sleep 0.05; done
		eval "$(head -n 1 "$T/reuse.t1" | tr " " "\n" | sed "s/^/R_/")"
		rm -f "$T/hook"; mkfifo "$T/hook"
		MCEFWD_INJECT_HOOK="$T/hook" "$INJ" --pid $p1 --addr "$R_anon" --any-process \
			--keep --state "$T/state.reuse" >"$T/reuse.out" 2>&1 & ip=$!
		while ! grep -q "^hook: " "$T/reuse.out"; do sleep 0.05; done
		kill $p1; wait $p1
		echo $((p1 - 1)) >/proc/sys/kernel/ns_last_pid
		"$t" >"$T/reuse.t2" & p2=$!
		while [ ! -s "$T/reuse.t2" ]; do sleep 0.05; done
		echo go >"$T/hook"; wait $ip; echo "exit $? first $p1 second $p2" >>"$T/reuse.out"
		kill $p2; wait $p2' >/dev/null 2>&1
	cp "$tmp/reuse.out" "$tmp/out" 2>/dev/null || echo "# the namespace run left no output" >"$tmp/out"
	rc=0
	p1=$(sed -n 's/^exit [0-9]* first \([0-9]*\) second .*/\1/p' "$tmp/out")
	p2=$(sed -n 's/^exit [0-9]* first [0-9]* second \([0-9]*\)/\1/p' "$tmp/out")
	if [ -z "$p1" ] || [ "$p1" != "$p2" ]; then
		not_ok "a PID reused between check and write: the PID was not reused ($p1, $p2)" "$tmp/out"
	else
		expect "a PID reused between check and write: not written, the run fails" 0 \
			"^exit 1 first $p1 second $p1\$" \
			"not writing pfn 0x[0-9a-f]+: pid $p1 (has exited|is another process now)"
	fi
else
	skip "a PID reused between check and write" "needs root, unshare --pid and no wrapper"
fi

# ---- the hwpoison filter, narrowed and put back -------------------------------
# The frame's memory cgroup, as a fake /proc/kpagecgroup gives it (4242), and
# corrupt-pfn a FIFO: the injector blocks opening it, with the filter set.
pfn_of() {
	e=$(dd if="/proc/$1/pagemap" bs=8 skip=$(($2 / 4096)) count=1 2>/dev/null | od -An -tx8 | tr -d ' \n')
	printf '%d\n' "0x$(printf '%s' "$e" | tail -c 14)"
}
pfn=$(( $(pfn_of "$K_pid" "$K_ram") & 0x7fffffffffffff ))
printf '\222\020\0\0\0\0\0\0' | dd of="$tmp/fake/proc/kpagecgroup" bs=8 seek="$pfn" conv=notrunc 2>/dev/null
echo 0 >"$hw/corrupt-filter-enable"
echo 77 >"$hw/corrupt-filter-memcg"
rm -f "$hw/corrupt-pfn"
mkfifo "$hw/corrupt-pfn"
# shellcheck disable=SC2086
rm -f "$tmp/held"
$WRAP "$INJ" --pid "$K_pid" --addr "$K_ram" --keep --state "$tmp/state.filter" >"$tmp/held" 2>&1 &
inj_pid=$!
armed=""
for _ in $(seq 1 200); do
	[ "$(cat "$hw/corrupt-filter-enable")" = 1 ] && { armed="$(cat "$hw/corrupt-filter-memcg")"; break; }
	kill -0 $inj_pid 2>/dev/null || break
	sleep 0.05
done
got=$(timeout 10 cat "$hw/corrupt-pfn")
wait $inj_pid
rc=$?
cp "$tmp/held" "$tmp/out"
expect "the write is narrowed by corrupt-filter-memcg to the frame's cgroup" 0 \
	'^hwpoison filter: corrupt-filter-memcg=4242 \(the frame.s memory cgroup\)'
if [ "$armed" = 4242 ] && [ "$got" = "$(hex "$pfn")" ] &&
   [ "$(cat "$hw/corrupt-filter-enable")" = 0 ] && [ "$(cat "$hw/corrupt-filter-memcg")" = 77 ]; then
	ok "during the write the filter was on at cgroup 4242; after it, back to off and 77"
else
	echo "# during: memcg '$armed', written '$got' (pfn $(hex "$pfn")); after: enable $(cat "$hw/corrupt-filter-enable"), memcg $(cat "$hw/corrupt-filter-memcg")" >>"$tmp/out"
	not_ok "during the write the filter was on at cgroup 4242; after it, back to off and 77" "$tmp/out"
fi
rm -f "$hw/corrupt-pfn"
: >"$hw/corrupt-pfn"
echo 1 >"$hw/corrupt-filter-enable"
inj --pid "$K_pid" --addr "$K_ram" --keep --state "$tmp/state.filter"
expect "a hwpoison filter already on (someone else's) is left alone and nothing is written" 1 \
	'corrupt-filter-enable is 1: a hwpoison filter is already set'
if [ -s "$hw/corrupt-pfn" ] || [ "$(cat "$hw/corrupt-filter-memcg")" != 77 ]; then
	not_ok "... corrupt-pfn and the filter untouched" "$tmp/out"
else
	ok "... corrupt-pfn and the filter untouched"
fi
rm -f "$hw"/corrupt-filter-*

# A write the kernel dropped: /proc/kpageflags shows the frame not poisoned.
dd if=/dev/zero of="$tmp/fake/proc/kpageflags" bs=8 seek="$pfn" count=1 2>/dev/null
inj --pid "$K_pid" --addr "$K_ram" --keep --state "$tmp/state.dropped"
expect "a write the kernel dropped (KPF_HWPOISON clear) is said, and recorded as undone" 1 \
	"pfn $(hex "$pfn") is not poisoned after the write: the kernel dropped it"
rm -f "$tmp/fake/proc/kpageflags"

# ---- mcefwd itself as the target ------------------------------------------------
# Its guest RAM: memfd RAM is named by its file; anonymous RAM by
# PR_SET_VMA_ANON_NAME where the kernel has CONFIG_ANON_VMA_NAME.
for mem in memfd anon; do
	"$MCEFWD" run "$(test_guest idle)" --memory=$mem --timeout 30 >"$tmp/mcefwd.out" 2>&1 &
	m_pid=$!
	targets="$targets $m_pid"
	ram=""
	for _ in $(seq 1 100); do
		ram=$(awk '/mcefwd-guest-ram/ { split($1, a, "-"); print "0x" a[1]; exit }' "/proc/$m_pid/maps" 2>/dev/null)
		[ -n "$ram" ] && break
		sleep 0.05
	done
	if [ -z "$ram" ] && [ $mem = anon ]; then
		skip "mcefwd --memory=anon as the target: its RAM by name" "this kernel cannot name anonymous memory (CONFIG_ANON_VMA_NAME)"
	elif [ -z "$ram" ]; then
		not_ok "mcefwd --memory=$mem as the target: no mapping named mcefwd-guest-ram" "$tmp/mcefwd.out"
	else
		# The payload is loaded at gpa 0x100000: that page is present.
		inj --pid "$m_pid" --addr "$(hex $((ram + 0x100000)))" --dry-run
		expect "mcefwd --memory=$mem as the target: its guest RAM is allowed by name" 0 \
			"^pid $m_pid is a KVM VMM" "in its guest RAM, named as mcefwd names it"
		# Memory the rules allow (--any-process) that is not guest RAM.
		other=""
		for a in $(awk '$6 == "" && $2 == "rw-p" { split($1, a, "-"); print "0x" a[1] }' "/proc/$m_pid/maps" | head -n 20); do
			inj --pid "$m_pid" --addr "$a" --dry-run --any-process
			[ $rc = 0 ] && { other=$a; break; }
		done
		inj --pid "$m_pid" --addr "${other:-0x1000}" --dry-run
		expect "mcefwd --memory=$mem as the target: its other anonymous memory ($other) is refused" 1 \
			"refused: ${other:-none found}\\+0x1000 of pid $m_pid is in the unnamed mapping .*, not guest RAM"
	fi
	stop_target "$m_pid"
done

# ---- a real QEMU (dry runs: nothing is poisoned) --------------------------------
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	skip "a real QEMU through QMP" "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
else
	qemu-system-x86_64 -accel kvm -machine microvm -nodefaults -display none -m 16M \
		-qmp "unix:$tmp/qemu.sock,server=on,wait=off" >"$tmp/qemu.out" 2>&1 &
	qemu_pid=$!
	for _ in $(seq 1 100); do
		[ -S "$tmp/qemu.sock" ] && break
		kill -0 $qemu_pid 2>/dev/null || break
		sleep 0.05
	done
	# The last page below 4 GiB holds the BIOS QEMU loaded: always present.
	inj --pid "$qemu_pid" --qmp "$tmp/qemu.sock" --gpa 0xfffff010 --dry-run
	expect "a real QEMU: gpa2hva through QMP, a KVM VMM, allowed (dry run)" 0 \
		"^QEMU pid $qemu_pid: gpa 0xfffff010 is 0x[0-9a-f]+ in its RAM block " \
		"^pid $qemu_pid is a KVM VMM" "^pid $qemu_pid 0x[0-9a-f]+000\\+0x1000: allowed"
	inj --pid "$qemu_pid" --qmp "$tmp/qemu.sock" --gpa 0x40000000 --dry-run
	expect "a real QEMU: a gpa beyond its RAM is refused in QEMU's words" 1 \
		"QEMU's gpa2hva 0x40000000: No memory is mapped at address 0x40000000"
	inj --pid "$K_pid" --qmp "$tmp/qemu.sock" --gpa 0x1000 --dry-run
	expect "a real QEMU's socket given with another --pid is refused" 1 \
		"is served by pid $qemu_pid, not the target $K_pid"
	stop_target "$qemu_pid"
	qemu_pid=""
fi

stop_targets
no_injector_left
tap_done
