#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs the test suites as one KTAP document (Documentation/dev-tools/ktap.rst
# in Linux): "KTAP version 1", the plan (one test per section, counted
# first), then each section as it runs, a subtest indented 4 spaces whose
# runner's output comes through tests/lib/nest.awk line by line, closed by
# its result ("ok N name", "not ok N name # why", "ok N name # SKIP why").
# The sections:
#   unit         cmocka tests (no /dev/kvm needed), build/tests/test_*, the
#                layering of mcefwd/'s folders (tests/layers.sh) and the KTAP
#                readers (tests/ktap.sh)
#   integration  payloads on KVM (tests/integration/run.sh), the injector
#                (inject.sh, inject-vmm.sh),
#                the behaviour document, bench, bad input, the short stress
#                and the in-process VM tests, build/tests/integration/test_*;
#                on this host's /dev/kvm, or, where it has none that is
#                usable, all of them inside the lab (mcefwd lab), one boot
#   lab          the real memory-failure path in Debian's kernels (6.1 and
#                6.12) under QEMU (tests/lab/lab.sh; LAB=0 skips it)
# then, with VALGRIND=1, both again under valgrind memcheck, where any error
# or leak fails, and the threaded parts under helgrind. Last, three tests of
# its own: nothing written to /dev, nothing to the source tree, and the
# readers (tests/lib/agree.sh: our strict KTAP reader, TAP::Parser, prove)
# count the document as this script does. Ends with what failed and "N
# passed, N failed, N skipped" (tests without subtests; a section that
# failed with no failing test, such as a runner that crashed, counts once).
# Exits 1 on any failure. On a terminal (and CI unset) a progress line
# stands under the output while a section runs.
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

passed=0 failed=0 skipped=0
export CMOCKA_MESSAGE_OUTPUT=TAP

# Every memcheck error and every leak (definite, indirect, possible) fails the
# run (exit code 99). Memory still reachable at exit is not a leak (cmocka
# keeps its skip messages); children forked to die of SIGBUS on purpose are
# not followed.
VG="valgrind -q --error-exitcode=99 --leak-check=full \
--show-leak-kinds=definite,indirect,possible \
--errors-for-leak-kinds=definite,indirect,possible --child-silent-after-fork=yes"

# The document: run-all's own lines and, through tests/lib/nest.awk, every
# runner's, to standard output and to $log/ktap, which the readers check at
# the end (agree, below).
put() {
	printf '%s\n' "$1"
	printf '%s\n' "$1" >>"$log/ktap"
}

# What failed, for the end: one line per failed test.
: >"$log/fails"

# run_one NAME CMD...: a section, a subtest of the document: CMD's output as
# it comes (tests/lib/nest.awk), then its result, counted. In the counting
# pass only counted.
k=0
run_one() {
	k=$((k + 1))
	[ "$pass" = count ] && return
	name=$1
	shift
	put "    KTAP version 1"
	put "    # Subtest: $name"
	status=""
	[ -n "$tty" ] && status="[$k/$total]"
	t0=$(date +%s.%N)
	: >"$log/why"
	{
		"$@"
		echo $? >"$log/rc"
	} 2>&1 | awk -f tests/lib/nest.awk -v doc="$log/ktap" -v counts="$log/counts" \
		-v fails="$log/fails" -v why="$log/why" -v name="$name" -v status="$status"
	rc=$(cat "$log/rc")
	read -r p f s n plan late errs <"$log/counts"
	put "    # $name: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + f))
	# A runner must report something, as it planned, and agree with its
	# exit status (4 is kselftest's "skipped": fine when all it reported
	# were skips).
	bad=""
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && ! { [ "$rc" -eq 4 ] && [ "$p" -eq 0 ]; }; then
		bad="exit status $rc without a failing test"
	elif [ "$n" -eq 0 ]; then
		# The lab that could not run here (no QEMU, no network for its
		# first download) said why: a skip, not a broken runner.
		if [ "$rc" -eq 4 ] && [ -s "$log/why" ]; then
			top_result skip "$name" "$(head -n 1 "$log/why")"
			return
		fi
		bad="no results (exit status $rc)"
	elif [ "$plan" != - ] && [ "$plan" -ne "$n" ]; then
		bad="planned $plan tests, ran $n"
	elif [ "$late" != - ] && [ "$late" -ne "$n" ]; then
		bad="planned $late tests (last), ran $n"
	elif [ "$errs" -ne 0 ]; then
		bad="$errs line(s) out of place in its KTAP"
	fi
	if [ -n "$bad" ]; then
		# A failure of its own only when none of its tests failed.
		if [ "$f" -eq 0 ]; then
			failed=$((failed + 1))
			echo "$name: $bad" >>"$log/fails"
		fi
		top_result fail "$name" "$bad"
	elif [ "$f" -gt 0 ]; then
		top_result fail "$name"
	else
		top_result pass "$name"
	fi
}

