#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Helgrind over the code where threads meet: kick-all-and-wait (64 vCPUs,
# both kicks), the broadcast fan-out between vCPUs, reset, and the routing
# rings. Any race or lock-order report fails. TAP output.
set -u

B=${B:-build}
HG="valgrind --tool=helgrind -q --error-exitcode=98"
out=$(mktemp "${TMPDIR:-/tmp}/mcefwd-hg.XXXXXX")
trap 'rm -f "$out" "$out.why"' EXIT INT TERM
. "$(dirname "$0")/lib.sh"

run() {
	desc=$1
	shift
	# shellcheck disable=SC2086
	if timeout -k 5 600 $HG "$@" >"$out" 2>&1; then
		ok "helgrind: $desc"
	else
		rc=$?
		grep -E '^==[0-9]+== (Possible data race|Lock at|Thread #|   (at|by) )' "$out" |
			head -40 >"$out.why"
		not_ok "helgrind: $desc (exit $rc)" "$out.why"
	fi
}

tap_plan 3
why=$(kvm_reason)
if [ -n "$why" ]; then
	skip "helgrind: kick-all-and-wait, 64 vCPUs, both kicks" "$why"
else
	run "kick-all-and-wait, 64 vCPUs, both kicks" "$B/tests/integration/test_vm"
fi
# uffd raises no SIGBUS where KVM emulates; under valgrind the signal
# method cannot run (valgrind aborts on a self-sent SIGBUS).
if [ -n "$why" ] || ! method_available uffd; then
	why=${why:-uffd is not available here: $(method_why uffd)}
	skip "helgrind: broadcast, reset, ar, overflow, smp" "$why"
	skip "helgrind: broadcast on 16 vCPUs, kick=sigmask" "$why"
else
	run "broadcast, reset, ar, overflow, smp" "$B/bin/mcefwd" run broadcast reset ar overflow smp \
		--poison=uffd --emulated-access=forward
	run "broadcast on 16 vCPUs, kick=sigmask" "$B/bin/mcefwd" run broadcast --vcpus 16 \
		--kick sigmask --poison=uffd --emulated-access=forward
fi
tap_done
