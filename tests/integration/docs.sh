#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# docs/guest-visible-mce.md is what scripts/guest-visible-mce.sh writes:
# `mcefwd matrix --on=lab --kernel=K --markdown` for Debian 12's two kernel
# series, in the lab, whose kernels and CPU are the same on every machine,
# and the rows where they differ, explained; and beside a real QEMU 7.2,
# mcefwd under its rules (--model=qemu-7), which must show the guest the
# same. Regenerate it there and fail if the committed page disagrees, its
# fingerprints aside. Where this host
# has KVM of its own, its matrix must run clean too.
#
#   tests/integration/docs.sh [lab|host|json]...   (default: all three)
#   lab: the page against the lab's matrices; it boots the lab itself, so
#        run-all runs it on the host side, in its lab suite. host: the
#        matrix of the KVM the command runs on (in the lab, the lab's).
#   json: every --json document has a numeric "version", and each field of
#        its own level is in its section of docs/json.md.
set -u
parts=${*:-lab host json}

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

planned=0
case " $parts " in *" lab "*) planned=$((planned + 2)) ;; esac
case " $parts " in *" host "*) planned=$((planned + 1)) ;; esac
case " $parts " in *" json "*) planned=$((planned + 8)) ;; esac
tap_plan $planned

case " $parts " in *" lab "*)
# Both kernel series, one lab boot each (scripts/guest-visible-mce.sh).
B="$B" timeout -k 5 1200 scripts/guest-visible-mce.sh >"$tmp/new.md" 2>"$tmp/err"
rc=$?
if grep -q 'the lab cannot run here' "$tmp/err"; then
	skip "mcefwd matrix --on=lab ran on each kernel" "$(grep -m1 'cannot run here' "$tmp/err")"
	skip "$doc matches the lab's matrices" "the lab cannot run here"
elif [ $rc -ne 0 ]; then
	cat "$tmp/err" >"$tmp/out"
	grep 'UNEXPLAINED' "$tmp/new.md" >>"$tmp/out"
	grep 'DIFFERS' "$tmp/new.md" >>"$tmp/out"
	not_ok "mcefwd matrix --on=lab ran on each kernel, every run passing its own checks, --model=qemu-7 as QEMU, every difference explained (exit $rc)" "$tmp/out"
	skip "$doc matches the lab's matrices" "the matrices did not run"
else
	ok "mcefwd matrix --on=lab, mcefwd run --vmm=qemu and --model=qemu-7 --on=lab ran on each kernel, every run passing its own checks, the model giving every scenario both ran QEMU's records and outcome, every difference explained"
	tables "$tmp/new.md" >"$tmp/new.tables"
	if tables "$doc" | diff -u - "$tmp/new.tables" >"$tmp/out"; then
		ok "$doc matches the lab's matrices, kernel for kernel, table for table"
	else
		{
			echo "# the page's fingerprints: $(host "$doc" | tr '\n' ' ')"
			echo "# the lab's:               $(host "$tmp/new.md" | tr '\n' ' ')"
			echo "# regenerate: B=build scripts/guest-visible-mce.sh > $doc"
		} >>"$tmp/out"
		not_ok "$doc matches the lab's matrices, kernel for kernel, table for table" "$tmp/out"
	fi
fi
;;
esac

case " $parts " in *" host "*)
why=$(kvm_reason)
if [ -n "$why" ]; then
	skip "mcefwd matrix on this host's KVM" "$why (the lab's ran above)"
else
	timeout -k 5 600 "$B/bin/mcefwd" matrix --on=host --json >"$tmp/host.json" 2>"$tmp/out"
	rc=$?
	if [ $rc -eq 0 ] && jq -e '.version == 2 and .where.on == "host" and
	    ([.scenarios[].runs[] | select(.result == "fail")] | length == 0) and
	    all(.scenarios[].runs[] | select(.outcome); (.status | test("^0x[0-9a-f]+$")) and (.mcg_status | test("^0x[0-9a-f]+$")))' "$tmp/host.json" >/dev/null; then
		ok "mcefwd matrix --on=host ran on this host's KVM, every run passing its own checks"
	else
		jq -r '.scenarios[] | .name as $n | .runs[] | select(.result == "fail") |
			"# \($n) \(.method) \(.encoding): \(.reason)"' "$tmp/host.json" >>"$tmp/out" 2>&1
		not_ok "mcefwd matrix --on=host ran on this host's KVM, every run passing its own checks (exit $rc)" "$tmp/out"
	fi
fi
;;
esac
case " $parts " in *" json "*)
# json_doc SECTION CMD...: CMD prints one JSON document (its exit status
# aside: a skip is 4) with a numeric "version", and every field of its own
# level is in a table row of the section of docs/json.md whose heading
# begins "## `SECTION".
json_doc() {
	sec=$1
	shift
	desc="$sec: a \"version\", and every field of its own level in docs/json.md"
	timeout -k 5 300 "$@" >"$tmp/doc.json" 2>"$tmp/out"
	rc=$?
	awk -v h="## \`$sec" 'index($0, h) == 1 { on = 1; next } /^## / { on = 0 } on' \
		docs/json.md >"$tmp/section"
	if [ ! -s "$tmp/section" ]; then
		not_ok "$desc: docs/json.md has no section '## \`$sec'"
		return
	fi
	if ! json_one "$tmp/doc.json" ||
		! jq -e '.version | type == "number"' "$tmp/doc.json" >/dev/null 2>>"$tmp/out"; then
		{
			echo "exit status $rc, no numeric version in:"
			head -c 1000 "$tmp/doc.json"
		} >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
		return
	fi
	missing=""
	for key in $(jq -r 'keys[]' "$tmp/doc.json"); do
		grep -qE "^\|.*\`$key[\`.[]" "$tmp/section" || missing="$missing $key"
	done
	if [ -n "$missing" ]; then
		echo "fields not in a table of its section:$missing" >"$tmp/out"
		not_ok "$desc" "$tmp/out"
	else
		ok "$desc"
	fi
}

M=$B/bin/mcefwd
json_doc where "$M" where --json
json_doc "mcefwd run --json" "$M" run hello --on=host --json
json_doc "mcefwd encodings --json" "$M" encodings --json
json_doc "mcefwd caps --json" "$M" caps --json
why=$(kvm_reason)
if [ -n "$why" ]; then
	skip "mcefwd matrix --json: a \"version\", and every field of its own level in docs/json.md" "$why"
else
	json_doc "mcefwd matrix --json" "$M" matrix --on=host --json
fi
json_doc "mcefwd bench --json" "$M" bench exit --quick --on=host --json
json_doc "mcefwd-inject --probe --json" "$B/bin/mcefwd-inject" --probe --json
# Nothing boots: the cache and what apt offers.
json_doc "mcefwd lab --list-kernels --json" "$M" lab --list-kernels --json
;;
esac
tap_done
