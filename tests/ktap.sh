#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The KTAP of make check, read and written: the strict reader
# (tests/lib/ktap-check.awk) refuses what it must and counts what it must;
# a runner's output nested in run-all's document (tests/lib/nest.awk) and
# tap.sh's subtests are what the reader takes; TAP::Parser and prove
# (tests/lib/tap-count.pl, tests/lib/agree.sh) count the same document.
#
#   tests/ktap.sh            (from the top of the source tree)
set -u
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-ktap.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
. tests/lib/tap.sh

tap_plan 30

# reads DESC STATUS WANT: the document on standard input, read by
# ktap-check.awk, exits STATUS and prints (standard output and error) a
# line matching the extended regex WANT.
reads() {
	cat >"$tmp/doc"
	awk -f tests/lib/ktap-check.awk "$tmp/doc" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -eq "$2" ] && grep -qE -- "$3" "$tmp/out"; then
		ok "$1"
	else
		{
			echo "exit status $rc, expected $2; wanted: $3"
			cat "$tmp/out"
			echo "--- the document:"
			cat "$tmp/doc"
		} >"$tmp/why"
		not_ok "$1" "$tmp/why"
	fi
}

reads "a nested document: its tests counted, its own level apart" 0 '^top 1 1 1$' <<'EOF'
KTAP version 1
1..3
    KTAP version 1
    # Subtest: unit/a
    1..3
    ok 1 - one
    not ok 2 - two # expected 1, got 2
    #   what it said
    ok 3 - three # SKIP not here
    # unit/a: 0.1 s
not ok 1 unit/a
    KTAP version 1
    # Subtest: lab/b
        KTAP version 1
        # Subtest: boot
        1..1
        ok 1 - step
    ok 1 - boot
    ok 2 - after
ok 2 lab/b
ok 3 lab # SKIP LAB=0
# failed:
#   unit/a: not ok 2 - two
3 passed, 1 failed, 2 skipped
EOF
grep -q '^3 1 2$' "$tmp/out" && ok "... and 3 passed, 1 failed, 2 skipped, as its totals say" ||
	not_ok "... and 3 passed, 1 failed, 2 skipped, as its totals say" "$tmp/out"

reads "a subtest that failed with no test of its own failing counts once" 0 '^1 1 0$' <<'EOF'
KTAP version 1
1..1
    KTAP version 1
    1..1
    ok 1 - fine
not ok 1 runner # exit status 3 without a failing test
EOF
reads "a subtest that ended without results counts as its result says" 0 '^0 1 1$' <<'EOF'
KTAP version 1
1..2
    KTAP version 1
    # Subtest: crashed
not ok 1 crashed # no results
    KTAP version 1
    # Subtest: lab
ok 2 lab # SKIP no QEMU
EOF
reads "the plan last is refused" 1 'the plan after results' <<'EOF'
KTAP version 1
    KTAP version 1
    ok 1 - a
    1..1
ok 1 x
1..1
EOF
reads "no version line is refused" 1 'does not begin with "KTAP version 1"' <<'EOF'
1..1
ok 1 x
EOF
reads "a gap in the numbers is refused" 1 'number 3, expected 2' <<'EOF'
KTAP version 1
1..2
ok 1 a
ok 3 b
EOF
reads "cmocka's skip, a not ok, is refused" 1 'a TAP reader counts it a failure' <<'EOF'
KTAP version 1
1..1
not ok 1 # SKIP test_x
EOF
reads "a TODO directive is refused" 1 'a directive KTAP does not take' <<'EOF'
KTAP version 1
1..1
not ok 1 a # TODO later
EOF
reads "a hash sign in a description is refused" 1 "a '#' in the description" <<'EOF'
KTAP version 1
1..1
ok 1 the #MC arrives
EOF
reads "a subtest indented by 2 is refused" 1 'not a multiple of 4' <<'EOF'
KTAP version 1
1..1
  KTAP version 1
  ok 1 a
ok 1 x
EOF
reads "a line that is no KTAP (valgrind's) is refused" 1 'not KTAP' <<'EOF'
KTAP version 1
1..1
==123== Invalid read of size 8
ok 1 x
EOF
reads "a subtest's result must name it" 1 'its result names "other"' <<'EOF'
KTAP version 1
1..1
    KTAP version 1
    # Subtest: this
    ok 1 a
ok 1 other
EOF
reads "ok for a subtest in which a test failed is refused" 1 'ok, but a test in it failed' <<'EOF'
KTAP version 1
1..1
    KTAP version 1
    not ok 1 a
