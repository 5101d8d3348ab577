#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs the test suites and adds up their TAP results:
#   unit         cmocka tests (no /dev/kvm needed), build/tests/test_*, and
#                the layering of mcefwd/'s folders (tests/layers.sh)
#   integration  payloads on KVM (tests/integration/run.sh), the injector,
#                the behaviour document, bench, bad input, the short stress
#                and the in-process VM tests, build/tests/integration/test_*;
#                on this host's /dev/kvm, or, where it has none that is
#                usable, all of them inside the lab (mcefwd lab), one boot
#   lab          the real memory-failure path in Debian's kernels (6.1 and
#                6.12) under QEMU (tests/lab/lab.sh; LAB=0 skips it)
# then, with VALGRIND=1, both again under valgrind memcheck, where any error
# or leak fails, and the threaded parts under helgrind. Ends with "N passed,
# N failed, N skipped"; exits 1 on any failure, including a runner that
# crashed or printed no result, and anything written to /dev or to the
# source tree.
#
#   B=build VALGRIND=1 tests/run-all.sh [unit|integration|lab|kvm]...
#   (kvm: the part of integration that needs KVM, which the lab runs)
set -u

B=${B:-build}
VALGRIND=${VALGRIND:-1}
suites=${*:-unit integration lab}
log=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-check.XXXXXX")
trap 'rm -rf "$log"' EXIT INT TERM
top=$(pwd)

passed=0 failed=0 skipped=0 broken=""
export CMOCKA_MESSAGE_OUTPUT=TAP

# Every memcheck error and every leak (definite, indirect, possible) fails the
# run (exit code 99). Memory still reachable at exit is not a leak (cmocka
# keeps its skip messages); children forked to die of SIGBUS on purpose are
# not followed.
VG="valgrind -q --error-exitcode=99 --leak-check=full \
--show-leak-kinds=definite,indirect,possible \
--errors-for-leak-kinds=definite,indirect,possible --child-silent-after-fork=yes"

# run_one NAME CMD...: runs CMD, echoes its output, counts its TAP lines.
run_one() {
	name=$1
	shift
	out="$log/out"
	echo "# ---- $name"
	t0=$(date +%s.%N)
	# As it comes: a section in the lab runs for minutes.
	{
		"$@"
		echo $? >"$log/rc"
	} 2>&1 | tee "$out"
	rc=$(cat "$log/rc")
	echo "# ---- $name: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
	# cmocka's TAP writes a skip as "not ok N # SKIP": a skip either way.
	s=$(grep -E '^(not )?ok [0-9]+' "$out" | grep -ci '# SKIP')
	p=$(grep -E '^ok [0-9]+' "$out" | grep -vci '# SKIP')
	f=$(grep -E '^not ok [0-9]+' "$out" | grep -vci '# SKIP')
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + f))
	# A runner must report something and agree with its exit status
	# (4 is kselftest's "skipped": fine when all it reported were skips).
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && ! { [ "$rc" -eq 4 ] && [ "$p" -eq 0 ]; }; then
		broken="$broken $name(exit $rc)"
	elif [ $((p + s + f)) -eq 0 ]; then
		# The lab that could not run here (no QEMU, no network for its
		# first download) said why: a skip, not a broken runner.
		why=$(sed -n 's/^mcefwd lab: cannot run here: //p' "$out" | head -n 1)
		if [ "$rc" -eq 4 ] && [ -n "$why" ]; then
			echo "ok - $name # SKIP $why"
			skipped=$((skipped + 1))
		else
			broken="$broken $name(no results)"
		fi
	fi
}

unit_bins() {
	ls "$B"/tests/test_* 2>/dev/null | grep -v '\.[od]$'
}

integ_bins() {
	ls "$B"/tests/integration/test_* 2>/dev/null | grep -v '\.[od]$'
}

# What the tests must leave as they found it: /dev (a probe such as
# ': <>/dev/kvm' creates a file there) and the source tree (the build
# directories aside). Listed before, compared after.
dev_list() {
	find /dev /dev/shm -maxdepth 1 \( -path /dev/pts -prune -o -print \) 2>/dev/null |
		while IFS= read -r f; do
			printf '%s %s\n' "$(stat -c %F "$f" 2>/dev/null)" "$f"
		done | sort
}
: >"$log/stamp"
dev_list >"$log/dev.before"

# Where the integration suite's guests run: here, or in the lab.
where=host
[ -x "$B/bin/mcefwd" ] && where=$("$B/bin/mcefwd" where --quiet 2>/dev/null)

# The parts of the integration suite that need KVM: on this host's, or in
# the lab (suite "kvm" is what runs there).
kvm_native() {
	run_one integration/payloads env B="$B" tests/integration/run.sh
	run_one integration/docs env B="$B" tests/integration/docs.sh host
	run_one integration/bench env B="$B" tests/integration/bench.sh
	run_one integration/badinput env B="$B" tests/integration/badinput.sh
	run_one integration/stress env B="$B" tests/stress/run.sh short
	for t in $(integ_bins); do
		run_one "integration/$(basename "$t")" "$t"
	done
}

