#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# mcefwd-inject against a live process (build/tests/integration/poison-target):
# its help, its probe, every safety refusal (with --any-process: the target
# is no KVM VMM), and, with fake debugfs files (nothing is poisoned), the
# state file through SIGINT and --unpoison-all. What makes a target a VMM and
# its guest RAM, and the proof held until the write: inject-vmm.sh.
# TAP output.
#
#   B=build MCEFWD_WRAPPER="valgrind ..." tests/integration/inject.sh
set -u

B=${B:-build}
INJ="$B/bin/mcefwd-inject"
WRAP=${MCEFWD_WRAPPER:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-inj.XXXXXX")
targets=""
cleanup() {
	stop_targets
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

. "$(dirname "$0")/lib.sh"


tap_plan 40

inj --help
expect "--help teaches targets, methods, safety, exit status and examples" 0 \
	'^usage: mcefwd-inject --pid PID --addr VA' '--method pfn' '--unpoison-all' \
	'^Safety, always on' 'Exit status: 0 done, 1 refused or failed, 2 usage error, 4' '^Examples:'
inj --version
expect "--version says which mcefwd-inject this is" 0 "^mcefwd-inject [0-9]+\\.[0-9]+\$"
inj
expect "no target is a usage error" 2 '--pid and --addr name the page to poison'
inj --pid abc --addr 0x1000
expect "a bad --pid is a usage error" 2 "invalid --pid 'abc'"
inj --pid 1 --addr 0x1000 --method laser
expect "a bad --method is a usage error" 2 "invalid --method 'laser'"
inj --pid 1 --addr 0x1000 --method hwpoison
expect "hwpoison for another process is refused as a usage error, with the alternative" 2 \
	'--method=hwpoison acts on the caller.s own memory .*use --method=pfn'
inj --probe --pid 1
expect "--probe takes no target" 2 '--probe takes no target'

inj --probe
mf=no
[ -e /proc/sys/vm/memory_failure_recovery ] && mf=yes
if [ $mf = no ]; then
	expect "--probe: without memory-failure support, hwpoison, pfn and soft-offline are not available, with the reason" 0 \
		'^hwpoison +no +kernel without memory-failure support' \
		'^pfn +no +kernel without memory-failure support' \
		'^soft-offline +no +kernel without memory-failure support' '^signal +yes'
else
	expect "--probe lists every method" 0 '^hwpoison ' '^pfn ' '^soft-offline ' '^signal +yes'
fi
inj --probe
expect "--probe names what reaches another process, pfn the default, not mcefwd's own pick" 0 \
	'^for another process \(--pid\): einj, pfn \(the default\); the default is (not )?available here$'
if [ ! -e /sys/firmware/acpi/tables/EINJ ]; then
	inj --probe
	expect "--probe: no EINJ table, no einj" 0 '^einj +no +no ACPI EINJ table'
else
	skip "--probe: no EINJ table, no einj" "this host has an EINJ table"
fi
# shellcheck disable=SC2086
timeout -k 5 60 $WRAP "$INJ" --probe --json >"$tmp/json" 2>"$tmp/err"
rc=$?
expect_json "--probe --json is one object" 0 '
	.version == 1 and (.cap_sys_admin | type) == "boolean" and .methods[0].name == "einj" and
	all(.methods[]; (.available | type) == "boolean" and (.why | length) > 0) and
	([.methods[] | select(.other_process) | .name] == ["einj", "pfn"]) and
	.default == "pfn" and
	.default_available == (.methods[] | select(.name == "pfn") | .available)'

start_target T
target_pid=$T_pid

inj --pid 1 --addr 0x1000 --any-process
expect "PID 1 is refused, --any-process or not" 1 'refused: .*PID 1 \(init\) is never a target'
inj --pid "$target_pid" --any-process --addr 0x1000
expect "an unmapped address is refused" 1 "refused: 0x1000 is not mapped in PID $target_pid"
inj --pid "$target_pid" --any-process --addr "$T_untouched"
expect "a page not present is refused" 1 'refused: .* is not present in memory: touch it first'
inj --pid "$target_pid" --any-process --addr "$T_guard"
expect "a guard page is refused" 1 'refused: .* is in a ---p guard page'
inj --pid "$target_pid" --any-process --addr "$T_file"
expect "a file-backed mapping is refused" 1 'refused: .* is in a file-backed mapping of .*poison-target: poisoning it would poison the page cache'
inj --pid "$target_pid" --any-process --addr "$T_heap"
expect "the heap is refused" 1 'refused: .* is in \[heap\]'
inj --pid "$target_pid" --any-process --addr "$T_stack"
expect "the stack is refused" 1 'refused: .* is in \[stack\]: refusing to poison a stack'
inj --pid "$target_pid" --any-process --addr "$T_memfd" --size 8192
expect "a range running past its mapping's end is refused" 1 'refused: 0x[0-9a-f]+-0x[0-9a-f]+ crosses the end of /memfd:poison-target'
inj --pid "$target_pid" --any-process --addr "$T_anon" --dry-run
expect "an anonymous present page is allowed (dry run)" 0 'allowed by every safety rule'
inj --pid "$target_pid" --any-process --addr "$T_memfd" --dry-run
expect "a memfd page is allowed (dry run)" 0 'allowed by every safety rule'
inj --pid "$target_pid" --addr "$T_anon" --dry-run
expect "a process that is no KVM VMM is refused without --any-process" 1 \
	"refused: pid $target_pid holds no KVM VM \\(no anon_inode:kvm-vm among /proc/$target_pid/fd\\)" \
	'--any-process poisons a process that is not one'
inj --pid "$target_pid" --any-process --addr "$T_tstack" --dry-run
expect "a thread's stack (plain anonymous memory) is refused by its stack pointer" 1 \
	"refused: $T_tstack is in the stack of thread [0-9]+ \\(its stack pointer 0x[0-9a-f]+ is in"
inj --pid "$target_pid" --any-process --addr "$T_mchunk" --dry-run
expect "a malloc'd chunk is anonymous memory no rule tells from guest RAM: --any-process allows it" 0 \
	"pid $target_pid $T_mchunk\\+0x1000: allowed by every safety rule"
inj --pid "$target_pid" --any-process --addr "$(printf '0x%x' $((T_anon + 0x10)))" --dry-run
expect "an unaligned address is its page, one page" 0 \
	"pid $target_pid $T_anon\\+0x1000: allowed by every safety rule"
inj --pid "$target_pid" --any-process --addr "$(printf '0x%x' $((T_ram + 0xfff)))" --size 4097 --dry-run
expect "--size counts whole pages from the page holding the address: 4097 bytes are two" 0 \
	"pid $target_pid $T_ram\\+0x2000: allowed by every safety rule"

if [ $mf = no ]; then
	inj --pid "$target_pid" --any-process --addr "$T_anon" --state "$tmp/state"
	expect "pfn without memory-failure support: exit 4 with the reason, nothing recorded" 4 \
		'--method=pfn is not available here: kernel without memory-failure support'
	if [ -e "$tmp/state" ]; then
		echo "# a state file was written although nothing was poisoned" >"$tmp/out"
		not_ok "no state file when nothing was poisoned" "$tmp/out"
	else
		ok "no state file when nothing was poisoned"
	fi
else
	skip "pfn without memory-failure support: exit 4 with the reason, nothing recorded" \
		"this host has memory-failure support"
	skip "no state file when nothing was poisoned" "this host has memory-failure support"
fi

# The plumbing with fake debugfs files: nothing is poisoned, every write is
# to a file in $tmp/fake.
fake_trees "$tmp/fake"
export MCEFWD_DEBUGFS="$tmp/fake/debug" MCEFWD_PROCFS="$tmp/fake/proc"
st="$tmp/fake/state"

# shellcheck disable=SC2086
$WRAP "$INJ" --pid "$target_pid" --any-process --addr "$T_anon" --state "$st" >"$tmp/held" 2>&1 &
inj_pid=$!
for _ in $(seq 1 100); do
	grep -q '^holding until SIGINT' "$tmp/held" && break
	sleep 0.1
done
kill -INT $inj_pid
wait $inj_pid
rc=$?
cp "$tmp/held" "$tmp/out"
expect "poison, hold, SIGINT: the frame is recorded and, with no unpoison-pfn, left listed with its command" 1 \
	'says so|nothing is poisoned' '^poisoned pfn 0x[0-9a-f]+ .* recorded in ' '^holding until SIGINT' \
	'^Interrupt: undoing' '^left poisoned: pfn 0x' 'to clear it: mcefwd-inject --unpoison-all'
pfn=$(sed -n 's/^poisoned pfn=\(0x[0-9a-f]*\) .*/\1/p' "$st")
if [ -n "$pfn" ] && [ "$(cat "$tmp/fake/debug/hwpoison/corrupt-pfn")" = "$pfn" ]; then
	ok "the state file names the frame written to corrupt-pfn ($pfn)"
else
	cp "$st" "$tmp/out"
	not_ok "the state file names the frame written to corrupt-pfn" "$tmp/out"
fi

inj --unpoison-all --state "$st"
expect "--unpoison-all without unpoison-pfn lists the frame and fails" 1 \
	"^left poisoned: pfn $pfn" 'to clear it: '
: >"$tmp/fake/debug/hwpoison/unpoison-pfn"
inj --unpoison-all --state "$st"
expect "--unpoison-all consumes the interrupted run's state file" 0 \
	'1 frame\(s\) still poisoned, 1 undone'
if [ "$(cat "$tmp/fake/debug/hwpoison/unpoison-pfn")" = "$pfn" ] &&
   grep -q "^unpoisoned pfn=$pfn" "$st"; then
	ok "--unpoison-all wrote the frame to unpoison-pfn and recorded it"
else
	cp "$st" "$tmp/out"
	not_ok "--unpoison-all wrote the frame to unpoison-pfn and recorded it" "$tmp/out"
fi
inj --unpoison-all --state "$st"
expect "a second --unpoison-all finds nothing to do" 0 '0 frame\(s\) still poisoned'

inj --pid "$target_pid" --any-process --addr "$T_memfd" --ao --state "$st"
expect "--ao: poisoned, then undone at once, both recorded" 0 \
	'^poisoned pfn 0x' '^unpoisoned pfn 0x'
before=$(grep -c '^poisoned ' "$st")
inj --pid "$target_pid" --any-process --addr "$(printf '0x%x' $((T_anon + 0x10)))" --keep --state "$st"
expect "--keep leaves it poisoned and says how to undo it" 0 \
	'^--keep: left poisoned; undo with mcefwd-inject --unpoison-all'
if [ "$(grep '^poisoned ' "$st" | tail -n +$((before + 1)) | grep -c "addr=$T_anon ")" = 1 ] &&
   [ "$(grep -c '^poisoned ' "$st")" = $((before + 1)) ]; then
	ok "an unaligned address with the default size poisons its page, one frame"
else
	cp "$st" "$tmp/out"
	not_ok "an unaligned address with the default size poisons its page, one frame" "$tmp/out"
fi
inj --unpoison-all --state "$st"
expect "--unpoison-all undoes what --keep left" 0 '1 frame\(s\) still poisoned, 1 undone'
if [ "$(stat -c %a "$st")" = 600 ]; then
	ok "the state file is private (0600)"
else
	echo "# mode $(stat -c %a "$st")" >"$tmp/out"
	not_ok "the state file is private (0600)" "$tmp/out"
fi
unset MCEFWD_DEBUGFS MCEFWD_PROCFS

no_injector_left
tap_done