ok 1 x
EOF
reads "a subtest that ran less than it planned cannot pass" 1 'ok, but it planned 2 tests and ran 1' <<'EOF'
KTAP version 1
1..1
    KTAP version 1
    1..2
    ok 1 a
ok 1 x
EOF
reads "... and fails once when it says so" 0 '^1 1 0$' <<'EOF'
KTAP version 1
1..1
    KTAP version 1
    1..2
    ok 1 a
not ok 1 x
EOF
reads "totals that disagree with the tests are refused" 1 'the totals say 2/0/0, the tests 1/0/0' <<'EOF'
KTAP version 1
1..1
ok 1 x
2 passed, 0 failed, 0 skipped
EOF
reads "a document that ends inside a subtest is refused" 1 'ends inside a subtest' <<'EOF'
KTAP version 1
1..1
    KTAP version 1
    ok 1 a
EOF

# nests DESC INPUT-FILE: the runner output in INPUT-FILE through nest.awk,
# inside a document of one section; the document must read clean.
nests() {
	: >"$tmp/ndoc"
	: >"$tmp/fails"
	{
		echo "KTAP version 1"
		echo "1..1"
		echo "    KTAP version 1"
		echo "    # Subtest: s"
	} >"$tmp/nhead"
	awk -f tests/lib/nest.awk -v doc="$tmp/ndoc" -v counts="$tmp/counts" \
		-v fails="$tmp/fails" -v why="$tmp/nwhy" -v name=s -v status= <"$1" >"$tmp/nout"
	read -r p f s n plan late errs <"$tmp/counts"
	verdict="ok 1 s"
	[ "$f" -eq 0 ] && [ "$errs" -eq 0 ] || verdict="not ok 1 s"
	{
		cat "$tmp/nhead" "$tmp/nout"
		echo "$verdict"
	} >"$tmp/full"
	cmp -s "$tmp/nout" "$tmp/ndoc" || echo "what it printed is not what it kept" >>"$tmp/counts"
	awk -f tests/lib/ktap-check.awk "$tmp/full" >"$tmp/read" 2>&1 || echo "the reader refuses it" >>"$tmp/counts"
}

# nested DESC WANT-COUNTS PATTERN...: the last nests' counts ("p f s
# results plan late-plan errors") are WANT-COUNTS, the reader took the
# document, and its lines match every PATTERN, in order of the file.
nested() {
	desc=$1 want=$2
	shift 2
	{
		echo "counts: $(cat "$tmp/counts") (wanted $want)"
		cat "$tmp/read"
		echo "--- the document:"
		cat "$tmp/full"
	} >"$tmp/why"
	if [ "$(cat "$tmp/counts")" != "$want" ]; then
		not_ok "$desc" "$tmp/why"
		return
	fi
	if pat=$(lacks "$tmp/full" "$@"); then
		echo "no line matches: $pat" >>"$tmp/why"
		not_ok "$desc" "$tmp/why"
		return
	fi
	ok "$desc"
}

printf '1..3\nok 1 - a\nskip: no hugepage\nnot ok 2 # SKIP test_b\nnot ok 3 # SKIP test_c\n# ok - tests\n' >"$tmp/in"
nests "$tmp/in"
nested "cmocka's skips become 'ok N - name # SKIP reason'" "1 0 2 3 3 - 0" \
	'^    ok 2 - test_b # SKIP no hugepage$' '^    ok 3 - test_c # SKIP no reason given$' \
	'^    # skip: no hugepage$'

printf 'ok 1 - a\nnot ok 2 - b\n#   why\nok 3 - c # skip lower case\n1..3\n' >"$tmp/in"
nests "$tmp/in"
nested "a plan printed last is dropped, and kept for the count; a skip spelt SKIP" "1 1 1 3 - 3 0" \
	'^    not ok 2 - b$' '^    ok 3 - c # SKIP lower case$'
if grep -q '^ *1\.\.' "$tmp/nout"; then
	not_ok "... and not printed" "$tmp/full"
else
	ok "... and not printed"
fi

printf 'KTAP version 1\n1..1\n==42== Invalid read of size 8\n\n# a comment\nok 1 hello\n' >"$tmp/in"
nests "$tmp/in"
nested "its own version line dropped, other text quoted as comments" "1 0 0 1 1 - 0" \
	'^    # ==42== Invalid read of size 8$' '^    #$' '^    # a comment$'

printf '1..2\n    KTAP version 1\n    # Subtest: boot\n    1..2\n    ok 1 - step\n' >"$tmp/in"
nests "$tmp/in"
nested "a subtest the runner left open is closed, not ok" "1 1 0 1 2 - 1" \
	'^        ok 1 - step$' '^    not ok 1 boot # ended without its result$'
