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
expect "list names every payload" 0 '^  hello ' '^  smp ' '^  fault ' '^  spin ' '^  idle ' '^  badio ' \
	'^  mce-ar +guest side of the ar'
mcefwd caps
expect "caps prints the poison methods without /dev/kvm too" 0 'CAP_SYS_ADMIN' \
	'signal +yes' '--poison=auto picks'
mcefwd caps --json
expect "caps --json is one JSON object" 0 '^\{' '"poison_methods": \[' '"auto": \{"method": '

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
for topic in run caps list matrix; do
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

QEMU7_AR='bank 9 STATUS 0xbd80000000000134 \(VAL\|UC\|EN\|MISCV\|ADDRV\|S\|AR MCACOD=0x134 MSCOD=0x0\) ADDR 0x200000 MISC 0x8c'
QEMU7_AO='bank 9 STATUS 0xbd000000000000c0 \(VAL\|UC\|EN\|MISCV\|ADDRV\|S MCACOD=0xc0 MSCOD=0x0\) ADDR 0x200000 MISC 0x8c'

# Valgrind 3.19 aborts when a thread sends itself SIGBUS with a kernel
# si_code (it takes it for a fault of its own), so under valgrind the signal
# method cannot run; it runs natively in the same suite.
if [ -n "$WRAP" ]; then
	skip "every scenario with --poison=signal" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
	skip "encodings with --poison=signal" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
else
	mcefwd run ar ao ar-no-ser ao-no-ser no-cr4-mce nested bank-disabled overflow burst vmm-memory \
		vmm-memory-ao --poison=signal
	expect "every scenario with --poison=signal, exact records" 0 '^1\.\.11$' '^ok 11 vmm-memory-ao$' \
		'AO at host address 0x[0-9a-f]+ ignored: warning: action-optional error in memory the VMM itself uses' \
		'^ok 1 ar$' '^ok 2 ao$' '^ok 3 ar-no-ser$' '^ok 4 ao-no-ser$' '^ok 5 no-cr4-mce$' \
		'^ok 6 nested$' '^ok 7 bank-disabled$' '^ok 8 overflow$' '^ok 9 burst$' '^ok 10 vmm-memory$' \
		"guest saw #MC 1: MCG_STATUS 0x7 \(MCIP\|RIPV\|EIPV\), $QEMU7_AR" \
		"guest saw #MC 1: MCG_STATUS 0x5 \(MCIP\|RIPV\), $QEMU7_AO" \
		'guest saw #MC 2: .* STATUS 0xfd80000000000134 \(VAL\|OVER\|' \
		'guest saw #MC 4: .* ADDR 0x203000 ' \
		'host address 0x[0-9a-f]+, which is not guest RAM' \
		'as expected: KVM_EXIT_SHUTDOWN' 'no MCG_SER_P' \
		'^#   bank-disabled +ok +no #MC \(1 event\(s\) ignored or dropped\)'
	mcefwd run ar ao overflow --poison=signal --encoding=qemu-6.2 --bank 3
	expect "encoding qemu-6.2 in bank 3" 0 '^ok 1 ar$' '^ok 2 ao$' '^ok 3 overflow$' \
		'MCG_STATUS 0x6 \(MCIP\|EIPV\), bank 3 STATUS 0xbd80000000000134' \
		'MCG_STATUS 0x5 \(MCIP\|RIPV\), bank 3 STATUS 0xbd000000000000c0'
	# AMD's AO is a deferred error without UC: KVM logs it and raises no #MC.
	mcefwd run ar ao --poison=signal --encoding=amd
	expect "encoding amd: AR raises #MC, the deferred AO is only logged" 0 '^ok 1 ar$' '^ok 2 ao$' \
		'guest saw #MC 1: MCG_STATUS 0x7 \(MCIP\|RIPV\|EIPV\), bank 9 STATUS 0xbc00080000000000 \(VAL\|UC\|EN\|MISCV\|ADDRV\|POISON' \
		'guest found by polling \(no #MC\): MCG_STATUS 0x0 \(none\), bank 9 STATUS 0x9c00180000000000 \(VAL\|EN\|MISCV\|ADDRV\|DEFERRED\|POISON'
	# Two vCPUs with the AMD profile: no broadcast to a vCPU still starting up.
	mcefwd run ar ao burst --poison=signal --vcpus 2 --kick sigmask --encoding=amd
	expect "scenarios with 2 vCPUs and kick=sigmask" 0 '^ok 1 ar$' '^ok 2 ao$' '^ok 3 burst$'
	# The single-vCPU scenarios on 3 vCPUs, Intel: the AR's broadcast must
	# find every vCPU's handler in place (rt_mce_install_all), and a VM
	# stopped for vcpu-0's error stops the others without failing them.
	# Either used to fail about one run in three.
	mcefwd run ar ao ar-no-ser ao-no-ser no-cr4-mce nested bank-disabled overflow burst vmm-memory \
		vmm-memory-ao --poison=signal --vcpus 3
	expect "single-vCPU scenarios on 3 vCPUs, with broadcasts" 0 '^1\.\.11$' '^ok 1 ar$' \
		'^ok 3 ar-no-ser$' '^ok 5 no-cr4-mce$' '^ok 6 nested$' '^ok 9 burst$' '^ok 10 vmm-memory$' \
		'^ok 11 vmm-memory-ao$' '^# Totals: pass:11 fail:0'
