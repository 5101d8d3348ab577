# SPDX-License-Identifier: GPL-2.0-only
#
# TAP for the shell runners: one vocabulary, sourced by every tests/*.sh
# (POSIX sh; bash sources it too).
#
#   tap_plan N          the plan, up front ("1..N"); tap_done then checks
#                       that N tests ran
#   ok DESC             "ok N - DESC"
#   not_ok DESC [FILE]  "not ok N - DESC", then FILE ("-": standard input,
#                       such as a here-document), what the test captured,
#                       as "#   " lines
#   skip DESC REASON    "ok N - DESC # SKIP REASON"
#   diag TEXT...        each line of each TEXT as "# TEXT"
#   tap_quote           a filter: standard input as "#   " lines
#   tap_comment         a filter: another program's output as comments (its
#                       "#" lines as they are, the others after "# ")
#   tap_subtest NAME    opens a subtest, KTAP's way: what follows, up to
#                       tap_subtest_end, is indented 4 more, under its own
#                       "KTAP version 1", "# Subtest: NAME" and numbering
#   tap_subtest_end [REASON]
#                       closes it with its result in the parent: not ok if
#                       a test in it failed or its plan did not hold, a
#                       skip with REASON when it reported nothing, else ok
#   tap_done            the plan, at the end when none was given up front;
#                       status 0 when nothing failed (and the plan held)
#
# Never at the end of a pipeline: the count would stay in its subshell.
# tap_n is the number of the last test, tap_failed how many failed,
# tap_skipped how many were skipped, at the current level. Every line goes
# out through tap_line with $TAP_INDENT (spaces) in front: a runner that
# becomes a subtest of a larger KTAP document is indented here, in one
# place. A description or reason loses its '#': KTAP reads one as the start
# of a directive (mcefwd/util/ktap.c does the same).

tap_n=0
tap_failed=0
tap_skipped=0
tap_planned=""
tap_depth=0
TAP_INDENT=${TAP_INDENT:-}

tap_line() {
	printf '%s%s\n' "$TAP_INDENT" "$1"
}

# tap_clean TEXT: TEXT on one line, without '#'.
tap_clean() {
	printf '%s' "$1" | tr -d '#' | tr '\n\r' '  '
}

tap_quote() {
	awk -v p="$TAP_INDENT#   " '{ print p $0 }'
}

tap_comment() {
	awk -v p="$TAP_INDENT" '/^#/ { print p $0; next } { print p "# " $0 }'
}

tap_plan() {
	tap_planned=$1
	tap_line "1..$1"
}

ok() {
	tap_n=$((tap_n + 1))
	tap_line "ok $tap_n - $(tap_clean "$1")"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	tap_line "not ok $tap_n - $(tap_clean "$1")"
	if [ "${2:-}" = - ]; then
		tap_quote
	elif [ -n "${2:-}" ] && [ -e "$2" ]; then
		tap_quote <"$2"
	fi
}

skip() {
	tap_n=$((tap_n + 1))
	tap_skipped=$((tap_skipped + 1))
	tap_line "ok $tap_n - $(tap_clean "$1") # SKIP $(tap_clean "$2")"
}

# lacks FILE PATTERN...: prints the first PATTERN (grep -E) no line of
# FILE matches and succeeds; fails when every one matches.
lacks() {
	tap_file=$1
	shift
	for tap_pat in "$@"; do
		if ! grep -qE -- "$tap_pat" "$tap_file"; then
			printf '%s\n' "$tap_pat"
			return 0
		fi
	done
	return 1
}

diag() {
	for tap_text in "$@"; do
		printf '%s\n' "$tap_text" | awk -v p="$TAP_INDENT# " '{ print p $0 }'
	done
}

# The parent's state is kept in tap_saved_<depth>, the subtest's name in
# tap_name_<depth>: a level per depth, as deep as the runner goes.
tap_subtest() {
	eval "tap_saved_$tap_depth=\"\$tap_n \$tap_failed \$tap_skipped \${tap_planned:--}\""
	tap_depth=$((tap_depth + 1))
	eval "tap_name_$tap_depth=\$1"
	TAP_INDENT="$TAP_INDENT    "
	tap_n=0 tap_failed=0 tap_skipped=0 tap_planned=""
	tap_line "KTAP version 1"
	tap_line "# Subtest: $(tap_clean "$1")"
}

tap_subtest_end() {
	tap_bad=$tap_failed
	if [ -n "$tap_planned" ] && [ "$tap_n" -ne "$tap_planned" ]; then
		diag "planned $tap_planned tests, ran $tap_n"
		tap_bad=$((tap_bad + 1))
	fi
	tap_ran=$tap_n
	eval "tap_sub=\$tap_name_$tap_depth"
	tap_depth=$((tap_depth - 1))
	TAP_INDENT=${TAP_INDENT%    }
	eval "set -- \$tap_saved_$tap_depth \"\$@\""
	tap_n=$1 tap_failed=$2 tap_skipped=$3 tap_planned=$4
	shift 4
	[ "$tap_planned" = - ] && tap_planned=""
	if [ "$tap_bad" -gt 0 ]; then
		not_ok "$tap_sub"
	elif [ "$tap_ran" -eq 0 ] && [ -n "${1:-}" ]; then
		skip "$tap_sub" "$1"
	else
		ok "$tap_sub"
	fi
}

tap_done() {
	if [ -z "$tap_planned" ]; then
		tap_line "1..$tap_n"
	elif [ "$tap_n" -ne "$tap_planned" ]; then
		diag "planned $tap_planned tests, ran $tap_n"
		return 1
	fi
	[ "$tap_failed" -eq 0 ]
}
