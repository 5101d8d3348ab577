#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The smoke of `mcefwd bench`: every benchmark runs with --quick (seconds in
# all) and its --json output is one well-formed JSON document with the
# structure docs/performance.md describes. No timing is asserted: the
# figures belong to docs/performance.md, not to a test. TAP output; without
# a usable /dev/kvm the KVM benchmarks must skip, and say why.
#
#   B=build tests/integration/bench.sh
set -u

B=${B:-build}
MCEFWD="$B/bin/mcefwd"
WRAP=${MCEFWD_WRAPPER:-}
# Guard against a hang; the full benchmarks run for minutes, the smoke for seconds.
HANG=300
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

. "$(dirname "$0")/lib.sh"

# mcefwd ARGS...: runs the tool; status in $rc, stdout in $tmp/out (alone,
# so that JSON can be checked), stderr in $tmp/err, appended by expect_run.
mcefwd() {
	# shellcheck disable=SC2086
	timeout -k 5 $HANG $WRAP "$MCEFWD" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# expect_run: expect (lib.sh) with the run's stderr shown too.
expect_run() {
	cat "$tmp/err" >>"$tmp/out"
	expect "$@"
}

# json_check FILE: FILE holds exactly one JSON value (RFC 8259 grammar);
# otherwise says where it went wrong. awk, as python3 may not be there.
json_check() {
	awk '
	function fail(msg) {
		printf "# JSON: %s at byte %d: %s\n", msg, pos, substr(s, pos, 40)
		bad = 1
		exit 1
	}
	function ws() {
		while (pos <= len && index(" \t\r\n", substr(s, pos, 1)))
			pos++
	}
	function str(   c, e) {
		pos++
		while (pos <= len) {
			c = substr(s, pos, 1)
			if (c == "\\") {
				e = substr(s, pos + 1, 1)
				if (e == "u") {
					if (substr(s, pos + 2, 4) !~ /^[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]$/)
						fail("bad \\u escape")
					pos += 6
				} else if (e != "" && index("\"\\/bfnrt", e)) {
					pos += 2
				} else {
					fail("bad escape")
				}
			} else if (c == "\"") {
				pos++
				return
			} else if (c < " ") {
				fail("control character in a string")
			} else {
				pos++
			}
		}
		fail("unterminated string")
	}
	function value(   c) {
		ws()
		c = substr(s, pos, 1)
		if (c == "{") {
			pos++
			ws()
			if (substr(s, pos, 1) == "}") {
				pos++
				return
			}
			for (;;) {
				ws()
				if (substr(s, pos, 1) != "\"")
					fail("expected a key")
				str()
				ws()
				if (substr(s, pos, 1) != ":")
					fail("expected :")
				pos++
				value()
				ws()
				c = substr(s, pos++, 1)
				if (c == "}")
					return
				if (c != ",")
					fail("expected , or }")
			}
		}
		if (c == "[") {
			pos++
			ws()
			if (substr(s, pos, 1) == "]") {
				pos++
				return
			}
			for (;;) {
				value()
				ws()
				c = substr(s, pos++, 1)
				if (c == "]")
					return
				if (c != ",")
					fail("expected , or ]")
			}
		}
		if (c == "\"") {
			str()
			return
		}
		if (match(substr(s, pos), /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) {
			pos += RLENGTH
			return
		}
		if (substr(s, pos, 4) == "true" || substr(s, pos, 4) == "null") {
			pos += 4
			return
		}
		if (substr(s, pos, 5) == "false") {
			pos += 5
			return
		}
		fail("expected a value")
	}
	{ s = s $0 "\n" }
	END {
		if (bad)
			exit 1
		len = length(s)
		pos = 1
		value()
		ws()
		if (pos <= len)
			fail("data after the document")
	}' "$1"
}

# bench_json DESC STATUS NAME ARGS...: `mcefwd bench NAME ARGS --json`
# exits STATUS with one JSON document holding NAME, its status, and metrics
# each with the full set of statistics.
bench_json() {
	desc=$1 want=$2 name=$3
	shift 3
	mcefwd bench "$name" "$@" --json
	if ! json_check "$tmp/out" >"$tmp/why"; then
		cat "$tmp/why" >>"$tmp/out"
		rc=99
	fi
	metric='\{"name": "[^"]+", "unit": "(ns|cycles|ratio|events/s|KiB)", "n": [0-9]+, "median": [-0-9.e+]+, "p99": [-0-9.e+]+, "min": [-0-9.e+]+, "max": [-0-9.e+]+, "mean": [-0-9.e+]+, "spread": [-0-9.e+]+\}'
	case $want in
	0) expect_run "$desc" 0 '^\{$' '^  "mcefwd_bench": 1,$' '"host": \{"kernel": ' \
		"^    \\{\"name\": \"$name\", \"status\": \"ok\", \"reason\": \"\", \"seconds\": " \
		"^        $metric,?\$" '^  \]$' '^\}$' ;;
	*) expect_run "$desc" "$want" '^\{$' \
		"^    \\{\"name\": \"$name\", \"status\": \"skip\", \"reason\": \"[^\"]+\"" '^\}$' ;;
	esac
}