fi

# ---- many vCPUs ---------------------------------------------------------------
if [ -n "$WRAP" ]; then
	skip "broadcast, ao-route, reset with --poison=signal" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
else
	for v in 2 4 16; do
		mcefwd run broadcast --poison=signal --vcpus $v
		expect "broadcast on $v vCPUs: vCPU 0 the AR, every other vCPU bank 1 VAL|UC with MCIP|RIPV" 0 \
			'^ok 1 broadcast$' "vcpu-$((v - 1)) saw #MC 1: MCG_STATUS 0x5 \(MCIP\|RIPV\), bank 1 STATUS 0xa000000000000000 \(VAL\|UC" \
			"guest saw #MC 1: MCG_STATUS 0x7 \(MCIP\|RIPV\|EIPV\), $QEMU7_AR"
	done
	mcefwd run broadcast --poison=signal --vcpus 4 --encoding=amd
	expect "broadcast with the AMD profile: no other vCPU sees anything" 0 '^ok 1 broadcast$' \
		'none may see an error'
	for t in 0 2 all page-owner; do
		mcefwd run ao-route --poison=signal --ao-target $t
		expect "ao-route, --ao-target $t: the AO goes exactly there" 0 '^ok 1 ao-route$'
	done
	mcefwd run ao-route --poison=signal --ao-target page-owner
	expect "ao-route, page-owner: the owner of the page is named" 0 'routed to its page.s owner, vcpu-3' \
		'vcpu-3 saw #MC 1: MCG_STATUS 0x5 \(MCIP\|RIPV\), bank 9 STATUS 0xbd000000000000c0 .*ADDR 0x204000'
	mcefwd run reset --poison=signal
	expect "reset: the poisoned page is replaced, fresh and zeroed, the registry empty" 0 '^ok 1 reset$' \
		'reset: 1 poisoned range\(s\) replaced with fresh zeroed memory, boot 1' \
		'guest memory accounted lost: 0 KiB \(after the reset replaced it\)'
	mcefwd run reset --poison=signal --memory=memfd --kick=sigmask
	expect "reset on memfd guest RAM, kick=sigmask" 0 '^ok 1 reset$'
fi
if caps_json | jq -e '.kvm.mcg_cap_supported / 134217728 | floor % 2 == 1' >/dev/null; then
	mcefwd run lmce --poison=signal
	expect "lmce: MCG_STATUS.LMCE on vCPU 0, no broadcast" 0 '^ok 1 lmce$'
