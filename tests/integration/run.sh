#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Integration tests: every payload on real /dev/kvm, with several vCPU counts
# and both kick strategies, the scenarios, and the command line's error
# paths. TAP output. What a scenario's guest saw is judged from `mcefwd run
# --json` against `mcefwd encodings --json`; the text is tested where it is
# what a person reads (help, errors, the table of make run). Without a
# usable /dev/kvm the KVM tests skip and say why.
# The plan comes last: how many tests run depends on what the host has
# (KVM, the poison methods, huge pages) and on valgrind; make check's KTAP
# leaves it out, as KTAP allows (tests/lib/nest.awk).
#
#   B=build MCEFWD_WRAPPER="valgrind ..." tests/integration/run.sh
# shellcheck disable=SC2016 # the $names in single quotes are jq's
set -u

B=${B:-build}
MCEFWD="$B/bin/mcefwd"
WRAP=${MCEFWD_WRAPPER:-}
# Guard against a hang in the tool itself; the watchdog under test is inside.
HANG=120
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-it.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

. "$(dirname "$0")/lib.sh"

# mcefwd ARGS...: runs the tool; output in $tmp/out, status in $rc.
mcefwd() {
	# shellcheck disable=SC2086
	timeout -k 5 $HANG $WRAP "$MCEFWD" "$@" >"$tmp/out" 2>&1
	rc=$?
}

kvm_reason=$(kvm_reason)

# ---- command line: no KVM needed -------------------------------------------
mcefwd --help
expect "--help teaches the commands" 0 '^usage: mcefwd' 'run \[NAME' 'caps' 'Exit status'
mcefwd help run
expect "help run lists the run options" 0 '--vcpus' '--kick' '--timeout' 'Examples'
mcefwd frobnicate
expect "an unknown command is a usage error" 2 "unknown command 'frobnicate'"
mcefwd run nosuch
expect "an unknown name is a usage error" 2 "no scenario or payload named 'nosuch'"
mcefwd run hello --vcpus 0
expect "--vcpus 0 is a usage error" 2 "invalid --vcpus '0'"
mcefwd run hello --kick bogus
expect "--kick bogus is a usage error" 2 "invalid --kick 'bogus'"
mcefwd run hello --timeout
expect "a missing option value is a usage error" 2 "needs a value"
mcefwd list
expect "list names every payload" 0 '^  hello ' '^  smp ' '^  spin ' \
	'^  mce-ar +guest side of the ar'
