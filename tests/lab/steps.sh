#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The real-kernel lab's steps, run inside the lab by tests/lab/lab.sh
# (mcefwd lab -- tests/lab/steps.sh ...): the scenarios with real memory
# failure (--poison=hwpoison and pfn, soft offline) and the injector's
# corrupt-pfn, each judged here from mcefwd's --json record and from what
# the kernel logged while it ran; UFFDIO_POISON where the kernel has it
# (6.6 and later). TAP (tests/lib/tap.sh), the plan first: the caller
# prints the steps as they come, a subtest per boot. Exit status 0 once
# every step ran, whatever its result (the results are in the TAP).
#
#   tests/lab/steps.sh NPT METHODS ENCODINGS SCENARIO...
#   (NPT 0 or 1: what kvm_amd must have; METHODS "hwpoison pfn uffd";
#    ENCODINGS "default amd")
set -u

B=${B:-build}
MCEFWD=$B/bin/mcefwd
INJECT=$B/bin/mcefwd-inject
TARGET=$B/tests/integration/poison-target
RUN_TIMEOUT=60
npt=$1 methods=$2 encodings=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MCEFWD_STATE=$tmp/state

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

# fail DESC LINE...: not ok, with the lines that say why.
fail() {
	local desc=$1
	shift
	printf '%s\n' "$@" >"$tmp/why"
	not_ok "$desc" "$tmp/why"
}

# ---- the lab itself --------------------------------------------------------

