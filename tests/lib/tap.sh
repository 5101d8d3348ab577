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
#   tap_done            the plan, at the end when none was given up front;
#                       status 0 when nothing failed (and the plan held)
#
# Never at the end of a pipeline: the count would stay in its subshell.
# tap_n is the number of the last test, tap_failed how many failed,
# tap_skipped how many were skipped. Every line goes out through tap_line
# with $TAP_INDENT (spaces) in front: a runner that becomes a subtest of a
# larger KTAP document is indented here, in one place.

tap_n=0
tap_failed=0
tap_skipped=0
tap_planned=""
TAP_INDENT=${TAP_INDENT:-}

tap_line() {
	printf '%s%s\n' "$TAP_INDENT" "$1"
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
	tap_line "ok $tap_n - $1"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	tap_line "not ok $tap_n - $1"
	if [ "${2:-}" = - ]; then
		tap_quote
	elif [ -n "${2:-}" ] && [ -e "$2" ]; then
		tap_quote <"$2"
	fi
}

skip() {
	tap_n=$((tap_n + 1))
	tap_skipped=$((tap_skipped + 1))
	tap_line "ok $tap_n - $1 # SKIP $2"
}

diag() {
	for tap_text in "$@"; do
		printf '%s\n' "$tap_text" | awk -v p="$TAP_INDENT# " '{ print p $0 }'
	done
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