if ! "$MCEFWD" bench --help >/dev/null 2>&1; then
	skip "mcefwd bench" "this mcefwd has no bench command (main.c does not call bench_main)"
	tap_done
	exit
fi

# ---- command line: no KVM needed ---------------------------------------------
mcefwd bench --help
expect_run "bench --help names every benchmark and option" 0 '^usage: mcefwd bench' \
	'^  exit ' '^  kick ' '^  forward ' '^  storm ' '^  pause ' '^  startup ' '^  qemu ' \
	'--json' '--rounds N' '--quick' 'Exit status'
mcefwd bench nosuch
expect_run "an unknown benchmark is a usage error" 2 "no benchmark named 'nosuch'"
mcefwd bench exit --rounds 0
expect_run "--rounds 0 is a usage error" 2 "invalid --rounds '0'"
mcefwd bench exit --rounds
expect_run "--rounds without a value is a usage error" 2 "--rounds needs a value"
mcefwd bench --frobnicate
expect_run "an unknown option is a usage error" 2 "unknown option '--frobnicate'"

kvm_reason=$(kvm_reason)
if [ -n "$kvm_reason" ]; then
	for b in exit kick forward storm pause qemu; do
		bench_json "$b without /dev/kvm, --on=host: a skip that says why, as JSON" 4 "$b" --quick --on=host
	done
	tap_done
	exit
fi

# ---- each benchmark, quick, as JSON ---------------------------------------------
# Valgrind 3.19 aborts when a thread sends itself SIGBUS with a kernel
# si_code: forward and storm use the signal method, so they run natively only.
for b in exit kick forward storm pause startup; do
	case "$WRAP:$b" in
	?*:forward | ?*:storm)
		skip "bench $b --quick --json" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
		continue ;;
	esac
	bench_json "bench $b --quick --json: runs, one JSON document with its metrics" 0 "$b" --quick
done
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	bench_json "bench qemu --quick --json: QEMU microvm beside mcefwd" 0 qemu --quick
else
	bench_json "bench qemu without QEMU: a skip that names the package" 4 qemu --quick
	grep -q 'apt-get install qemu-system-x86' "$tmp/out" ||
		diag "the skip does not name qemu-system-x86"
fi

# The figures the report must carry, whatever their values.
if [ -n "$WRAP" ]; then
	tap_done
	exit
fi
mcefwd bench exit storm --quick --json
expect_run "exit and storm report the ratios issue 8 sets targets for" 0 \
	'"name": "mcefwd/bare", "value": [0-9.e+-]+, "target": 1.02, "cmp": "<=", "met": (true|false)' \
	'"name": "events lost", "value": 0, "target": 0, "cmp": "<=", "met": true' \
	'"name": "forwarded", "unit": "events/s"'
mcefwd bench forward --quick --rounds 4
expect_run "forward as a table: host and guest share, in ns and cycles" 0 '^forward: ok' \
	'^  host_share +ns ' '^  host_share +cycles ' '^  guest_share +cycles ' \
	'^  ratio host_share/exit ' '[0-9]+ ran, 0 failed, 0 skipped'

tap_done
