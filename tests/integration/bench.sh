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

# mcefwd ARGS...: runs the tool; status in $rc, stdout in $tmp/out, stderr
# in $tmp/err, appended by expect_run. Its JSON: mcefwd_json, expect_json
# (lib.sh).
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

# bench_json DESC STATUS NAME ARGS...: `mcefwd bench NAME ARGS --json`
# exits STATUS with one JSON document holding NAME, its status, and metrics
# each with the full set of statistics.
bench_json() {
	desc=$1 want=$2 name=$3
	shift 3
	mcefwd_json bench "$name" "$@" --json
	case $want in
	0) expect_json "$desc" 0 '
		.version == 1 and .mcefwd_bench == 1 and (.host.kernel | type) == "string" and (.benchmarks | length) == 1 and
		(.benchmarks[0] | .name == $name and .status == "ok" and .reason == "" and
			(.seconds | type) == "number" and (.metrics | length) > 0 and
			all(.metrics[]; (.name | type) == "string" and
				(.unit as $u | ["ns", "cycles", "ratio", "events/s", "KiB"] | any(.[]; . == $u)) and
				all(.n, .median, .p99, .min, .max, .mean, .spread; type == "number")))' \
		--arg name "$name" ;;
	*) expect_json "$desc" "$want" '
		.version == 1 and .mcefwd_bench == 1 and (.benchmarks[0] | .name == $name and .status == "skip" and
			(.reason | length) > 0)' --arg name "$name" ;;
	esac
}

tap_plan 14

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
	for t in "bench startup --quick --json" "exit and storm report the ratios issue 8 sets targets for" \
		"forward as a table"; do
		skip "$t" "$kvm_reason"
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
	jq -e '.benchmarks[0].reason | contains("apt-get install qemu-system-x86")' "$tmp/json" \
		>/dev/null || diag "the skip does not name qemu-system-x86"
fi

# The figures the report must carry, whatever their values.
if [ -n "$WRAP" ]; then
	for t in "exit and storm report the ratios issue 8 sets targets for" "forward as a table"; do
		skip "$t" "valgrind aborts on a self-sent SIGBUS with a kernel si_code; runs natively"
	done
	tap_done
	exit
fi
mcefwd_json bench exit storm --quick --json
expect_json "exit and storm report the ratios issue 8 sets targets for" 0 '
	def b($n): first(.benchmarks[] | select(.name == $n));
	def ratio($n): first(.ratios[] | select(.name == $n));
	(b("exit") | ratio("mcefwd/bare") | (.value | type) == "number" and .target == 1.02 and
		.cmp == "<=" and (.met | type) == "boolean") and
	(b("storm") | (ratio("events lost") | .value == 0 and .target == 0 and .cmp == "<=" and .met) and
		any(.metrics[]; .name == "forwarded" and .unit == "events/s"))'
mcefwd bench forward --quick --rounds 4
expect_run "forward as a table: host and guest share, in ns and cycles" 0 '^forward: ok' \
	'^  host_share +ns ' '^  host_share +cycles ' '^  guest_share +cycles ' \
	'^  ratio host_share/exit ' '[0-9]+ ran, 0 failed, 0 skipped'

tap_done