# Bench's guests and the tests' are not the product's: run knows none by
# name. Judged on a listing that lists the product's (an empty one lists
# none of anything).
listed=""
for f in guest-payloads/bench/*.c guest-payloads/tests/*.c; do
	g=$(basename "$f" .c)
	grep -q "^  $g " "$tmp/out" && listed="$listed $g"
done
[ -z "$listed" ] || { echo "# listed:$listed" >>"$tmp/out"; rc=1; }
expect "list names no bench or test guest" 0 '^  hello ' '^  ar '
mcefwd run fault
expect "run does not know a test guest by name" 2 "no scenario or payload named 'fault'"
mcefwd run bench-null
expect "run does not know a bench guest by name" 2 "no scenario or payload named 'bench-null'"
mcefwd caps
expect "caps prints the poison methods without /dev/kvm too" 0 'CAP_SYS_ADMIN' \
	'signal +yes' '--poison=auto picks'
mcefwd_json caps --json
expect_json "caps --json is one JSON object" 0 '
	.version == 1 and (.poison_methods | length) > 0 and
	(.auto.method as $m | any(.poison_methods[]; .name == $m)) and
	(.kernel.release | length > 0)'
mcefwd encodings
expect "encodings shows every profile's AR, AO and broadcast, decoded" 0 \
	'^qemu-7, the default \(Intel guest\)$' '^qemu-6\.2 \(Intel guest\)$' '^amd \(AMD guest\)$' \
	'^  AR +MCG_STATUS 0x[0-9a-f]+ \(MCIP\|RIPV\|EIPV\), bank 9 STATUS 0x[0-9a-f]+ \(VAL\|UC\|' \
	'^  AO +MCG_STATUS 0x[0-9a-f]+ \(MCIP\|RIPV\), bank 9 .* ADDR 0x200000 MISC 0x[0-9a-f]+$' \
	'^  broadcast +MCG_STATUS .*, bank 1 ' '^  broadcast +none'
# The records themselves are test_mce.c's to state; here: one document,
# the error the options describe.
mcefwd_json encodings --json
expect_json "encodings --json: one document of version 1, every profile, the default error" 0 '
	.version == 1 and .gpa == "0x200000" and .bank == 9 and .mcg_cap == "0x100010a" and
	(.profiles | has($enc.default)) and (.profiles | length) >= 3 and
	all(.profiles[]; (.ar, .ao | .verdict == "inject" and .bank == 9 and .addr == "0x200000") and
		(.broadcast == null or .broadcast.bank == 1)) and
	([.profiles[] | .vendor] | sort | unique) == ["amd", "intel"]'
mcefwd_json encodings --json --encoding amd --bank 3 --gpa 0x203000 --mcg-cap 0x104
expect_json "encodings --encoding amd --bank 3 --gpa --mcg-cap: that profile, that error, not delivered without MCG_SER_P" 0 '
	(.profiles | keys) == ["amd"] and .bank == 3 and .gpa == "0x203000" and .mcg_cap == "0x104" and
	(.profiles.amd | .broadcast == null and .ar.verdict == "stop-vm" and .ao.verdict == "ignore" and
		.ar.bank == 3 and .ao.addr == "0x203000")'

# ---- man pages and help: no KVM needed ----------------------------------------
for page in docs/mcefwd.1 docs/mcefwd-inject.8; do
	if command -v man >/dev/null 2>&1; then
		MANWIDTH=80 man -l "$page" >"$tmp/out" 2>&1
		rc=$?
		expect "$page renders with man -l" 0 '^NAME' '^SYNOPSIS' '^EXIT STATUS' '^EXAMPLES'
	else
		skip "$page renders with man -l" "man is not installed (apt-get install man-db)"
	fi
done
rm -rf "$tmp/inst"
make -s install DESTDIR="$tmp/inst" PREFIX=/usr >"$tmp/out" 2>&1
rc=$?
[ -x "$tmp/inst/usr/bin/mcefwd" ] && [ -x "$tmp/inst/usr/bin/mcefwd-inject" ] &&
	[ -f "$tmp/inst/usr/share/man/man1/mcefwd.1" ] &&
	[ -f "$tmp/inst/usr/share/man/man8/mcefwd-inject.8" ] || rc=99
expect "make install puts both commands and both man pages under DESTDIR" 0
for topic in run caps list matrix encodings; do
	mcefwd help $topic
	expect "help $topic teaches, with examples" 0 "^usage: mcefwd $topic" '^Examples?:'
done

# ---- payloads on /dev/kvm ---------------------------------------------------
if [ -n "$kvm_reason" ]; then
	for t in "hello" "smp" "fault" "watchdog" "caps on KVM"; do
		skip "$t on /dev/kvm" "$kvm_reason"
	done
	tap_done
	exit
fi

mcefwd caps
expect "caps reports the KVM API and MCE support" 0 'API version +12' \
	'MCE banks +[1-9]' 'supported MCG_CAP +0x[0-9a-f]+ \(.*MCG_SER_P' 'vendor +[A-Za-z]+'

for kick in immediate sigmask; do
	for v in 1 2 4; do
		mcefwd run hello --vcpus $v --kick $kick
		expect "hello, $v vCPU(s), kick=$kick" 0 '^ok 1 hello$' "kick=$kick" \
			'vcpu-0: hello from vCPU 0' '# Totals: pass:1 fail:0'
	done
	for v in 1 2 4 8; do
		mcefwd run smp --vcpus $v --kick $kick
		expect "smp, $v vCPU(s), kick=$kick: every vCPU reported its id" 0 \
			'^ok 1 smp$' "smp: $v vCPU"
	done
done

mcefwd run hello smp -v
expect "hello and smp, guest checks shown" 0 '^1\.\.2$' \
	'^ok 1 hello$' '^ok 2 smp$' 'PASS: hello.c:'

# The #UD must be reported with its vector and the exact RIP of the ud2.
fault=$(test_guest fault)
rip=$(nm "$fault" | awk '$3 == "fault_ud2" { print $1 }' | sed 's/^0*//')
mcefwd run "$fault"
expect "fault: the guest #UD fails the run, naming vector 6 and rip 0x$rip" 1 \
	'^not ok 1 '"$(re "$fault")"' # vcpu-0: guest exception vector 6 \(UD\)' \
	"vector 6 \(#UD\) error code 0x0 at rip 0x$rip\$"

badio=$(test_guest badio)
mcefwd run "$badio"
expect "an unexpected exit fails the run and prints the registers" 1 \
	'^not ok 1 '"$(re "$badio")"' # vcpu-0: unexpected out of 1 byte\(s\) x1 on port 0x80' \
	'vcpu-0:   rip=0x0000000000100[0-9a-f]+ ' 'vcpu-0:   rax=0x000000001badc0de'

mcefwd run spin --timeout 1
expect "a guest that never finishes ends in a timeout failure" 1 \
	'^not ok 1 spin # timeout: vcpu-0 did not finish within 1000 ms' \
	'vcpu-0: did not finish within 1000 ms, stopped at rip 0x'
