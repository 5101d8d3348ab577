# SPDX-License-Identifier: GPL-2.0-only
#
# What the integration scripts share beyond TAP (tests/lib/tap.sh, sourced
# here): judging a command by its text (expect) or by its JSON
# (expect_json, against `mcefwd encodings --json`), and what the host
# offers. The sourcing script sets $tmp (a scratch directory), $MCEFWD and,
# after running a command, $rc and $tmp/out (its output) or $tmp/json.

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

# expect DESC STATUS PATTERN...: the last command exited STATUS and printed
# every extended-regex PATTERN.
expect() {
	desc=$1 want=$2
	shift 2
	if [ "$rc" -ne "$want" ]; then
		echo "# exit status $rc, expected $want" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
		return
	fi
	if pat=$(lacks "$tmp/out" "$@"); then
		echo "# output lacks: $pat" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
		return
	fi
	ok "$desc"
}

# test_guest NAME: the ELF file of guest-payloads/tests/NAME.c, a guest only
# tests run: mcefwd runs it by path (its names are the product's guests).
test_guest() {
	printf '%s\n' "${B:-build}/guest-payloads/tests/$1.elf"
}

# re STRING: STRING as an extended regex that matches it literally (a file
# payload's test is named by its path).
re() {
	printf '%s\n' "$1" | sed 's/[][\\.*^$+?(){}|]/\\&/g'
}

# mcefwd_json ARGS...: `mcefwd ARGS` (the sourcing script's $MCEFWD, under
# $WRAP, bounded by $HANG seconds) printing JSON: the document in $tmp/json,
# standard error in $tmp/err, the exit status in $rc. run_json ARGS...:
# `mcefwd run ARGS --json`.
mcefwd_json() {
	# shellcheck disable=SC2086
	timeout -k 5 "${HANG:-120}" ${WRAP:-} "$MCEFWD" "$@" >"$tmp/json" 2>"$tmp/err"
	rc=$?
}
run_json() {
	mcefwd_json run "$@" --json
}

# What expect_json's expressions may use besides $enc (below):
#   t(NAME)          the test of that name
#   names            the names of the tests, in order
#   rec              a record's fields as a guest reads them: {bank,
#                    mcg_status, status, addr, misc} (observation, encodings)
#   inj              what the host injected: {bank, mcg_status, status}
#                    (events[], encodings)
#   enc(P; K)        the record profile P injects for kind K (ar, ao,
#                    broadcast) as `mcefwd encodings --json` says: $enc's,
#                    or that of another document of the command: enc($e; P; K)
#   over             an MCi_STATUS string with OVER (bit 62) set, as KVM sets
#                    it when an error lands in a bank still holding one
JQ_LIB='
def t($n): first(.tests[] | select(.name == $n));
def names: [.tests[].name];
def rec: {bank, mcg_status, status, addr, misc};
def inj: {bank, mcg_status, status};
def enc($e; $p; $k): $e.profiles[$p][$k] | rec;
def enc($p; $k): enc($enc; $p; $k);
def over: (ltrimstr("0x") | if length == 16 then . else error("not 16 hex digits") end) as $d
	| "0123456789abcdef" as $h | ($h | index($d[0:1])) as $n
	| "0x" + $h[(if $n % 8 >= 4 then $n else $n + 4 end):][0:1] + $d[1:];
'

