#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Helgrind over the code where threads meet: kick-all-and-wait (64 vCPUs,
# both kicks), the broadcast fan-out between vCPUs, reset, and the routing
# rings. Any race or lock-order report fails. TAP output.
set -u

B=${B:-build}
HG="valgrind --tool=helgrind -q --error-exitcode=98"
n=0
out=$(mktemp "${TMPDIR:-/tmp}/mcefwd-hg.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM
. "$(dirname "$0")/lib.sh"

run() {
	desc=$1
	shift
	n=$((n + 1))
	# shellcheck disable=SC2086
	if timeout -k 5 600 $HG "$@" >"$out" 2>&1; then
		echo "ok $n - helgrind: $desc"
	else
		echo "not ok $n - helgrind: $desc (exit $?)"
		grep -E '^==[0-9]+== (Possible data race|Lock at|Thread #|   (at|by) )' "$out" |
			head -40 | sed 's/^/#   /'
	fi
}

why=$(kvm_reason)
if [ -n "$why" ]; then
	echo "ok 1 - helgrind # SKIP $why"
	echo "1..1"
	exit 0
fi
run "kick-all-and-wait, 64 vCPUs, both kicks" "$B/tests/integration/test_vm"
# uffd raises no SIGBUS where KVM emulates; under valgrind the signal
# method cannot run (valgrind aborts on a self-sent SIGBUS).
if method_available uffd; then
	run "broadcast, reset, ar, overflow, smp" "$B/bin/mcefwd" run broadcast reset ar overflow smp \
		--poison=uffd --emulated-access=forward
	run "broadcast on 16 vCPUs, kick=sigmask" "$B/bin/mcefwd" run broadcast --vcpus 16 \
		--kick sigmask --poison=uffd --emulated-access=forward
else
	n=$((n + 1))
	echo "ok $n - helgrind: scenarios # SKIP uffd is not available here"
fi
echo "1..$n"