mcefwd run spin --vcpus 4 --kick sigmask --timeout 500ms
expect "the watchdog stops 4 spinning vCPUs with kick=sigmask" 1 \
	'^not ok 1 spin # timeout' 'vcpu-3: did not finish within 500 ms'

hello=$B/guest-payloads/demo/hello.elf
mcefwd run "$hello" --vcpus 2
expect "a payload ELF given by path runs" 0 '^ok 1 '"$(re "$hello")"'$'
mcefwd run /etc/hostname
expect "a file that is not an ELF payload fails with the reason" 1 \
	'^not ok 1 /etc/hostname # loading /etc/hostname: not an ELF image'

mcefwd run hello --ram 4M
expect "too little guest RAM is a usage error" 2 "invalid --ram '4M': a multiple of 2 MiB from 8M"
mcefwd run smp --vcpus 256 --ram 8M
expect "smp on 256 vCPUs, the most, in 8 MiB, the least RAM" 0 '^ok 1 smp$' 'smp: 256 vCPU'
mcefwd run smp --vcpus 257
expect "--vcpus 257 is a usage error" 2 "invalid --vcpus '257'"
mcefwd run hello --mcg-cap 0x800010a
expect "an MCG_CAP bit KVM lacks (LMCE_P) is refused, named" 1 \
	'MCG_CAP 0x800010a: .*MCG_LMCE_P \(bit 27\)'
mcefwd run hello --banks 33
expect "--banks 33 is a usage error" 2 "invalid --banks '33'"


# ---- machine-check scenarios (the forwarding path) ----------------------------
mcefwd list
expect "list names every scenario" 0 '^  ar ' '^  ao ' '^  ar-no-ser ' '^  ao-no-ser ' \
	'^  no-cr4-mce ' '^  nested ' '^  bank-disabled ' '^  overflow ' '^  burst ' '^  vmm-memory ' \
	'^  vmm-memory-ao ' '^  soft-offline ' '^  broadcast ' '^  ao-route ' '^  reset ' '^  lmce '
mcefwd run ar --poison=bogus
expect "--poison bogus is a usage error" 2 "invalid --poison 'bogus'"
mcefwd run ar --encoding=qemu-5
expect "--encoding qemu-5 is a usage error" 2 "invalid --encoding 'qemu-5'"
mcefwd run ar --bank 10
expect "--bank beyond MCG_CAP's 10 banks is a usage error" 2 "--bank 10: MCG_CAP 0x100010a has only 10 bank"
mcefwd run ar --ao-target 2 --vcpus 2
expect "--ao-target beyond the vCPUs is a usage error" 2 "--ao-target 2: there are only 2 vCPU"
mcefwd run ar --mce-kill=sometimes
expect "--mce-kill sometimes is a usage error" 2 "invalid --mce-kill 'sometimes'"
mcefwd run ar --model=qemu-2.10
expect "--model before QEMU 2.11 is a usage error" 2 "invalid --model 'qemu-2.10'"
mcefwd run ar --model=qemu-7 --vmm=qemu
expect "--model with --vmm=qemu is a usage error" 2 "choose one"
mcefwd run ar --model=qemu-7 --ao-target=all
expect "--ao-target with a QEMU model is a usage error" 2 "QEMU gives an AO to vCPU 0"
mcefwd run ar --model=qemu-7 --mce-kill=late
expect "--mce-kill with a QEMU model is a usage error" 2 "QEMU always asks for early kill"
mcefwd caps --model=qemu-7
expect "--model outside run is a usage error" 2 "--model is an option of 'run' only"

# What the guests saw is judged from `mcefwd run --json` (run_json,
# expect_json in lib.sh), the records they had to see taken from `mcefwd
# encodings --json` ($enc): stated once, in C. Page addresses are the
# scenarios' own: the first at 0x200000, the next ones 4 KiB apart.
SCENARIOS="ar ao ar-no-ser ao-no-ser no-cr4-mce nested bank-disabled overflow burst vmm-memory vmm-memory-ao"
# jq: the names above, as a list.
# shellcheck disable=SC2086
scenario_list=$(printf '%s\n' $SCENARIOS | jq -R . | jq -sc .)

# Valgrind 3.19 aborts when a thread sends itself SIGBUS with a kernel
# si_code (it takes it for a fault of its own), so under valgrind the signal
# method cannot run; it runs natively in the same suite.
if [ -n "$WRAP" ]; then
	skip "every scenario with --poison=signal" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
	skip "encodings with --poison=signal" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
