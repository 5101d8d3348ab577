#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# docs/guest-visible-mce.md is what `mcefwd matrix --on=lab --markdown`
# writes: every scenario with the real memory-failure methods, in the lab,
# whose kernel and CPU are the same on every machine. Regenerate it there
# and fail if the committed page disagrees, its fingerprint aside. Where
# this host has KVM of its own, its matrix must run clean too.
set -u

B=${B:-build}
doc=docs/guest-visible-mce.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-docs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
. "$(dirname "$0")/lib.sh"

# The fingerprint's kernel, CPU and KVM, without the date and the version.
host() {
	sed -n '/^<!-- fingerprint: begin/,/^<!-- fingerprint: end/p' "$1" |
		grep '^Host:' | sed 's/; mcefwd [^;]*; [0-9-]*\.$//'
}
tables() {
	sed '/^<!-- fingerprint: begin/,/^<!-- fingerprint: end/d' "$1"
}

timeout -k 5 900 "$B/bin/mcefwd" matrix --on=lab --markdown >"$tmp/new.md" 2>"$tmp/err"
rc=$?
if [ $rc -eq 4 ]; then
	skip "mcefwd matrix --on=lab ran" "$(sed -n 's/^mcefwd: the lab cannot run here: //p' "$tmp/err")"
	skip "$doc matches the lab's matrix" "the lab cannot run here"
elif [ $rc -ne 0 ]; then
	cp "$tmp/err" "$tmp/out"
	not_ok "mcefwd matrix --on=lab --markdown ran, every run passing its own checks (exit $rc)" "$tmp/out"
	skip "$doc matches the lab's matrix" "the matrix did not run"
else
	ok "mcefwd matrix --on=lab --markdown ran, every run passing its own checks"
	tables "$tmp/new.md" >"$tmp/new.tables"
	if tables "$doc" | diff -u - "$tmp/new.tables" >"$tmp/out"; then
		ok "$doc matches the lab's matrix, table for table"
	else
		{
			echo "# the page's fingerprint: $(host "$doc")"
			echo "# the lab's:              $(host "$tmp/new.md")"
			echo "# regenerate: build/bin/mcefwd matrix --on=lab --markdown > $doc"
		} >>"$tmp/out"
		not_ok "$doc matches the lab's matrix, table for table" "$tmp/out"
	fi
fi

why=$(kvm_reason)
if [ -n "$why" ]; then
	skip "mcefwd matrix on this host's KVM" "$why (the lab's ran above)"
else
	timeout -k 5 600 "$B/bin/mcefwd" matrix --on=host --json >"$tmp/host.json" 2>"$tmp/out"
	rc=$?
	if [ $rc -eq 0 ] && jq -e '.version == 1 and .where.on == "host" and
	    ([.scenarios[].runs[] | select(.result == "fail")] | length == 0)' "$tmp/host.json" >/dev/null; then
		ok "mcefwd matrix --on=host ran on this host's KVM, every run passing its own checks"
	else
		jq -r '.scenarios[] | .name as $n | .runs[] | select(.result == "fail") |
			"# \($n) \(.method) \(.encoding): \(.reason)"' "$tmp/host.json" >>"$tmp/out" 2>&1
		not_ok "mcefwd matrix --on=host ran on this host's KVM, every run passing its own checks (exit $rc)" "$tmp/out"
	fi
fi
tap_done