# enc_json [ARGS...]: `mcefwd encodings --json ARGS`, the records mcefwd
# injects, stated once in C (mcefwd/mce/encode.c); without ARGS asked once
# per script.
enc_json() {
	if [ $# -gt 0 ]; then
		"${MCEFWD:-${B:-build}/bin/mcefwd}" encodings --json "$@"
		return
	fi
	[ -n "${enc_json_cache:-}" ] ||
		enc_json_cache=$("${MCEFWD:-${B:-build}/bin/mcefwd}" encodings --json)
	printf '%s\n' "$enc_json_cache"
}

# json_one FILE: FILE holds one JSON document, no more, no less. Check it
# before `jq -e`: jq 1.6 exits 0 on an empty file, so a command that printed
# nothing would pass whatever the expression.
json_one() {
	[ "$(jq -s length "$1" 2>/dev/null)" = 1 ]
}

# expect_json DESC STATUS EXPR [JQ-OPTIONS...]: the last mcefwd_json exited
# STATUS, printed one JSON document, and the jq expression EXPR holds for
# it, with $enc (`mcefwd encodings --json`) and JQ_LIB at hand; EXPR may
# begin with definitions of its own, JQ-OPTIONS (--arg, --argjson) bring
# more. When not, what each test said is shown.
expect_json() {
	desc=$1 want=$2 expr=$3
	shift 3
	if [ "$rc" -ne "$want" ]; then
		echo "exit status $rc, expected $want" >"$tmp/why"
	elif ! json_one "$tmp/json"; then
		echo "not one JSON document" >"$tmp/why"
	elif ! jq -e --argjson enc "$(enc_json)" "$@" "$JQ_LIB ($expr)" "$tmp/json" \
		>/dev/null 2>"$tmp/why"; then
		echo "does not hold: $expr" >>"$tmp/why"
	else
		ok "$desc"
		return
	fi
	{
		jq -r '.tests[] | "\(.name): \(.result) \(.reason)", "  observation: \(.observation)",
			"  events: \([.events[] | "\(.vcpu) \(.code) \(.verdict) \(.bank) \(.status)"])",
			(.diagnostics[] | "  " + .)' "$tmp/json" 2>/dev/null || head -c 2000 "$tmp/json"
		head -c 2000 "$tmp/err"
	} >>"$tmp/why"
	not_ok "$desc" "$tmp/why"
}

# kvm_reason: why /dev/kvm cannot be used here, or nothing when it can. It
# only looks: a probe such as `: <>/dev/kvm` opens with O_CREAT and, run as
# root on a host without KVM, creates /dev/kvm as an empty regular file that
# every later check then takes for KVM.
kvm_reason() {
	if [ ! -e /dev/kvm ]; then
		echo "/dev/kvm does not exist (load kvm_intel or kvm_amd)"
	elif [ ! -c /dev/kvm ]; then
		echo "/dev/kvm is not a character device ($(stat -c %F /dev/kvm))"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "/dev/kvm is not readable and writable by $(id -un)"
	fi
}

# method_available M / method_why M: what `mcefwd caps --json` says of poison
# method M (needs $MCEFWD or $B; the caps JSON is read once per script).
# Without a document (mcefwd missing or broken) no method is available, and
# method_why says so: a test that branches on it then runs and fails, or
# skips naming that, instead of taking an empty answer for a yes.
caps_json() {
	[ -n "${caps_json_cache:-}" ] ||
		caps_json_cache=$("${MCEFWD:-${B:-build}/bin/mcefwd}" caps --json 2>/dev/null)
	printf '%s\n' "$caps_json_cache"
}
method_available() {
	[ -n "$(caps_json)" ] &&
		caps_json | jq -e --arg m "$1" '.poison_methods[] | select(.name == $m) | .available' >/dev/null
}
method_why() {
	if [ -z "$(caps_json)" ]; then
		echo "mcefwd caps --json printed nothing (is ${MCEFWD:-${B:-build}/bin/mcefwd} built?)"
		return
	fi
	caps_json | jq -r --arg m "$1" '.poison_methods[] | select(.name == $m) | .why'
}

# start_target NAME [ARGS...]: tests/integration/poison-target ARGS in the
# background, its pid in $NAME_pid and the addresses of its first line as
# $NAME_anon, $NAME_ram, ... (its later lines, in $tmp/target.NAME, say what
# it did when signalled). Status 1 when it printed nothing (exit 3: no KVM
# VM here). Every target started is in $targets, for stop_targets.
start_target() {
	st_name=$1
	shift
	# Gone first: a background job truncates its output only once it runs.
	rm -f "$tmp/target.$st_name"
	"${B:-build}/tests/integration/poison-target" "$@" >"$tmp/target.$st_name" 2>&1 &
	st_pid=$!
	targets="${targets:-} $st_pid"
	eval "${st_name}_pid=$st_pid"
	# Its first line whole: a line read half written lacks the names at its end.
	for _ in $(seq 1 100); do
		[ "$(wc -l <"$tmp/target.$st_name")" -ge 1 ] && break
		kill -0 "$st_pid" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^anon=' "$tmp/target.$st_name" || return 1
	eval "$(head -n 1 "$tmp/target.$st_name" | tr ' ' '\n' | sed "s/^/${st_name}_/")"
}

# stop_target PID: kills and reaps one; stop_targets: all of them.
stop_target() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
stop_targets() {
	for st_pid in ${targets:-}; do
		stop_target "$st_pid"
	done
	targets=""
}

# fake_trees DIR: fake debugfs ($DIR/debug, with hwpoison/corrupt-pfn) and
# procfs ($DIR/proc, with sys/vm/memory_failure_recovery) for
# MCEFWD_DEBUGFS and MCEFWD_PROCFS: nothing is poisoned, every write is to a
# file there.
fake_trees() {
	mkdir -p "$1/debug/hwpoison" "$1/proc/sys/vm"
	: >"$1/debug/hwpoison/corrupt-pfn"
	: >"$1/proc/sys/vm/memory_failure_recovery"
}

# inj ARGS...: mcefwd-inject ($INJ, under $WRAP) ARGS, bounded in time; its
# output in $tmp/out, its status in $rc.
inj() {
	# shellcheck disable=SC2086
	timeout -k 5 60 ${WRAP:-} "$INJ" "$@" >"$tmp/out" 2>&1
	rc=$?
}

# no_injector_left: a test that no mcefwd-inject this script started still
# runs (those of its process group: another tree's tests are not its own).
no_injector_left() {
	nil_left=$(pgrep -g "$(ps -o pgid= $$ | tr -d ' ')" -af "$INJ --pid")
	if [ -n "$nil_left" ]; then
		echo "# still running: $nil_left" >"$tmp/out"
		not_ok "no mcefwd-inject left running" "$tmp/out"
	else
		ok "no mcefwd-inject left running"
	fi
}