# bg_start ID CMD...: CMD starts now in the background, its output and exit
# status kept for bg_replay ID, which a later run_one runs in its place:
# the section is where it always was, its time what was left to wait.
bg_start() {
	[ "$pass" = count ] && return
	id=$1
	shift
	{
		"$@" >"$log/bg.$id.out" 2>&1
		echo $? >"$log/bg.$id.rc"
	} &
	echo $! >"$log/bg.$id.pid"
}
bg_replay() {
	# run_one runs this in a subshell, whose wait knows no such child.
	while [ ! -s "$log/bg.$1.rc" ] && kill -0 "$(cat "$log/bg.$1.pid")" 2>/dev/null; do
		sleep 1
	done
	cat "$log/bg.$1.out"
	return "$(cat "$log/bg.$1.rc" 2>/dev/null || echo 1)"
}

# Whether each of the lab's kernels named is in its cache: then two labs
# may run side by side (one emulated CPU each); a first fetch is apt's,
# one at a time.
lab_cached() {
	"$B/bin/mcefwd" lab --list-kernels --json 2>/dev/null >"$log/kernels.json" || return 1
	for kv in "$@"; do
		jq -e --arg k "$kv" 'any(.offered[]; .series == $k and .cached)' "$log/kernels.json" \
			>/dev/null 2>&1 || return 1
	done
}

# top_result pass|fail|skip NAME [WHY]: a result of the document's own level.
top_n=0 top_p=0 top_f=0 top_s=0
top_result() {
	top_n=$((top_n + 1))
	case $1 in
	pass)
		top_p=$((top_p + 1))
		put "ok $top_n $2"
		;;
	fail)
		top_f=$((top_f + 1))
		put "not ok $top_n $2${3:+ # $3}"
		;;
	skip)
		top_s=$((top_s + 1))
		put "ok $top_n $2 # SKIP $3"
		;;
	esac
}

# leaf pass|fail|skip NAME [WHY]: a test of the document's own level, not a
# runner's; counted like any.
leaf() {
	k=$((k + 1))
	[ "$pass" = count ] && return
	case $1 in
	pass) passed=$((passed + 1)) ;;
	fail)
		failed=$((failed + 1))
		echo "$2${3:+: $3}" >>"$log/fails"
		;;
	skip) skipped=$((skipped + 1)) ;;
	esac
	top_result "$@"
}

# note TEXT: a comment of the document's own level.
note() {
	[ "$pass" = count ] || put "# $1"
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

# Whether lab/docs runs the lab's matrix in this run (the lab suite, LAB=1).
lab_docs=0
case " $suites " in *" lab "*) [ "${LAB:-1}" = 0 ] || lab_docs=1 ;; esac

# Where the integration suite's guests run: here, or in the lab.
where=host
[ -x "$B/bin/mcefwd" ] && where=$("$B/bin/mcefwd" where --quiet 2>/dev/null)