else
	mcefwd run lmce --poison=signal
	expect "lmce where KVM lacks MCG_LMCE_P: a skip that says so" 4 \
		'^ok 1 lmce # SKIP this host.s KVM does not offer MCG_LMCE_P'
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
	mcefwd run ar ao ar-no-ser ao-no-ser no-cr4-mce nested bank-disabled overflow burst vmm-memory \
		--poison=uffd --emulated-access=forward
	expect "every scenario with --poison=uffd, exact records, the rest skipped with a reason" 0 \
		'^ok 1 ar$' '^ok 3 ar-no-ser$' '^ok 5 no-cr4-mce$' '^ok 6 nested$' \
		'^ok 7 bank-disabled$' '^ok 8 overflow$' \
		'^ok 2 ao # SKIP uffd: UFFDIO_POISON raises no memory-failure event' \
		'^ok 4 ao-no-ser # SKIP uffd: ' '^ok 9 burst # SKIP uffd: ' '^ok 10 vmm-memory # SKIP uffd: ' \
		"guest saw #MC 1: MCG_STATUS 0x7 \(MCIP\|RIPV\|EIPV\), $QEMU7_AR" \
		'guest saw #MC 2: .* STATUS 0xfd80000000000134 .* ADDR 0x201000 ' \
		'as expected: livelock: the guest touched poisoned gpa 0x200000'
	# The #MC of a real access lands on the load itself (EIPV), as on hardware.
	load=$(nm "$B/guest-payloads/mce-ar.elf" | awk '$3 == "mce_ar_load" { print $1 }' | sed 's/^0*//')
	mcefwd run ar --poison=uffd --emulated-access=forward
	expect "uffd: the #MC's RIP is the poisoned load at 0x$load" 0 "MISC 0x8c, RIP 0x$load\$"
	mcefwd run ar --poison=uffd
	if grep -q 'reported KVM_EXIT_MMIO instead of sending SIGBUS' "$tmp/out"; then
		expect "uffd with --emulated-access=fail: KVM's emulated access fails the run, explained" 1 \
			'^not ok 1 ar # vcpu-0: KVM emulated the guest.s read of poisoned gpa 0x200000'
	else
		expect "uffd with --emulated-access=fail: a real SIGBUS reached the guest" 0 '^ok 1 ar$'
	fi
else
	skip "every scenario with --poison=uffd" "$uffd_reason"
fi

# ---- guest RAM kinds ----------------------------------------------------------
for mem in memfd thp; do
	if [ -n "$WRAP" ]; then
		skip "$mem guest RAM with --poison=signal" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
	else
		mcefwd run ar ao overflow burst --memory=$mem --poison=signal
		expect "$mem guest RAM, --poison=signal: exact records, 4 KiB lost per page" 0 \
			'^ok 1 ar$' '^ok 2 ao$' '^ok 3 overflow$' '^ok 4 burst$' \
			"mce-ar: 1 vCPU\(s\), 64 MiB $mem RAM" 'guest memory accounted lost: 16 KiB'
	fi
	if method_available uffd; then
		mcefwd run ar overflow --memory=$mem --poison=uffd --emulated-access=forward
		expect "$mem guest RAM, --poison=uffd" 0 '^ok 1 ar$' '^ok 2 overflow$' \
			'guest memory accounted lost: 8 KiB'
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
	mcefwd run ar ao burst --memory=hugetlb --ram 8M --poison=signal
	expect "hugetlb guest RAM: one error loses the whole 2 MiB page, and it is accounted so" 0 \
		'^ok 1 ar$' '^ok 2 ao$' '^ok 3 burst$' 'guest memory accounted lost: 2048 KiB'
	mcefwd run ar --memory=hugetlb --ram 8M --poison=uffd
	expect "hugetlb guest RAM with uffd: a skip that says why" 4 \
		'^ok 1 ar # SKIP uffd: on hugetlb guest RAM UFFDIO_POISON takes a whole 2 MiB page'
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

# What make run runs: everything, with the most real method this host has.
auto=$("$MCEFWD" caps --json | jq -r '.auto.method')
if [ -n "$WRAP" ] && sigbus_method "$auto"; then
	skip "run with no names (--poison=auto: $auto)" "$VG_NO_SIGBUS"
else
	mcefwd run --poison=auto --emulated-access=forward
	expect "run with no names: every scenario, then hello and smp, and the table" 0 '^1\.\.18$' \
		"^# poison=auto picked $auto" '^ok 1 ar' '^ok 17 hello$' '^ok 18 smp$' \
		'^# what the guests saw \(poison=' '^#   ar +ok +1 #MC; last: MCG_STATUS 0x7 bank 9 STATUS 0xbd80000000000134'
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
	mcefwd run $sc --poison=$m --state "$tmp/state"
	if method_available $m; then
		expect "$sc with --poison=$m, for real" 0 "^ok 1 $sc\$"
	else
		expect "$sc with --poison=$m where the host lacks it: a skip that names what is missing" 4 \
			"^ok 1 $sc # SKIP $m: (kernel without memory-failure|needs CAP_SYS_ADMIN|debugfs)"
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
	mcefwd run ar --poison=einj
	expect "einj where the host has no EINJ: a skip that says so" 4 '^ok 1 ar # SKIP einj: '
fi

tap_done