else
	# shellcheck disable=SC2086
	run_json $SCENARIOS --poison=signal
	expect_json "every scenario with --poison=signal, exact records" 0 '
		names == $list and all(.tests[]; .result == "pass") and .encoding == $enc.default and
		(t("ar") | (.observation | .outcome == "#MC" and .records == 1 and
			rec == enc("qemu-7"; "ar")) and (.events | map(inj)) == [enc("qemu-7"; "ar") | inj]) and
		(t("ao").observation | .outcome == "#MC" and .records == 1 and rec == enc("qemu-7"; "ao")) and
		(t("overflow").observation | .records == 2 and
			rec == (enc("qemu-7"; "ar") | .status |= over | .addr = "0x201000")) and
		(t("burst") | .observation.records == 4 and
			(.observation | rec) == (enc("qemu-7"; "ar") | .addr = "0x203000") and
			[.events[].gpa] == ["0x200000", "0x201000", "0x202000", "0x203000"]) and
		(t("ar-no-ser") | .observation.outcome == "stopped" and
			[.events[] | .code + " " + .verdict] == ["AR stop-vm"]) and
		(t("ao-no-ser") | .observation.outcome == "nothing" and
			[.events[] | .code + " " + .verdict] == ["AO ignore"]) and
		(t("no-cr4-mce").observation.outcome == "shutdown") and
		(t("nested").observation | .outcome == "shutdown" and rec == enc("qemu-7"; "ar")) and
		(t("bank-disabled") | .observation.outcome == "nothing" and .events_total == 1) and
		(t("vmm-memory") | .observation.outcome == "stopped" and
			[.events[] | select(.in_ram | not) | .code + " " + .verdict] == ["AR stop-vm"]) and
		(t("vmm-memory-ao") | .observation.outcome == "nothing" and
			[.events[] | select(.in_ram | not) | .code + " " + .verdict] == ["AO ignore"])' \
		--argjson list "$scenario_list"
	# The same errors under QEMU's rules (--model, mcefwd/mce/forward_qemu.c):
	# what each QEMU release does where it differs from mcefwd's own model.
	# shellcheck disable=SC2086
	run_json $SCENARIOS --poison=signal --model=qemu-7
	expect_json "--model=qemu-7: QEMU 7.2's outcomes, and its records where it delivers" 0 '
		names == $list and all(.tests[]; .result == "pass") and
		.model == "qemu-7.2" and .encoding == "qemu-7" and
		(t("ar").observation | .outcome == "#MC" and rec == enc("qemu-7"; "ar")) and
		(t("ao").observation | .outcome == "#MC" and rec == enc("qemu-7"; "ao")) and
		(t("overflow").observation | .records == 2 and
			rec == (enc("qemu-7"; "ar") | .status |= over | .addr = "0x201000")) and
		(t("burst").observation | .outcome == "QEMU killed by SIGBUS" and .records == 0) and
		(t("nested").observation | .outcome == "reset" and rec == enc("qemu-7"; "ar")) and
		(t("no-cr4-mce").observation | .outcome == "reset" and .records == 0) and
		(t("ar-no-ser").observation.outcome == "QEMU exit") and
		(t("vmm-memory").observation.outcome == "QEMU exit") and
		(t("ao-no-ser").observation.outcome == "nothing") and
		(t("bank-disabled").observation.outcome == "nothing") and
		(t("vmm-memory-ao").observation.outcome == "nothing")' \
		--argjson list "$scenario_list"
	# From 9.1 the guest CPU's vendor picks the encoding; the AMD one has no
	# AR bit, so QEMU drops nested's second error under MCIP: no reset.
	run_json ar nested burst --poison=signal --model=qemu-9.1
	expect_json "--model=qemu-9.1: the encoding of the guest's vendor; nested by it" 0 '
		. as $r | all(.tests[]; .result == "pass") and .model == "qemu-9.1" and
		.encoding == (if $amd then "amd" else "qemu-7" end) and
		(t("ar").observation | rec == enc($r.encoding; "ar")) and
		(t("nested").observation.outcome == (if $amd then "#MC" else "reset" end)) and
		(t("burst").observation.outcome == "QEMU killed by SIGBUS")' \
		--argjson amd "$(grep -q AuthenticAMD /proc/cpuinfo && echo true || echo false)"
	# kvm_arch_init_vcpu masks MCG_CAP bits KVM lacks (MCG_EXT_P, bit 9: no
	# KVM offers it) with a warning; mcefwd's own model refuses them.
	run_json ar --poison=signal --mcg-cap 0x100030a --model=qemu-7
	expect_json "--model=qemu-7: MCG_CAP bits KVM lacks masked, with QEMU's warning" 0 '
		t("ar") | .result == "pass" and .observation.records == 1 and
		(.diagnostics | any(test("^warning: Unsupported MCG_CAP bits: 0x200: masked.* the guest gets 0x100010a$")))'
	run_json ar --poison=signal --mcg-cap 0x100030a
	expect_json "mcefwd's own model refuses MCG_CAP bits KVM lacks, naming them" 1 '
		t("ar") | .result == "fail" and (.reason | test("MCG_EXT_P \\(bit 9\\) is not supported"))'
	run_json ar --poison=signal --model=qemu-6.2
	expect_json "--model=qemu-6.2: qemu-6.2's encoding (no RIPV in an AR)" 0 '
		.encoding == "qemu-6.2" and (t("ar").observation | rec == enc("qemu-6.2"; "ar"))'
	run_json ar ao overflow --poison=signal --encoding=qemu-6.2 --bank 3
	expect_json "encoding qemu-6.2 in bank 3" 0 '
		names == ["ar", "ao", "overflow"] and all(.tests[]; .result == "pass") and
		.encoding == "qemu-6.2" and .bank == 3 and
		(t("ar").observation | rec == enc($e; "qemu-6.2"; "ar")) and
		(t("ao").observation | rec == enc($e; "qemu-6.2"; "ao")) and
		(t("overflow").observation | rec == (enc($e; "qemu-6.2"; "ar") | .status |= over | .addr = "0x201000"))' \
		--argjson e "$(enc_json --encoding qemu-6.2 --bank 3)"
	# AMD's AO is a deferred error without UC: KVM logs it and raises no
	# #MC, so MCG_STATUS stays clear; the guest finds it by polling.
	run_json ar ao --poison=signal --encoding=amd
	expect_json "encoding amd: AR raises #MC, the deferred AO is only logged" 0 '
		names == ["ar", "ao"] and all(.tests[]; .result == "pass") and
		(t("ar").observation | .outcome == "#MC" and rec == enc("amd"; "ar")) and
		(t("ao") | (.observation | .outcome == "polled" and rec == (enc("amd"; "ao") | .mcg_status = "0x0")) and
			(.events | map(inj)) == [enc("amd"; "ao") | inj])'
	# Two vCPUs with the AMD profile: no broadcast to a vCPU still starting up.
	run_json ar ao burst --poison=signal --vcpus 2 --kick sigmask --encoding=amd
	expect_json "scenarios with 2 vCPUs and kick=sigmask" 0 '
		names == ["ar", "ao", "burst"] and all(.tests[]; .result == "pass")'
	# The single-vCPU scenarios on 3 vCPUs, Intel: the AR's broadcast must
	# find every vCPU's handler in place (rt_mce_install_all), and a VM
	# stopped for vcpu-0's error stops the others without failing them.
	# Either used to fail about one run in three.
	# shellcheck disable=SC2086
	run_json $SCENARIOS --poison=signal --vcpus 3
	expect_json "single-vCPU scenarios on 3 vCPUs, with broadcasts" 0 '
		names == $list and .totals == {"pass": 11, "fail": 0, "skip": 0}' \
		--argjson list "$scenario_list"