# The plan, first: the lab itself, then each step.
planned=1
for s in "$@"; do
	case $s in
	soft-offline) planned=$((planned + 1)) ;;
	corrupt-pfn | qemu) [ "$npt" = 1 ] && planned=$((planned + 1)) ;;
	*)
		# shellcheck disable=SC2086
		planned=$((planned + $(set -- $encodings; echo $#) * $(set -- $methods; echo $#)))
		;;
	esac
done
command -v jq >/dev/null || planned=2
tap_plan $planned

want=$([ "$npt" = 1 ] && echo Y || echo N)
have=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)
if [ -c /dev/kvm ] && [ "$have" = "$want" ]; then
	ok "kvm_amd loaded with npt=$npt, /dev/kvm there ($(uname -r))"
else
	fail "kvm_amd loaded with npt=$npt, /dev/kvm there" \
		"npt parameter: '${have:-missing}', /dev/kvm: $(ls -l /dev/kvm 2>&1)"
fi
if ! command -v jq >/dev/null; then
	not_ok "jq is there to read mcefwd's JSON (apt-get install jq)"
	tap_done
	exit 0
fi

# ---- one scenario run, judged ------------------------------------------------

# check DESC-OF-FAILURE JQ-EXPR: the record must satisfy the expression.
# Gathered, then judged in one jq run (jq starts slowly under emulation).
check() {
	checks+=("$1" "$2")
}

# Every check of the step against its record; what failed goes to whys.
judge() {
	local prog="[" args=() i sep="" out
	for ((i = 0; i < ${#checks[@]}; i += 2)); do
		args+=(--arg "m$i" "${checks[i]}")
		prog+="$sep(if (${checks[i + 1]}) then empty else \$m$i end)"
		sep=", "
	done
	prog+="] | .[]"
	checks=()
	[ -s "$json" ] || return
	if ! out=$(jq -r "${args[@]}" "$prog" "$json" 2>&1); then
		whys+=("the record could not be judged: $out")
		return
	fi
	while IFS= read -r l; do
		[ -n "$l" ] && whys+=("$l")
	done <<<"$out"
}
# klog PATTERN / no_klog PATTERN: what the kernel must (not) have logged.
klog() {
	grep -qE -- "$1" "$dmesg" || whys+=("the kernel did not log: $1")
}
no_klog() {
	! grep -qE -- "$1" "$dmesg" || whys+=("the kernel logged what it must not: $(grep -m1 -E -- "$1" "$dmesg")")
}

# run_step ID DESC ARGS...: mcefwd run ARGS --json, with the kernel's log of it.
run_step() {
	id=$1 desc=$2
	shift 2
	json=$tmp/$id.json dmesg=$tmp/$id.dmesg
	dmesg -C
	timeout -k 5 $((RUN_TIMEOUT + 30)) "$MCEFWD" run "$@" --timeout $RUN_TIMEOUT --json \
		>"$json" 2>"$tmp/$id.err"
	rc=$?
	dmesg >"$dmesg"
	whys=() checks=()
	[ "$rc" = 0 ] || whys+=("exit status $rc, expected 0")
	if [ ! -s "$json" ]; then
		whys+=("mcefwd printed no JSON document")
	else
		check "the test did not pass" '.tests[0].result == "pass"'
	fi
}

# Where the run's single test went wrong, or ok.
verdict() {
	judge
	if [ ${#whys[@]} -eq 0 ]; then
		ok "$desc"
		return
	fi
	fail "$desc" "${whys[@]}" "--- mcefwd's result and diagnostics:" \
		"$(jq -r '.tests[0] | .result + ": " + .reason, .diagnostics[]' "$json" 2>/dev/null | head -n 30)" \
		"$(head -c 2000 "$tmp/$id.err")" "--- the kernel's log:" "$(tail -n 15 "$dmesg")"
}

T='.tests[0]'

# The kernel's release at least MAJOR.MINOR.
kernel_at_least() {
	local r maj min
	r=$(uname -r)
	maj=${r%%.*} r=${r#*.} min=${r%%[!0-9]*}
	[ "$maj" -gt "$1" ] || { [ "$maj" -eq "$1" ] && [ "$min" -ge "$2" ]; }
}

# hwpoison's helper process calls madvise: from Linux 6.11 the kernel kills
# it with the caller's AR (inject/hwpoison.c), before it leaves it alone.
helper_klog() {
	if kernel_at_least 6 11; then
		klog 'Sending SIGBUS to mcefwd-hwpoison:[0-9]+ due to hardware memory corruption'
	else
		no_klog 'Sending SIGBUS to mcefwd-hwpoison:'
	fi
}

# uffd_skip SCENARIO: where UFFDIO_POISON cannot run the scenario, the run
# must have skipped it, saying why, and that is the step's result (true);
# false where it must have run.
uffd_skip() {
	local want
	# What the method cannot do is said first, on any kernel.
	case $1 in
	ao | vmm-memory-ao) want="uffd: UFFDIO_POISON raises no memory-failure event" ;;
	vmm-memory) want="uffd: UFFDIO_POISON on mcefwd's own page" ;;
	*)
		kernel_at_least 6 6 && return 1
		want="uffd: kernel too old for UFFDIO_POISON"
		;;
	esac
	# jq 1.6 passes an empty file: no record, no skip.
	if [ -s "$json" ] && jq -e --arg w "$want" "$T.result == \"skip\" and ($T.reason | startswith(\$w))" \
		"$json" >/dev/null 2>&1; then
		skip "$desc" "$(jq -r "$T.reason" "$json")"
	else
		fail "$desc: a skip that starts '$want' on $(uname -r)" \
			"$(jq -r "$T | .result + \": \" + .reason" "$json" 2>/dev/null | head -n 5)"
	fi
	return 0
}

# uffd_checks SCENARIO: what UFFDIO_POISON must give, without memory failure.
uffd_checks() {
	case $1 in
	ar)
		desc="$desc: SIGBUS BUS_MCEERR_AR from KVM's fault on the uffd-poisoned page, #MC on the load"
		check "no AR arrived on vcpu-0's own thread for gpa 0x200000, injected" \
			"$ev_ar | map(select(.arrived == \"vcpu thread\" and .vcpu == 0 and .gpa == \"0x200000\" and .verdict == \"inject\")) | length == 1"
		check "the #MC did not land on the faulting load" "$T.observation.rip == \"the faulting load\""
		check "not 4 KiB accounted lost" "$T.lost_bytes == 4096"
		check "the page was not given back" "$T.poisoned | length == 1 and .[0].unpoisoned"
		no_klog 'Memory failure'
		;;
	ar-no-ser)
		desc="$desc: guest without MCG_SER_P, the VM is stopped"
		check "no AR on vcpu-0's thread stopped the VM" \
			"$ev_ar | map(select(.arrived == \"vcpu thread\" and .verdict == \"stop-vm\")) | length == 1"
		check "the VM was not stopped" "$T.observation.outcome == \"stopped\""
		no_klog 'Memory failure'
		;;
	esac
}
# What Debian's QEMU must give every scenario (mcefwd/qemu/expect.c holds
# the records; here: that each ran, or skipped for a reason of QEMU's).
QEMU_PASS="ar ao ao-ar ar-untouched ar-no-ser ao-no-ser no-cr4-mce nested bank-disabled overflow broadcast ao-route hello smp"

# The whole scenario table and the demo guests under a real QEMU, poisoned
# with corrupt-pfn through mcefwd-inject: each judged by mcefwd against what
# that QEMU version must do; here, that the right ones ran, that every
# frame came back and that no QEMU or injector was left behind.
qemu_step() {
	local hc_before hc_after n
	desc="mcefwd run --vmm=qemu: every scenario QEMU can be driven through passes, the others skip saying why"
	json=$tmp/qemu.json dmesg=$tmp/qemu.dmesg
	whys=() checks=()
	if ! command -v qemu-system-x86_64 >/dev/null; then
		skip "$desc" "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
		return
	fi
	hc_before=$(sed -n 's/^HardwareCorrupted: *\([0-9]*\) kB/\1/p' /proc/meminfo)
	dmesg -C
	timeout -k 5 900 "$MCEFWD" run --vmm=qemu --timeout $RUN_TIMEOUT --json \
		--state "$tmp/qemu-state" >"$json" 2>"$tmp/qemu.err"
	rc=$?
	dmesg >"$dmesg"
	hc_after=$(sed -n 's/^HardwareCorrupted: *\([0-9]*\) kB/\1/p' /proc/meminfo)
	[ "$rc" = 0 ] || whys+=("exit status $rc, expected 0")
	n=$(pgrep -c -f 'qemu-system-x86_64 -accel kvm|mcefwd-inject' 2>/dev/null)
	[ "${n:-0}" = 0 ] || whys+=("$n QEMU or mcefwd-inject process(es) left running: $(pgrep -a -f 'qemu-system-x86_64 -accel kvm|mcefwd-inject')")
	[ "$hc_after" = "$hc_before" ] ||
		whys+=("HardwareCorrupted went from $hc_before kB to $hc_after kB: a frame was left poisoned")
	if [ ! -s "$json" ]; then
		whys+=("mcefwd printed no JSON document")
	else
		check "the run's VMM is not QEMU" '.vmm.name == "qemu" and (.vmm.version | startswith("QEMU emulator version"))'
		check "the run did not poison with pfn" '.poison.method == "pfn"'
		for s in $QEMU_PASS; do
			check "$s did not pass under QEMU" "[.tests[] | select(.name == \"$s\" and .result == \"pass\")] | length == 1"
		done
		check "a test skipped without a reason, or one not listed passed" \
			"[.tests[] | select(.result == \"skip\" and (.reason | length) < 20)] | length == 0"
		check "a test outside the list did not skip" \
			"[.tests[] | select(.result != \"skip\") | .name] - ($(printf '%s\n' $QEMU_PASS | jq -R . | jq -s -c .)) | length == 0"
		check "a poisoned frame was not undone" '[.tests[].poisoned[] | select(.unpoisoned | not)] | length == 0'
		check "no frame was poisoned at all" '[.tests[].poisoned[]] | length >= 10'
	fi
	klog 'Injecting memory failure at pfn 0x'
	# 6.1 says "Unpoison: Software-unpoisoned page 0x..", 6.12 "0x..: software-unpoisoned page".
	klog '[Ss]oftware-unpoisoned page'
	judge
	if [ ${#whys[@]} -eq 0 ]; then
		ok "$desc: $(jq -r '[.tests[] | select(.result == "pass")] | length' "$json") passed, $(jq -r '[.tests[] | select(.result == "skip")] | length' "$json") skipped ($(jq -r .vmm.version "$json"))"
		return
	fi
	fail "$desc" "${whys[@]}" "--- the tests that did not pass:" \
		"$(jq -r '.tests[] | select(.result != "pass") | .name + ": " + .result + ": " + .reason' "$json" 2>/dev/null)" \
		"--- their diagnostics:" \
		"$(jq -r '.tests[] | select(.result == "fail") | .diagnostics[]' "$json" 2>/dev/null | head -n 60)" \
		"$(head -c 2000 "$tmp/qemu.err")"
}

ev_ar='[.tests[0].events[] | select(.code == "AR")]'
ev_ao='[.tests[0].events[] | select(.code == "AO")]'

for s in "$@"; do
	case $s in
	soft-offline)
		run_step "npt$npt-soft-offline" \
			"npt=$npt soft-offline --poison=soft-offline: no SIGBUS, contents kept, the page on a new frame" \
			soft-offline --poison=soft-offline
		check "the run did not use soft-offline" '.poison.method == "soft-offline"'
		check "a machine-check event reached mcefwd" "$T.events_total == 0"
		klog 'Soft offlining pfn 0x'
		no_klog 'Sending SIGBUS'
		verdict
		continue
		;;
	qemu)
		# QEMU's own KVM use does not depend on mcefwd's npt runs: once.
		[ "$npt" = 1 ] || continue
		qemu_step
		continue
		;;
	corrupt-pfn)
		# Not KVM: once is enough.
		[ "$npt" = 1 ] || continue
		desc="corrupt-pfn then unpoison-pfn (mcefwd-inject --method=pfn --keep, then --unpoison-all) on a helper's page: HardwareCorrupted back where it was"
		whys=()
		"$TARGET" >"$tmp/target" </dev/null &
		pid=$!
		for _ in $(seq 100); do
			[ -s "$tmp/target" ] && break
			sleep 0.1
		done
		addr=$(tr ' ' '\n' <"$tmp/target" | sed -n 's/^anon=//p')
		hc() { sed -n 's/^HardwareCorrupted: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
		before=$(hc)
		dmesg -C
		# The helper is no KVM VMM: --any-process (every safety rule still applies).
		"$INJECT" --pid "$pid" --addr "$addr" --any-process --method pfn --keep \
			--state "$tmp/corrupt-state" \
			>"$tmp/inject.out" 2>&1 </dev/null || whys+=("mcefwd-inject --keep failed: $(tail -n 3 "$tmp/inject.out")")
		during=$(hc)
		"$INJECT" --unpoison-all --state "$tmp/corrupt-state" >>"$tmp/inject.out" 2>&1 </dev/null ||
			whys+=("mcefwd-inject --unpoison-all failed: $(tail -n 3 "$tmp/inject.out")")
		after=$(hc)
		dmesg >"$tmp/corrupt.dmesg"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		dmesg=$tmp/corrupt.dmesg
		klog 'Injecting memory failure at pfn 0x'
		klog 'recovery action for dirty LRU page: Recovered'
		[ "$during" -eq $((before + 4)) ] 2>/dev/null ||
			whys+=("HardwareCorrupted was ${during:-?} kB while poisoned, expected $((before + 4)) kB")
		[ "$after" = "$before" ] || whys+=("HardwareCorrupted is ${after:-?} kB after unpoison-pfn, expected $before kB")
		if [ ${#whys[@]} -eq 0 ]; then
			ok "$desc: $before -> $during -> $after kB"
		else
			fail "$desc" "${whys[@]}" "$(cat "$tmp/inject.out")"
		fi
		continue
		;;
	esac
	for e in $encodings; do
		eopt=()
		[ "$e" != default ] && eopt=(--encoding="$e")
		for m in $methods; do
			run_step "npt$npt-$s-$m-$e" "npt=$npt $s --poison=$m (encoding $e)" "$s" --poison="$m" "${eopt[@]}"
			if [ "$m" = uffd ] && uffd_skip "$s"; then
				continue
			fi
			check "the run did not use $m" ".poison.method == \"$m\""
			if [ "$m" = uffd ]; then
				uffd_checks "$s"
				verdict
				continue
			fi
			case $s in
			ar)
				desc="$desc: SIGBUS BUS_MCEERR_AR from KVM's fault on the poisoned frame, #MC on the load"
				check "PR_MCE_KILL was not late" "$T.kill == \"late\""
				check "no AR arrived on vcpu-0's own thread for gpa 0x200000, lsb 12, injected" \
					"$ev_ar | map(select(.arrived == \"vcpu thread\" and .vcpu == 0 and .gpa == \"0x200000\" and .lsb == 12 and .verdict == \"inject\")) | length == 1"
				check "the #MC did not land on the faulting load" "$T.observation.rip == \"the faulting load\""
				check "not 4 KiB accounted lost" "$T.lost_bytes == 4096"
				check "the frame was not taken out of service and given back" \
					"$T.poisoned | length == 1 and .[0].pfn != \"0x0\" and .[0].unpoisoned"
				klog 'Memory failure: 0x[0-9a-f]+: recovery action for dirty LRU page: Recovered'
				# Nothing to mcefwd but KVM's fault; hwpoison's helper (its
				# own process) takes the caller's AR from Linux 6.11 on.
				no_klog 'Sending SIGBUS to (mcefwd|vcpu-[0-9]+):'
				[ "$m" = hwpoison ] && helper_klog
				;;
			ao)
				desc="$desc: early kill, SIGBUS BUS_MCEERR_AO to mcefwd's main thread, routed to vCPU 0"
				check "PR_MCE_KILL was not early" "$T.kill == \"early\""
				check "no AO arrived on the main thread and was injected on vcpu-0" \
					"$ev_ao | map(select(.arrived == \"main thread\" and .vcpu == 0 and .gpa == \"0x200000\" and .verdict == \"inject\")) | length == 1"
				check "an AR came too" "$ev_ar | length == 0"
				klog 'Memory failure: 0x[0-9a-f]+: Sending SIGBUS to mcefwd:[0-9]+ due to hardware memory corruption'
				no_klog 'Sending SIGBUS to vcpu-'
				[ "$m" = hwpoison ] && helper_klog
				;;
			vmm-memory-ao)
				desc="$desc: AO on mcefwd's own page: ignored, the guest goes on"
				check "no AO outside guest RAM was ignored" \
					"$ev_ao | map(select(.arrived == \"main thread\" and (.in_ram | not) and .verdict == \"ignore\")) | length == 1"
				check "the guest saw something" "$T.observation.outcome == \"nothing\""
				klog 'Memory failure: 0x[0-9a-f]+: Sending SIGBUS to mcefwd:[0-9]+ due to hardware memory corruption'
				;;
			ar-no-ser)
				desc="$desc: guest without MCG_SER_P, the VM is stopped"
				check "no AR on vcpu-0's thread stopped the VM" \
					"$ev_ar | map(select(.arrived == \"vcpu thread\" and .verdict == \"stop-vm\")) | length == 1"
				check "the VM was not stopped" "$T.observation.outcome == \"stopped\""
				check "the frame was not given back" "$T.poisoned | length == 1 and .[0].unpoisoned"
				;;
			vmm-memory)
				desc="$desc: AR on mcefwd's own page, not guest RAM: the VM is stopped"
				check "no AR outside guest RAM stopped the VM" \
					"$ev_ar | map(select((.in_ram | not) and .verdict == \"stop-vm\")) | length == 1"
				check "the VM was not stopped" "$T.observation.outcome == \"stopped\""
				klog 'Killing [^ ]+:[0-9]+ due to hardware memory corruption fault at '
				;;
			esac
			verdict
		done
	done
done
tap_done
exit 0