kvm_valgrind() {
	if [ -n "${RUN_ALL_INNER:-}" ]; then
		# In the lab, valgrind runs on emulated KVM, about 200 times
		# slower than natively on a host's: the whole passes would take
		# most of an hour. What fits: the payloads and the scenario that
		# raise no SIGBUS, the in-process VM tests, and helgrind where
		# vCPU threads meet. The whole passes run where KVM is the host's.
		run_one valgrind/lab/payloads $VG "$B/bin/mcefwd" run hello smp soft-offline \
			--poison=soft-offline
		for t in $(integ_bins); do
			run_one "valgrind/integration/$(basename "$t")" $VG "$t"
		done
		for kick in immediate sigmask; do
			run_one "helgrind/lab/smp-$kick" valgrind --tool=helgrind -q --error-exitcode=98 \
				"$B/bin/mcefwd" run smp --vcpus 4 --kick $kick
		done
		return
	fi
	run_one valgrind/integration/payloads env B="$B" MCEFWD_WRAPPER="$VG" tests/integration/run.sh
	run_one valgrind/integration/badinput env B="$B" MCEFWD_WRAPPER="$VG" \
		tests/integration/badinput.sh
	run_one helgrind/integration env B="$B" tests/integration/helgrind.sh
	for t in $(integ_bins); do
		run_one "valgrind/integration/$(basename "$t")" $VG "$t"
	done
}

for suite in $suites; do
	case $suite in
	unit)
		for t in $(unit_bins); do
			run_one "unit/$(basename "$t")" "$t"
		done
		run_one unit/layers tests/layers.sh
		;;
	integration)
		# The injector needs no KVM: here, always.
		run_one integration/inject env B="$B" tests/integration/inject.sh
		if [ "$where" = lab ]; then
			echo "# this host has no usable KVM ($("$B/bin/mcefwd" where)): the tests that need KVM run in the lab"
			# One boot for all of them, their valgrind passes included.
			run_one lab/integration "$B/bin/mcefwd" lab --timeout 3000 -- \
				env B="$B" VALGRIND="$VALGRIND" RUN_ALL_INNER=1 tests/run-all.sh kvm
		else
			kvm_native
		fi
		;;
	kvm)
		kvm_native
		;;
	lab)
		if [ "${LAB:-1}" = 0 ]; then
			echo "ok 1 - real-kernel lab # SKIP LAB=0"
			skipped=$((skipped + 1))
		else
			# Debian 12's two kernel series: what changed between them
			# (docs/forwarding.md) is judged on both.
			run_one lab/6.1 env B="$B" tests/lab/lab.sh --kernel=6.1
			run_one lab/6.12 env B="$B" tests/lab/lab.sh --kernel=6.12
			# The behaviour document, per kernel: it boots the lab itself.
			run_one lab/docs env B="$B" tests/integration/docs.sh lab
			run_one lab/command env B="$B" tests/lab/command.sh
		fi
		;;
	*)
		echo "run-all.sh: unknown suite '$suite'" >&2
		exit 2
		;;
	esac
done

if [ "$VALGRIND" = 1 ]; then
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "not ok - valgrind is not installed (apt-get install valgrind)"
		failed=$((failed + 1))
	else
		for suite in $suites; do
			case $suite in
			unit)
				for t in $(unit_bins); do
					run_one "valgrind/unit/$(basename "$t")" $VG "$t"
				done
				;;
			integration)
				run_one valgrind/integration/inject env B="$B" \
					MCEFWD_WRAPPER="$VG" tests/integration/inject.sh
				[ "$where" = lab ] || kvm_valgrind
				;;
			kvm)
				kvm_valgrind
				;;
			esac
		done
	fi
fi

if [ -n "$broken" ]; then
	echo "# runners that failed without a failing test:$broken"
	failed=$((failed + 1))
fi

dev_list >"$log/dev.after"
(cd "$top" && find . \( -path ./.git -o -path "./$B" -o -path './build*' \) -prune -o \
	-newer "$log/stamp" -print) >"$log/tree"
if ! diff -u "$log/dev.before" "$log/dev.after" >"$log/dev.diff"; then
	echo "not ok 1 - nothing written to /dev"
	sed 's/^/#   /' "$log/dev.diff"
	failed=$((failed + 1))
else
	echo "ok 1 - nothing written to /dev"
	passed=$((passed + 1))
fi
if [ -s "$log/tree" ]; then
	echo "not ok 2 - nothing written to the source tree (outside $B)"
	head -n 20 "$log/tree" | sed 's/^/#   /'
	failed=$((failed + 1))
else
	echo "ok 2 - nothing written to the source tree (outside $B)"
	passed=$((passed + 1))
fi

# Inside the lab, a section of the run outside: its totals are a comment.
[ -n "${RUN_ALL_INNER:-}" ] && printf '# '
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