fi

# ---- many vCPUs ---------------------------------------------------------------
if [ -n "$WRAP" ]; then
	skip "broadcast, ao-route, reset with --poison=signal" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
else
	for v in 2 4 16; do
		run_json broadcast --poison=signal --vcpus $v
		expect_json "broadcast on $v vCPUs: vCPU 0 the AR, every other vCPU bank 1 VAL|UC with MCIP|RIPV" 0 '
			t("broadcast") | .result == "pass" and
			(.observation | rec == enc("qemu-7"; "ar") and .vcpus == ([range($v)] | map(tostring) | join(","))) and
			([.events[] | select(.code == "broadcast")] | (map(.vcpu) | sort) == [range(1; $v)] and
				all(.[]; inj == (enc("qemu-7"; "broadcast") | inj)))' --argjson v $v
	done
	run_json broadcast --poison=signal --vcpus 4 --encoding=amd
	expect_json "broadcast with the AMD profile: no other vCPU sees anything" 0 '
		$enc.profiles.amd.broadcast == null and
		(t("broadcast") | .result == "pass" and .observation.vcpus == "0" and
			all(.events[]; .code != "broadcast"))'
	# ao-route runs 4 vCPUs; the page's owner is vcpu-3.
	for t in 0 2 all page-owner; do
		case $t in
		all) want='[0, 1, 2, 3]' ;;
		page-owner) want='[3]' ;;
		*) want="[$t]" ;;
		esac
		run_json ao-route --poison=signal --ao-target $t
		expect_json "ao-route, --ao-target $t: the AO goes exactly there" 0 '
			t("ao-route") | .result == "pass" and
			([.events[] | select(.code == "AO") | .vcpu] | sort) == $want' --argjson want "$want"
	done
	run_json ao-route --poison=signal --ao-target page-owner
	expect_json "ao-route, page-owner: the owner of the page is named" 0 '
		t("ao-route") | .result == "pass" and
		[.events[] | select(.code == "AO") | {vcpu, arrived, gpa, verdict, inj: inj}] ==
			[{vcpu: 3, arrived: "main thread", gpa: "0x204000", verdict: "inject",
			  inj: (enc("qemu-7"; "ao") | inj)}]'
	run_json reset --poison=signal
	expect_json "reset: the poisoned page is replaced, fresh and zeroed, the registry empty" 0 '
		t("reset") | .result == "pass" and (.observation | rec) == enc("qemu-7"; "ar") and
		(.poisoned | length) == 1 and .lost_bytes == 0'
	run_json reset --poison=signal --memory=memfd --kick=sigmask
	expect_json "reset on memfd guest RAM, kick=sigmask" 0 't("reset").result == "pass"'
