#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Does every reader count run-all's KTAP document as run-all does? The
# strict KTAP reader of our own (tests/lib/ktap-check.awk), Perl's
# TAP::Parser (tests/lib/tap-count.pl: the document's own level, and the
# tests flattened) and prove's verdict on both.
#
#   tests/lib/agree.sh DIR DOC LAST "P F S" "TP TF TS"
# DOC: the document so far, LAST the line that ends it (this check's own
# result, as a pass); P F S: what run-all counts, tests passed, failed and
# skipped; TP TF TS: the same of the document's own level. DIR: scratch.
# Says what disagrees; status 1 then.
set -u
dir=$1 doc=$2 last=$3 want=$4 want_top=$5
here=$(dirname "$0")
full=$dir/agree.ktap
{
	cat "$doc"
	printf '%s\n' "$last"
} >"$full"
bad=0

disagree() {
	echo "$1"
	bad=1
}

# same READER WHAT GOT WANT: READER counts WHAT as run-all does.
same() {
	[ "$3" = "$4" ] || disagree "$1 counts $2 '$3', run-all '$4'"
}

if ! got=$(awk -f "$here/ktap-check.awk" "$full" 2>"$dir/agree.err"); then
	disagree "tests/lib/ktap-check.awk finds the document wrong:"
	head -n 20 "$dir/agree.err"
fi
same tests/lib/ktap-check.awk "the tests (passed failed skipped)" "$(echo "$got" | sed -n 1p)" "$want"
same tests/lib/ktap-check.awk "the document's own level" "$(echo "$got" | sed -n 2p)" "top $want_top"

if ! command -v perl >/dev/null 2>&1 || ! command -v prove >/dev/null 2>&1; then
	disagree "prove and TAP::Parser are not installed (apt-get install perl)"
	exit 1
fi
if ! got=$(perl "$here/tap-count.pl" "$full" "$dir/agree.flat" 2>"$dir/agree.err"); then
	disagree "TAP::Parser finds the TAP wrong:"
	head -n 20 "$dir/agree.err"
fi
same TAP::Parser "the document's own level" "$(echo "$got" | sed -n 1p)" "top $want_top"
same TAP::Parser "the tests flattened" "$(echo "$got" | sed -n 2p)" "leaves $want"

# prove's verdict: PASS exactly when nothing failed.
set -- $want
verdict=PASS
[ "$2" -eq 0 ] || verdict=FAIL
for f in "$full" "$dir/agree.flat"; do
	got=$(cd "$dir" && prove --merge -e cat "$(basename "$f")" 2>&1 | sed -n 's/^Result: //p')
	[ "$got" = "$verdict" ] || disagree "prove says $got of $(basename "$f"), run-all $verdict"
done
exit $bad