# The parts of the integration suite that need KVM: on this host's, or in
# the lab (suite "kvm" is what runs there).
kvm_native() {
	[ -n "$(integ_bins)" ] || leaf fail "integration" \
		"no test binaries in $B/tests/integration (make check-integration builds them)"
	run_one integration/payloads env B="$B" tests/integration/run.sh
	# In the lab, with the lab suite in this run, lab/docs runs the lab's
	# matrix on both kernels (and fails on any failed run): "host" here
	# would be the same matrix on 6.1 once more.
	if [ "${LAB_DOCS_RUN:-0}" = 1 ]; then
		run_one integration/docs env B="$B" tests/integration/docs.sh json
	else
		run_one integration/docs env B="$B" tests/integration/docs.sh host json
	fi
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

# Every section, in order: walked twice, first only to count them (the
# plan comes first), then to run them.
walk() {
	for suite in $suites; do
		case $suite in
		unit)
			# No binaries would be no sections, and no failure.
			[ -n "$(unit_bins)" ] ||
				leaf fail "unit" "no test binaries in $B/tests (make check-unit builds them)"
			for t in $(unit_bins); do
				run_one "unit/$(basename "$t")" "$t"
			done
			run_one unit/layers tests/layers.sh
			run_one unit/ktap tests/ktap.sh
			;;
		integration)
			# The injector needs no KVM: here, always (the VMM half of it
			# uses this host's /dev/kvm to make a VM holder, or says why not).
			run_one integration/inject env B="$B" tests/integration/inject.sh
			run_one integration/inject-vmm env B="$B" tests/integration/inject-vmm.sh
			if [ "$where" = lab ]; then
				note "this host has no usable KVM ($("$B/bin/mcefwd" where)): the tests that need KVM run in the lab"
				# One boot for all of them, their valgrind passes included.
				run_one lab/integration "$B/bin/mcefwd" lab --timeout 3000 -- \
					env B="$B" VALGRIND="$VALGRIND" RUN_ALL_INNER=1 \
					LAB_DOCS_RUN="$lab_docs" tests/run-all.sh kvm
			else
				kvm_native
			fi
			;;
		kvm)
			kvm_native
			;;
		lab)
			if [ "${LAB:-1}" = 0 ]; then
				leaf skip "real-kernel lab" "LAB=0"
			else
				# Debian 12's two kernel series: what changed between
				# them (docs/forwarding.md) is judged on both. Every
				# scenario under QEMU runs on both in lab/docs, each
				# judged there (scripts/guest-visible-mce.sh fails on a
				# failed run); the lab step adds the kernel's side of
				# it (frames back, nothing left running) on 6.12 alone,
				# which keeps make check within its time.
				# Side by side on the two cores when both kernels
				# are cached: 6.1 in the background while 6.12 runs.
				set -- env B="$B" tests/lab/lab.sh --kernel=6.1 \
					ar ao ar-no-ser vmm-memory vmm-memory-ao soft-offline corrupt-pfn
				if [ "$pass" = run ] && lab_cached 6.1 6.12; then
					bg_start lab61 "$@"
					run_one lab/6.12 env B="$B" tests/lab/lab.sh --kernel=6.12
					run_one lab/6.1 bg_replay lab61
				else
					run_one lab/6.1 "$@"
					run_one lab/6.12 env B="$B" tests/lab/lab.sh --kernel=6.12
				fi
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

	[ "$VALGRIND" = 1 ] || return 0
	if ! command -v valgrind >/dev/null 2>&1; then
		leaf fail "valgrind" "valgrind is not installed (apt-get install valgrind)"
		return 0
	fi
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
			run_one valgrind/integration/inject-vmm env B="$B" \
				MCEFWD_WRAPPER="$VG" tests/integration/inject-vmm.sh
			[ "$where" = lab ] || kvm_valgrind
			;;
		kvm)
			kvm_valgrind
			;;
		esac
	done
}

# After the sections: nothing written to /dev or the source tree, and,
# outside the lab, the readers' count (agree).
ends=3
[ -n "${RUN_ALL_INNER:-}" ] && ends=2
pass=count
walk
total=$((k + ends))
k=0
pass=run
# The progress line, on a terminal only (CI=true: plain lines).
tty=""
[ -t 1 ] && [ "${CI:-}" != true ] && tty=yes
put "KTAP version 1"
put "1..$total"
walk

dev_list >"$log/dev.after"
(cd "$top" && find . \( -path ./.git -o -path "./$B" -o -path './build*' \) -prune -o \
	-newer "$log/stamp" -print) >"$log/tree"
if ! diff -u "$log/dev.before" "$log/dev.after" >"$log/dev.diff"; then
	sed 's/^/#   /' "$log/dev.diff" | while IFS= read -r l; do put "$l"; done
	leaf fail "nothing written to /dev"
else
	leaf pass "nothing written to /dev"
fi
if [ -s "$log/tree" ]; then
	head -n 20 "$log/tree" | sed 's/^/#   /' | while IFS= read -r l; do put "$l"; done
	leaf fail "nothing written to the source tree (outside $B)"
else
	leaf pass "nothing written to the source tree (outside $B)"
fi

# The readers must count what this script counted: tests/lib/ktap-check.awk
# (strict KTAP, every level), and Perl's TAP::Parser and prove, the TAP13
# readers (the document's own level, and the tests flattened), each reading
# the document as it stands, this last test in it as a pass.
if [ -z "${RUN_ALL_INNER:-}" ]; then
	agree_name="the KTAP reader, TAP::Parser and prove count what run-all counts"
	if tests/lib/agree.sh "$log" "$log/ktap" "ok $total $agree_name" \
		"$((passed + 1)) $failed $skipped" "$((top_p + 1)) $top_f $top_s" >"$log/agree" 2>&1; then
		leaf pass "$agree_name"
	else
		while IFS= read -r l; do put "#   $l"; done <"$log/agree"
		leaf fail "$agree_name"
	fi
fi

# The end: what failed, then the totals (inside the lab, a section of the
# run outside: a comment there).
if [ -s "$log/fails" ]; then
	put "# failed:"
	while IFS= read -r l; do put "#   $l"; done <"$log/fails"
fi
if [ -n "${RUN_ALL_INNER:-}" ]; then
	put "# $passed passed, $failed failed, $skipped skipped"
else
	put "$passed passed, $failed failed, $skipped skipped"
fi
[ "$failed" -eq 0 ]