fi
run_json lmce --poison=signal
if caps_json | jq -e '.kvm.mcg_cap_supported / 134217728 | floor % 2 == 1' >/dev/null; then
	expect_json "lmce: MCG_STATUS.LMCE on vCPU 0, no broadcast" 0 't("lmce").result == "pass"'
else
	expect_json "lmce where KVM lacks MCG_LMCE_P: a skip that says so" 4 '
		t("lmce") | .result == "skip" and (.reason | test("this host.s KVM does not offer MCG_LMCE_P"))'
fi
if [ -n "$WRAP" ]; then
	skip "--numa-node 0" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
else
	mcefwd run ar --poison=signal --numa-node 0
	expect "--numa-node 0: guest RAM bound there, the poisoned page's node reported" 0 '^ok 1 ar$' \
		'the poisoned page gpa 0x200000 is on NUMA node 0'
fi
mcefwd run hello --numa-node 63
expect "--numa-node of a node the host lacks: a clear error" 1 'NUMA node 63 does not exist: this host has nodes 0-'

uffd_reason=$(method_why uffd)
if method_available uffd; then
	# shellcheck disable=SC2086
	run_json ${SCENARIOS% vmm-memory-ao} --poison=uffd --emulated-access=forward
	expect_json "every scenario with --poison=uffd, exact records, the rest skipped with a reason" 0 '
		([.tests[] | select(.result == "pass") | .name] ==
			["ar", "ar-no-ser", "no-cr4-mce", "nested", "bank-disabled", "overflow"]) and
		(t("ao").reason | startswith("uffd: UFFDIO_POISON raises no memory-failure event")) and
		all(.tests[] | select(.result != "pass"); .result == "skip" and (.reason | startswith("uffd: "))) and
		(t("ar").observation | rec == enc("qemu-7"; "ar")) and
		(t("overflow").observation | .records == 2 and
			rec == (enc("qemu-7"; "ar") | .status |= over | .addr = "0x201000")) and
		(t("bank-disabled").observation.outcome == "livelock") and
		all(t("bank-disabled").events[]; .gpa == "0x200000")'
	# A page really poisoned under QEMU's rules: what QEMU drops re-faults.
	run_json ar nested bank-disabled ar-no-ser --poison=uffd --emulated-access=forward --model=qemu-7
	expect_json "--model=qemu-7 with uffd: a dropped error re-faults, QEMU resets or exits" 0 '
		all(.tests[]; .result == "pass") and
		(t("ar").observation | rec == enc("qemu-7"; "ar")) and
		(t("nested").observation.outcome == "reset") and
		(t("bank-disabled").observation.outcome == "re-fault loop") and
		(t("ar-no-ser").observation.outcome == "QEMU exit")'
	# The #MC of a real access lands on the load itself (EIPV), as on
	# hardware: mcefwd names it from the payload's mce_ar_load symbol.
	run_json ar --poison=uffd --emulated-access=forward
	expect_json "uffd: the #MC's RIP is the poisoned load (mce_ar_load)" 0 '
		t("ar") | .result == "pass" and .observation.rip == "the faulting load"'
	run_json ar --poison=uffd
	if jq -e '.tests[0].diagnostics | any(test("reported KVM_EXIT_MMIO instead of sending SIGBUS"))' \
		"$tmp/json" >/dev/null 2>&1; then
		expect_json "uffd with --emulated-access=fail: KVM's emulated access fails the run, explained" 1 '
			t("ar") | .result == "fail" and
			(.reason | startswith("vcpu-0: KVM emulated the guest'"'"'s read of poisoned gpa 0x200000"))'
	else
		expect_json "uffd with --emulated-access=fail: a real SIGBUS reached the guest" 0 '
			t("ar").result == "pass"'
	fi
else
	skip "every scenario with --poison=uffd" "$uffd_reason"
fi

# ---- a real QEMU as the VMM under test (mcefwd/qemu/) --------------------------
mcefwd run hello --vmm=bogus
expect "--vmm bogus is a usage error" 2 "invalid --vmm 'bogus': mcefwd, qemu or qemu=PATH"
mcefwd run hello --vmm=qemu="$tmp/no-such-qemu"
expect "--vmm=qemu=PATH of no file: a usage error naming it" 2 "--vmm=qemu=$tmp/no-such-qemu: No such file or directory"
mcefwd caps --vmm=qemu
expect "--vmm on caps is a usage error" 2 "--vmm is an option of 'run' only"
mcefwd run hello --qemu-cpu=max
expect "--qemu-cpu without --vmm=qemu is a usage error" 2 "--qemu-cpu needs --vmm=qemu"
# Where the kernel has no memory failure the scenarios skip naming pfn; in
# the lab (tests/lab/steps.sh qemu) every scenario runs. qemu64: -cpu host
# and max fail on some nested hosts (QEMU cannot set MSR_IA32_ARCH_CAPABILITIES).
if [ -n "$kvm_reason" ]; then
	skip "hello, ar, burst, broadcast and smp under QEMU" "$kvm_reason"
	skip "hello and ar under QEMU with --vcpus 2" "$kvm_reason"
elif ! command -v qemu-system-x86_64 >/dev/null; then
	skip "hello, ar, burst, broadcast and smp under QEMU" "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
	skip "hello and ar under QEMU with --vcpus 2" "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
else
	# QEMU's sockets go to TMPDIR: its command line names this run's $tmp.
	saved_tmpdir=${TMPDIR-unset}
	export TMPDIR="$tmp"
	if [ "${LAB_DOCS_RUN:-0}" = 1 ] && [ -n "${RUN_ALL_INNER:-}" ]; then
		# Inside the lab for a make check whose lab suite runs every
		# scenario under QEMU on both kernels (lab/docs), hello and smp too.
		skip "hello, ar, burst, broadcast and smp under QEMU" "this make check's lab suite runs every scenario, hello and smp under QEMU on both kernels (lab/docs, lab/6.12)"
	else
		run_json hello ar burst broadcast smp --vmm=qemu --qemu-cpu=qemu64 --state "$tmp/qemu-state"
		expect_json "hello and smp (4 vCPUs started by INIT/SIPI) pass under QEMU; ar and broadcast run (or skip naming pfn); burst skips saying why" 0 '
			.vmm.name == "qemu" and (.vmm.version | startswith("QEMU emulator version")) and
			t("hello").result == "pass" and t("smp").result == "pass" and
			all(t("ar"), t("broadcast"); .result == "pass" or (.result == "skip" and (.reason | startswith("pfn: ")))) and
			(t("burst") | .result == "skip" and (.reason | length) > 20)'
	fi
	# --vcpus reaches a payload; a scenario QEMU has no expectation for at that count skips.
	run_json hello ar --vmm=qemu --qemu-cpu=qemu64 --vcpus 2 --state "$tmp/qemu-state"
	if [ "$saved_tmpdir" = unset ]; then unset TMPDIR; else TMPDIR=$saved_tmpdir; fi
	expect_json "hello under QEMU with --vcpus 2 passes (both vCPUs say hello once); ar skips naming --vcpus" 0 '
		t("hello").result == "pass" and
		(t("ar") | .result == "skip" and (.reason | test("drop --vcpus")))'
	# Only this run's: another make check may run a QEMU of its own.
	n=$(pgrep -c -f "qemu-system-x86_64 .*$tmp/" 2>/dev/null)
	if [ "${n:-0}" = 0 ]; then
		ok "no QEMU left running after the QEMU runs"
	else
		pgrep -a -f "qemu-system-x86_64 .*$tmp/" >"$tmp/why"
		not_ok "no QEMU left running after the QEMU runs" "$tmp/why"
	fi
fi

# ---- guest RAM kinds ----------------------------------------------------------
# Each lost page is accounted 4 KiB; the RAM kind is said only in words.
for mem in memfd thp; do
	if [ -n "$WRAP" ]; then
		skip "$mem guest RAM with --poison=signal" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
	else
		run_json ar ao overflow burst --memory=$mem --poison=signal
		expect_json "$mem guest RAM, --poison=signal: exact records, 4 KiB lost per page" 0 '
			names == ["ar", "ao", "overflow", "burst"] and all(.tests[]; .result == "pass") and
			all(.tests[]; .lost_bytes == 4096 * (.poisoned | length)) and
			(t("ar").observation | rec == enc("qemu-7"; "ar")) and
			(t("ar").diagnostics | any(test("^mce-ar: 1 vCPU\\(s\\), 64 MiB " + $mem + " RAM")))' \
			--arg mem $mem
	fi
	if method_available uffd; then
		run_json ar overflow --memory=$mem --poison=uffd --emulated-access=forward
		expect_json "$mem guest RAM, --poison=uffd" 0 '
			names == ["ar", "overflow"] and all(.tests[]; .result == "pass") and
			all(.tests[]; .lost_bytes == 4096 * (.poisoned | length))'
	fi
done
# hugetlb needs reserved huge pages: borrow 4 more for 8 MiB of guest RAM and
# give them back, whatever happens.
hp=/proc/sys/vm/nr_hugepages
if [ -n "$WRAP" ]; then
	skip "hugetlb guest RAM" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
elif [ -w $hp ] && old_hp=$(cat $hp) && echo $((old_hp + 4)) >$hp 2>/dev/null &&
     [ "$(cat $hp)" -ge $((old_hp + 4)) ]; then
	trap 'echo $old_hp >$hp; rm -rf "$tmp"' EXIT INT TERM
	run_json ar ao burst --memory=hugetlb --ram 8M --poison=signal
	expect_json "hugetlb guest RAM: one error loses the whole 2 MiB page, and it is accounted so" 0 '
		names == ["ar", "ao", "burst"] and all(.tests[]; .result == "pass") and
		all(.tests[]; .lost_bytes == 2097152)'
	run_json ar --memory=hugetlb --ram 8M --poison=uffd
	expect_json "hugetlb guest RAM with uffd: a skip that says why" 4 '
		t("ar") | .result == "skip" and
		(.reason | startswith("uffd: on hugetlb guest RAM UFFDIO_POISON takes a whole 2 MiB page"))'
	echo "$old_hp" >$hp
	trap 'rm -rf "$tmp"' EXIT INT TERM
else
	skip "hugetlb guest RAM" "cannot reserve 4 more 2 MiB huge pages in $hp"
fi

# Valgrind 3.19 aborts on a SIGBUS with a kernel si_code (BUS_MCEERR_AR/AO),
# whoever sends it: the signal method, and KVM's fault on a frame poisoned
# with hwpoison, pfn or einj. Those run natively only.
VG_NO_SIGBUS="valgrind aborts on a SIGBUS with a kernel si_code (BUS_MCEERR_*); runs natively"
sigbus_method() {
	case $1 in hwpoison | pfn | einj | signal) return 0 ;; esac
	return 1
}

# What make run runs: everything, with the most real method this host has,
# as a person reads it: KTAP, then the table of what the guests saw.
auto=$("$MCEFWD" caps --json | jq -r '.auto.method')
if [ -n "$WRAP" ] && sigbus_method "$auto"; then
	skip "run with no names (--poison=auto: $auto)" "$VG_NO_SIGBUS"
else
	ar_seen=$(enc_json | jq -r '.profiles[.default].ar | "MCG_STATUS \(.mcg_status) bank \(.bank) STATUS \(.status)"')
	mcefwd run --poison=auto --emulated-access=forward
	expect "run with no names: every scenario, then hello and smp, and the table" 0 '^1\.\.20$' \
		"^# poison=auto picked $auto" '^ok 1 ar' '^ok 19 hello$' '^ok 20 smp$' \
		'^# what the guests saw \(poison=' "^#   ar +ok +1 #MC; last: $ar_seen"
fi

# The methods of a real memory failure: run for real where the host has
# them (and the lab runs them on every make check), else a skip with why.
for m in hwpoison pfn soft-offline; do
	sc=ar
	[ $m = soft-offline ] && sc=soft-offline
	if [ -n "$WRAP" ] && sigbus_method $m && method_available $m; then
		skip "$sc with --poison=$m, for real" "$VG_NO_SIGBUS"
		continue
	fi
	run_json $sc --poison=$m --state "$tmp/state"
	if method_available $m; then
		expect_json "$sc with --poison=$m, for real" 0 '
			.poison.method == $m and t($sc).result == "pass"' --arg m $m --arg sc $sc
	else
		expect_json "$sc with --poison=$m where the host lacks it: a skip that names what is missing" 4 '
			t($sc) | .result == "skip" and
			(.reason | test("^" + $m + ": (kernel without memory-failure|needs CAP_SYS_ADMIN|debugfs)"))' \
			--arg m $m --arg sc $sc
	fi
done
# A state file of its own: the real methods above may have written theirs.
if [ -n "$WRAP" ]; then
	skip "methods that poison no frame write no state file" "$VG_NO_SIGBUS"
else
	mcefwd run ar --poison=signal --state "$tmp/state-signal"
	if [ "$rc" != 0 ] || [ -e "$tmp/state-signal" ]; then
		not_ok "methods that poison no frame write no state file" "$tmp/out"
	else
		ok "methods that poison no frame write no state file"
	fi
fi
if method_available einj; then
	skip "ar with --poison=einj" "a real hardware error is never raised by the test suite"
else
	run_json ar --poison=einj
	expect_json "einj where the host has no EINJ: a skip that says so" 4 '
		t("ar") | .result == "skip" and (.reason | startswith("einj: "))'
fi

tap_done
