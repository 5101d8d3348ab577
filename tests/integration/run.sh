#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Integration tests: every payload on real /dev/kvm, with several vCPU counts
# and both kick strategies, and the command line's error paths. TAP output.
# Without a usable /dev/kvm the KVM tests skip and say why.
#
#   B=build MCEFWD_WRAPPER="valgrind ..." tests/integration/run.sh
set -u

B=${B:-build}
MCEFWD="$B/bin/mcefwd"
WRAP=${MCEFWD_WRAPPER:-}
# Guard against a hang in the tool itself; the watchdog under test is inside.
HANG=120
n=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-it.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; sed 's/^/#   /' "$tmp/out"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# mcefwd ARGS...: runs the tool; output in $tmp/out, status in $rc.
mcefwd() {
	# shellcheck disable=SC2086
	timeout -k 5 $HANG $WRAP "$MCEFWD" "$@" >"$tmp/out" 2>&1
	rc=$?
}

# expect DESC STATUS PATTERN...: the last run exited STATUS and printed
# every extended-regex PATTERN.
expect() {
	desc=$1 want=$2
	shift 2
	if [ "$rc" -ne "$want" ]; then
		echo "# exit status $rc, expected $want" >>"$tmp/out"
		not_ok "$desc"
		return
	fi
	for pat in "$@"; do
		if ! grep -qE -- "$pat" "$tmp/out"; then
			echo "# output lacks: $pat" >>"$tmp/out"
			not_ok "$desc"
			return
		fi
	done
	ok "$desc"
}

kvm_reason=""
if [ ! -e /dev/kvm ]; then
	kvm_reason="/dev/kvm does not exist (load kvm_intel or kvm_amd)"
elif ! { : <>/dev/kvm; } 2>/dev/null; then
	kvm_reason="/dev/kvm is not readable and writable by $(id -un)"
fi

# ---- command line: no KVM needed -------------------------------------------
mcefwd --help
expect "--help teaches the commands" 0 '^usage: mcefwd' 'run \[NAME' 'caps' 'Exit status'
mcefwd help run
expect "help run lists the run options" 0 '--vcpus' '--kick' '--timeout' 'Examples'
mcefwd frobnicate
expect "an unknown command is a usage error" 2 "unknown command 'frobnicate'"
mcefwd run nosuch
expect "an unknown payload is a usage error" 2 "no payload named 'nosuch'"
mcefwd run hello --vcpus 0
expect "--vcpus 0 is a usage error" 2 "invalid --vcpus '0'"
mcefwd run hello --kick bogus
expect "--kick bogus is a usage error" 2 "invalid --kick 'bogus'"
mcefwd run hello --timeout
expect "a missing option value is a usage error" 2 "needs a value"
mcefwd list
expect "list names every payload" 0 '^hello ' '^smp ' '^fault ' '^spin ' '^idle ' '^badio '
mcefwd caps
expect "caps prints the poison methods without /dev/kvm too" 0 'CAP_SYS_ADMIN' \
	'signal +yes' '--poison=auto picks'
mcefwd caps --json
expect "caps --json is one JSON object" 0 '^\{' '"poison_methods": \[' '"auto": \{"method": '

# ---- payloads on /dev/kvm ---------------------------------------------------
if [ -n "$kvm_reason" ]; then
	for t in "hello" "smp" "fault" "watchdog" "caps on KVM"; do
		skip "$t on /dev/kvm" "$kvm_reason"
	done
	echo "1..$n"
	exit 0
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

mcefwd run -v
expect "run with no names runs hello and smp, guest checks shown" 0 '^1\.\.2$' \
	'^ok 1 hello$' '^ok 2 smp$' 'PASS: hello.c:'

# The #UD must be reported with its vector and the exact RIP of the ud2.
rip=$(nm "$B/guest-payloads/fault.elf" | awk '$3 == "fault_ud2" { print $1 }' |
      sed 's/^0*//')
mcefwd run fault
expect "fault: the guest #UD fails the run, naming vector 6 and rip 0x$rip" 1 \
	'^not ok 1 fault # vcpu-0: guest exception vector 6 \(UD\)' \
	"vector 6 \(#UD\) error code 0x0 at rip 0x$rip\$"

mcefwd run badio
expect "an unexpected exit fails the run and prints the registers" 1 \
	'^not ok 1 badio # vcpu-0: unexpected out of 1 byte\(s\) x1 on port 0x80' \
	'vcpu-0:   rip=0x0000000000100[0-9a-f]+ ' 'vcpu-0:   rax=0x000000001badc0de'

mcefwd run spin --timeout 1
expect "a guest that never finishes ends in a timeout failure" 1 \
	'^not ok 1 spin # timeout: vcpu-0 did not finish within 1000 ms' \
	'vcpu-0: did not finish within 1000 ms, stopped at rip 0x'
mcefwd run spin --vcpus 4 --kick sigmask --timeout 500ms
expect "the watchdog stops 4 spinning vCPUs with kick=sigmask" 1 \
	'^not ok 1 spin # timeout' 'vcpu-3: did not finish within 500 ms'

mcefwd run "$B/guest-payloads/hello.elf" --vcpus 2
expect "a payload ELF given by path runs" 0 "^ok 1 $B/guest-payloads/hello.elf\$"
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

echo "1..$n"