grep -q '^s: not ok 1 boot' "$tmp/fails" && ok "... and named among the failures" ||
	not_ok "... and named among the failures" "$tmp/fails"

printf '1..1\n    KTAP version 1\n    # Subtest: boot\n    not ok 1 - step\n    # step: 1 s\nnot ok 1 - boot\n' >"$tmp/in"
nests "$tmp/in"
nested "a failure in a subtest is counted once, at its test" "0 1 0 1 1 - 0" '^        not ok 1 - step$'
grep -qx 's: boot: not ok 1 - step' "$tmp/fails" && ok "... named by its path" ||
	not_ok "... named by its path" "$tmp/fails"

# tap.sh's subtests, as lab.sh writes them, read clean.
(
	TAP_INDENT="    "
	tap_n=0 tap_failed=0 tap_skipped=0 tap_planned=""
	tap_plan 4
	ok "a #MC here"
	tap_subtest "boot one"
	tap_plan 2
	ok "step"
	skip "other" "not on this kernel"
	tap_subtest_end
	tap_subtest "boot two"
	tap_subtest_end "the lab cannot run here"
	tap_subtest "boot three"
	tap_plan 2
	ok "step"
	tap_subtest_end
	tap_done
	echo "rc=$? n=$tap_n failed=$tap_failed skipped=$tap_skipped" >"$tmp/state"
) >"$tmp/sub"
{
	printf 'KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: lab\n'
	cat "$tmp/sub"
	echo "not ok 1 lab"
} >"$tmp/full"
awk -f tests/lib/ktap-check.awk "$tmp/full" >"$tmp/read" 2>&1
if [ "$(cat "$tmp/state")" = "rc=1 n=4 failed=1 skipped=1" ] && [ "$(head -n 1 "$tmp/read")" = "3 1 2" ]; then
	ok "tap.sh's subtests: numbered apart, a broken plan a failure, no hash sign in a description"
else
	cat "$tmp/state" "$tmp/read" "$tmp/full" >"$tmp/why"
	not_ok "tap.sh's subtests: numbered apart, a broken plan a failure, no hash sign in a description" "$tmp/why"
fi

# TAP::Parser and prove, on the document of the first test.
cat >"$tmp/doc" <<'EOF'
KTAP version 1
1..3
    KTAP version 1
    # Subtest: unit/a
    1..3
    ok 1 - one
    not ok 2 - two
    ok 3 - three # SKIP not here
not ok 1 unit/a
    KTAP version 1
    1..1
    ok 1 - fine
not ok 2 runner # exit status 3
ok 3 lab # SKIP LAB=0
EOF
if ! command -v prove >/dev/null 2>&1; then
	skip "TAP::Parser counts the document's level and its tests flattened" "prove is not installed (apt-get install perl)"
	skip "agree.sh: run-all's counts agree" "prove is not installed (apt-get install perl)"
	skip "agree.sh: a count that differs is named" "prove is not installed (apt-get install perl)"
else
	perl tests/lib/tap-count.pl "$tmp/doc" "$tmp/flat" >"$tmp/out" 2>&1
	if [ "$(cat "$tmp/out")" = "$(printf 'top 0 2 1\nleaves 2 2 2')" ]; then
		ok "TAP::Parser counts the document's level and its tests flattened"
	else
		cat "$tmp/flat" >>"$tmp/out"
		not_ok "TAP::Parser counts the document's level and its tests flattened" "$tmp/out"
	fi
	head -n 13 "$tmp/doc" >"$tmp/part"
	if tests/lib/agree.sh "$tmp" "$tmp/part" "ok 3 lab # SKIP LAB=0" "2 2 2" "0 2 1" >"$tmp/out" 2>&1; then
		ok "agree.sh: run-all's counts agree"
	else
		not_ok "agree.sh: run-all's counts agree" "$tmp/out"
	fi
	if ! tests/lib/agree.sh "$tmp" "$tmp/part" "ok 3 lab # SKIP LAB=0" "3 2 2" "0 2 1" >"$tmp/out" 2>&1 &&
		grep -q "ktap-check.awk counts the tests (passed failed skipped) '2 2 2', run-all '3 2 2'" "$tmp/out" &&
		grep -q "TAP::Parser counts the tests flattened 'leaves 2 2 2', run-all 'leaves 3 2 2'" "$tmp/out"; then
		ok "agree.sh: a count that differs is named"
	else
		not_ok "agree.sh: a count that differs is named" "$tmp/out"
	fi
fi
tap_done
